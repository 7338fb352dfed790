"""One review comment per pull request and profile: update the marked one, or create it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from roleSync.github.api import GitHubClient, WriteOutcomeUnknownError
from roleSync.github.comment_body import find_ours, marker


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # the comment already says exactly this: nothing sent


@dataclass(frozen=True, slots=True)
class Posted:
    outcome: Outcome
    comment_id: int
    url: str  # the comment's page; "" when GitHub did not say


def upsert_comment(client: GitHubClient, body: str, profile: str) -> Posted:
    """Find the comment carrying the profile's marker among every comment of the pull
    request; PATCH it when its text differs, else POST a new one.

    A POST whose answer was lost may have created the comment: the comments are read
    again, and a marked one found then is updated instead of a second one created.
    """
    mark = marker(profile)
    found = find_ours(client.list_comments(), mark)
    if found is None:
        try:
            return _posted(Outcome.CREATED, client.create_comment(body))
        except WriteOutcomeUnknownError:
            found = find_ours(client.list_comments(), mark)
            if found is None:
                raise
    if found.get("body") == body:
        return _posted(Outcome.UNCHANGED, dict(found))
    comment_id = found["id"]
    assert isinstance(comment_id, int)  # find_ours only returns comments with an int id
    return _posted(Outcome.UPDATED, client.update_comment(comment_id, body))


def _posted(outcome: Outcome, comment: dict[str, object]) -> Posted:
    ident = comment["id"]
    assert isinstance(ident, int)
    url = comment.get("html_url")
    return Posted(outcome, ident, url if isinstance(url, str) else "")

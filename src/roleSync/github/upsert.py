"""One review comment per pull request and profile: update the marked one, or create it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from roleSync.github.api import GitHubClient, WriteOutcomeUnknownError
from roleSync.github.comment_body import comment_body, find_ours, marker


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"  # the comment already says exactly this: nothing sent


@dataclass(frozen=True, slots=True)
class Posted:
    outcome: Outcome
    comment_id: int
    url: str  # the comment's page; "" when GitHub did not say


def upsert_comment(client: GitHubClient, markdown: str, profile: str) -> Posted:
    """Find the comment carrying the profile's marker among every comment of the pull
    request; PATCH it when its text differs, else POST a new one.

    A POST whose answer was lost may have created the comment: the comments are read
    again, and a marked one found then is updated instead of a second one created.
    """
    body, mark = comment_body(markdown, profile), marker(profile)
    found = find_ours(client.list_comments(), mark)
    if found is None:
        try:
            return _posted(Outcome.CREATED, client.create_comment(body))
        except WriteOutcomeUnknownError:
            found = find_ours(client.list_comments(), mark)
            if found is None:
                raise
    if found.body == body:
        return Posted(Outcome.UNCHANGED, found.id, found.url)
    return _posted(Outcome.UPDATED, client.update_comment(found.id, body))


def _posted(outcome: Outcome, comment: dict[str, Any]) -> Posted:
    url = comment.get("html_url")
    return Posted(outcome, int(comment["id"]), url if isinstance(url, str) else "")

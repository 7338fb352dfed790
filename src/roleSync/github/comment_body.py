"""The review comment's text, decided on values: the hidden marker that finds it again,
and the body cut to what GitHub accepts.

The marker is an HTML comment on the first line, so it does not show on the page. It
names the profile: a repository with two profiles gets two comments, each updated by its
own job. A comment counts as ours only when it *starts* with the marker, so a person
quoting it in a reply (`> <!-- ...`) or mentioning it mid-text is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

# GitHub refuses a comment body longer than this (422 "body is too long (maximum is
# 65536 characters)"); it counts characters, as Python's len() does.
MAX_BODY_CHARS = 65_536
MARKER_PREFIX = "<!-- rolesync-review"
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._/-]{1,200}$")


def marker(profile: str) -> str:
    """`<!-- rolesync-review profile=NAME -->`. A `--` in the name (profile names allow
    it) is written `-%2D`: inside an HTML comment it could end the comment early."""
    return f"{MARKER_PREFIX} profile={profile.replace('--', '-%2D')} -->"


def valid_profile_name(name: str) -> bool:
    """Letters, digits and `._/-`: what profile names and paths are made of, and
    nothing that could close the marker's HTML comment (`>`) or span lines."""
    return bool(_SAFE_NAME.match(name))


def is_ours(body: str, mark: str) -> bool:
    return body.startswith(mark + "\n") or body == mark


class Marked(NamedTuple):
    """The comment an earlier run posted."""

    id: int
    body: str
    url: str  # its page; "" when GitHub did not say


def find_ours(comments: Iterable[Mapping[str, object]], mark: str) -> Marked | None:
    """The oldest comment carrying `mark` (GitHub lists by ascending id); None when there
    is none. Later duplicates (two jobs racing) are left as they are."""
    for comment in comments:
        body, ident, url = comment.get("body"), comment.get("id"), comment.get("html_url")
        if isinstance(body, str) and isinstance(ident, int) and is_ours(body, mark):
            return Marked(ident, body, url if isinstance(url, str) else "")
    return None


def truncation_note(shown: int, total: int) -> str:
    return (
        f"\n\n> [!NOTE]\n> Cut to fit GitHub's comment limit: {shown:,} of {total:,} "
        "characters shown. The whole diff is in this job's summary."
    )


def comment_body(markdown: str, profile: str, *, limit: int = MAX_BODY_CHARS) -> str:
    """The marker, then the Markdown; cut at a line end with a note when the whole would
    exceed `limit` characters. A code fence left open by the cut is closed, so the
    note does not end up inside it."""
    head = marker(profile) + "\n"
    text = markdown.rstrip("\n") + "\n"
    if len(head) + len(text) <= limit:
        return head + text
    total = len(text)
    # Room for the note (its figures at their widest), a closing fence and a newline.
    reserve = len(truncation_note(total, total)) + 16
    room = max(0, limit - len(head) - reserve)
    cut = text[:room]
    if "\n" in cut:
        cut = cut[: cut.rindex("\n") + 1]
    fence = _open_fence(cut)
    closing = f"{fence}\n" if fence else ""
    return head + cut + closing + truncation_note(len(cut), total).lstrip("\n") + "\n"


def _open_fence(text: str) -> str | None:
    """The fence (``` or ~~~, as long as it was opened) still open at the end of `text`."""
    open_fence: str | None = None
    for line in text.splitlines():
        match = _FENCE.match(line)
        if match is None:
            continue
        run = match.group(1)
        if open_fence is None:
            open_fence = run
        elif (
            run[0] == open_fence[0] and len(run) >= len(open_fence) and not line.strip(run[0] + " ")
        ):
            open_fence = None
    return open_fence

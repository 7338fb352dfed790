"""The review comment's text and GitHub's answers, decided on values."""

from __future__ import annotations

import pytest

from roleSync.adapters.resilience import Action
from roleSync.github.api import decide_github, error_message
from roleSync.github.comment_body import (
    comment_body,
    find_ours,
    is_ours,
    marker,
    valid_profile_name,
)


def test_marker_names_the_profile_and_cannot_close_early() -> None:
    assert marker("crm") == "<!-- rolesync-review profile=crm -->"
    # `--` inside an HTML comment could end it: written -%2D.
    assert marker("eu--north") == "<!-- rolesync-review profile=eu-%2Dnorth -->"
    assert marker("a---b").count("--") == 2  # only the comment's own `<!--` and `-->`
    assert valid_profile_name("connectors/crm.yaml")
    assert not valid_profile_name("x -->") and not valid_profile_name("a\nb")


def test_only_a_comment_starting_with_the_marker_is_ours() -> None:
    mark = marker("crm")
    assert is_ours(mark + "\nbody", mark) and is_ours(mark, mark)
    assert not is_ours("> " + mark + "\nquoted", mark)
    assert not is_ours(marker("crm-eu") + "\n", mark)  # a longer name is another profile
    comments: list[dict[str, object]] = [
        {"id": 1, "body": "hi"},
        {"id": 2, "body": mark + "\nfirst", "html_url": "https://github.com/a/b/pull/1#c2"},
        {"id": 3, "body": mark + "\nduplicate"},
        {"id": "4", "body": mark},  # not GitHub's shape: ignored
    ]
    assert find_ours(comments, mark) == (2, mark + "\nfirst", "https://github.com/a/b/pull/1#c2")
    assert find_ours(comments[:1], mark) is None


def test_a_short_body_is_kept_whole() -> None:
    assert comment_body("## diff\n\n\n", "crm") == marker("crm") + "\n## diff\n"


def test_a_long_body_is_cut_at_a_line_and_an_open_fence_closed() -> None:
    markdown = "intro\n```text\n" + "".join(f"line {i:03d}\n" for i in range(100)) + "```\n"
    body = comment_body(markdown, "crm", limit=400)
    assert len(body) <= 400
    head, _, rest = body.partition("\n")
    assert head == marker("crm")
    kept = rest[: rest.index("```\n> [!NOTE]")]
    # Whole lines only, in order, from the start.
    assert markdown.startswith(kept) and kept.endswith("\n")
    assert rest.count("```") == 2  # the opened fence, and the one closing it before the note
    shown, total = len(kept), len(markdown)
    assert f"{shown:,} of {total:,} characters shown" in body


def test_a_cut_outside_a_fence_adds_no_fence() -> None:
    markdown = "".join(f"| row {i} |\n" for i in range(200))
    body = comment_body(markdown, "crm", limit=500)
    assert len(body) <= 500 and "```" not in body and "> [!NOTE]" in body


@pytest.mark.parametrize(
    ("status", "headers", "body", "action", "wait"),
    [
        (200, {}, b"[]", Action.SUCCESS, None),
        (
            403,
            {"Retry-After": "30"},
            b'{"message": "secondary rate limit"}',
            Action.RATE_LIMITED,
            30.0,
        ),
        (
            403,
            {},
            b'{"message": "You have exceeded a secondary rate limit."}',
            Action.RATE_LIMITED,
            60.0,
        ),
        (
            429,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1000120"},
            b"{}",
            Action.RATE_LIMITED,
            120.0,
        ),
        # A primary limit resetting in an hour: said, not waited out.
        (
            403,
            {"x-ratelimit-remaining": "0", "x-ratelimit-reset": "1003600"},
            b"{}",
            Action.FAIL,
            None,
        ),
        (403, {}, b'{"message": "Resource not accessible by integration"}', Action.FAIL, None),
        (401, {}, b'{"message": "Bad credentials"}', Action.FAIL, None),
        (503, {}, b"", Action.RETRY, None),
        (502, {}, b"<html>", Action.RETRY, None),
        (422, {}, b'{"message": "Validation Failed"}', Action.FAIL, None),
    ],
)
def test_decide_github(
    status: int, headers: dict[str, str], body: bytes, action: Action, wait: float | None
) -> None:
    decision = decide_github(status, headers, body, now=lambda: 1_000_000.0)
    assert (decision.action, decision.wait_seconds) == (action, wait)
    # Rate limits refuse before acting, and so does a 503: a POST may go again; not a 502.
    assert decision.replay_safe == (action is Action.RATE_LIMITED or status == 503)


def test_error_message_reads_githubs_validation_errors() -> None:
    body = (
        b'{"message": "Validation Failed", "errors": [{"resource": "IssueComment", '
        b'"code": "custom", "field": "body", "message": "body is too long (maximum is 65536 '
        b'characters)"}], "documentation_url": "https://docs.github.com"}'
    )
    assert error_message(body) == (
        "Validation Failed: body is too long (maximum is 65536 characters)"
    )
    assert error_message(b"<html>oops</html>") == "" and error_message(b"[1]") == ""

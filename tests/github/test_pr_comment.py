"""`rolesync pr-comment` against the loopback fake of GitHub's comment API: one comment
per pull request and profile, created once and updated after, counted by the fake."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from roleSync.adapters.resilience import RetryPolicy
from roleSync.cli import main
from roleSync.emulators.github import GitHubEmulator, GitHubEmulatorConfig
from roleSync.github.api import GitHubClient, GitHubError
from roleSync.github.comment_body import MAX_BODY_CHARS, comment_body, marker
from roleSync.github.context import Target
from roleSync.github.upsert import Outcome, upsert_comment

REPO, PR = "acme/crm-rules", 7
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def github() -> Iterator[GitHubEmulator]:
    with GitHubEmulator() as emulator:
        emulator.add_pull_request(REPO, PR)
        yield emulator


@pytest.fixture
def workflow_env(github: GitHubEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """What a pull_request workflow sets, pointed at the fake."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": PR}}))
    monkeypatch.setenv("GITHUB_API_URL", github.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    monkeypatch.setenv("ROLESYNC_GITHUB_TOKEN", github.config.token)
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    return event


def _markdown(tmp_path: Path, text: str, name: str = "diff.md") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["pr-comment", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.usefixtures("workflow_env")
def test_created_once_then_updated_by_the_next_push(
    github: GitHubEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _markdown(tmp_path, "## rolesync diff\n\n3 owners change role.\n")
    code, out, _ = _run(capsys, str(first), "--name", "crm")
    assert code == 0
    assert (github.counters["create_comment"], github.counters["update_comment"]) == (1, 0)
    (comment,) = github.comments(REPO, PR)
    assert (
        comment["body"]
        == "<!-- rolesync-review profile=crm -->\n## rolesync diff\n\n3 owners change role.\n"
    )
    assert out.strip() == f"rolesync: review comment created on {REPO}#{PR}: {comment['html_url']}"

    second = _markdown(tmp_path, "## rolesync diff\n\nNothing changes.\n")
    code, out, _ = _run(capsys, str(second), "--name", "crm")
    assert code == 0
    assert (github.counters["create_comment"], github.counters["update_comment"]) == (1, 1)
    (updated,) = github.comments(REPO, PR)
    assert updated["id"] == comment["id"]
    assert updated["body"].endswith("\nNothing changes.\n")
    assert "review comment updated" in out

    # The same text again: nothing to send.
    code, out, _ = _run(capsys, str(second), "--name", "crm")
    assert code == 0
    assert (
        out.strip() == f"rolesync: review comment unchanged on {REPO}#{PR}: {comment['html_url']}"
    )
    assert (github.counters["create_comment"], github.counters["update_comment"]) == (1, 1)
    assert github.counters["list_comments"] == 3


@pytest.mark.usefixtures("workflow_env")
def test_other_comments_are_left_alone(
    github: GitHubEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mark = marker("crm")
    someone = github.add_comment(REPO, PR, "Looks good to me", "ana")
    # A reply quoting our comment carries the marker, but not at its start.
    quoting = github.add_comment(REPO, PR, f"> {mark}\n> 3 owners\n\nWhy three?", "ben")
    other_profile = github.add_comment(
        REPO, PR, marker("eu") + "\nold eu diff\n", "github-actions[bot]"
    )
    code, _, _ = _run(capsys, str(_markdown(tmp_path, "crm diff")), "--name", "crm")
    assert code == 0
    assert (github.counters["create_comment"], github.counters["update_comment"]) == (1, 0)
    bodies = {c["id"]: c["body"] for c in github.comments(REPO, PR)}
    assert bodies[someone] == "Looks good to me"
    assert bodies[quoting].startswith("> <!--")
    assert bodies[other_profile] == marker("eu") + "\nold eu diff\n"
    assert len(bodies) == 4

    # The eu profile's job updates its own comment, not crm's.
    code, _, _ = _run(capsys, str(_markdown(tmp_path, "new eu diff")), "--name", "eu")
    assert code == 0
    assert github.counters["update_comment"] == 1
    assert github.comments(REPO, PR)[2]["body"] == marker("eu") + "\nnew eu diff\n"


@pytest.mark.usefixtures("workflow_env")
def test_the_marked_comment_is_found_on_page_two(
    github: GitHubEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for i in range(130):
        github.add_comment(REPO, PR, f"comment {i}", "ana")
    ours = github.add_comment(REPO, PR, marker("crm") + "\nold\n", "github-actions[bot]")
    for i in range(20):
        github.add_comment(REPO, PR, f"later {i}", "ben")
    code, out, _ = _run(capsys, str(_markdown(tmp_path, "new")), "--name", "crm")
    assert code == 0, out
    # 151 comments at 100 a page: two pages, the marker on the second.
    assert github.counters["list_comments"] == 2
    assert (github.counters["create_comment"], github.counters["update_comment"]) == (0, 1)
    assert [e.query for e in github.log if e.method == "GET"] == [
        "per_page=100",
        "page=2&per_page=100",
    ]
    assert next(c for c in github.comments(REPO, PR) if c["id"] == ours)["body"].endswith("\nnew\n")


@pytest.mark.usefixtures("workflow_env")
def test_a_bad_token_is_one_line_without_the_token(
    github: GitHubEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wrong = "ghp_wrongwrongwrongwrong1234"
    monkeypatch.setenv("ROLESYNC_GITHUB_TOKEN", wrong)
    code, out, err = _run(capsys, str(_markdown(tmp_path, "x")), "--name", "crm")
    assert code == 1 and out == ""
    assert err == (
        "rolesync: error: GitHub refused the token while listing the comments of "
        f"{REPO}#{PR} (HTTP 401: Bad credentials): check the action's `token` input "
        "(ROLESYNC_GITHUB_TOKEN)\n"
    )
    assert github.counters["unauthorized"] == 1 and github.counters["create_comment"] == 0


@pytest.mark.usefixtures("workflow_env")
def test_a_body_over_githubs_limit_is_cut_with_a_note(
    github: GitHubEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "".join(f"| owner-{i:05d} | hunter | farmer |\n" for i in range(3000))  # 96,000 chars
    code, _, err = _run(capsys, str(_markdown(tmp_path, "## diff\n\n" + rows)), "--name", "crm")
    assert code == 0, err
    assert github.counters["invalid"] == 0
    (comment,) = github.comments(REPO, PR)
    body = comment["body"]
    assert len(body) <= MAX_BODY_CHARS
    assert "| owner-00000 | hunter | farmer |\n" in body and "owner-02999" not in body
    assert body.rstrip().endswith("The whole diff is in this job's summary.")


@pytest.mark.usefixtures("workflow_env")
def test_the_token_never_reaches_any_output(
    github: GitHubEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    token = github.config.token
    github.inject(404, "Not Found")
    github.inject(403, "Resource not accessible by integration")
    outputs = []
    for _ in range(3):
        outputs.append(_run(capsys, str(_markdown(tmp_path, "x")), "--name", "crm"))
    assert [code for code, _, _ in outputs] == [1, 1, 0]
    assert "GitHub found nothing while listing" in outputs[0][2]
    assert "the token needs `pull-requests: write`" in outputs[1][2]
    assert all(token not in out + err for _, out, err in outputs)
    assert all(token not in repr(entry) for entry in github.log)


def test_missing_setup_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ROLESYNC_GITHUB_TOKEN", "GITHUB_TOKEN", "GITHUB_API_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    md = str(_markdown(tmp_path, "x"))
    code, _, err = _run(capsys, md, "--name", "crm", "--pr", "3")
    assert (code, err) == (
        1,
        "rolesync: error: no GitHub token: set ROLESYNC_GITHUB_TOKEN (or GITHUB_TOKEN) in the "
        "environment\n",
    )
    event = tmp_path / "push.json"
    event.write_text('{"ref": "refs/heads/main"}')
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    code, _, err = _run(capsys, md, "--name", "crm")
    assert code == 1 and "the workflow's event is not a pull request" in err
    monkeypatch.setenv("GITHUB_API_URL", "http://api.example.com")
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    code, _, err = _run(capsys, md, "--name", "crm", "--pr", "3")
    assert code == 1 and "GITHUB_API_URL must be an https:// address" in err
    code, _, err = _run(capsys, md, "--pr", "3")
    assert code == 2 and "give one of -c PROFILE and --name NAME" in err


@pytest.mark.usefixtures("workflow_env")
def test_the_profile_names_the_comment(
    github: GitHubEmulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    profile = ROOT / "connectors" / "hubspot.example.yaml"
    code, _, err = _run(capsys, str(_markdown(tmp_path, "x")), "-c", str(profile))
    assert code == 0, err
    (comment,) = github.comments(REPO, PR)
    assert comment["body"].startswith("<!-- rolesync-review profile=acme-hubspot -->\n")


def _client(github: GitHubEmulator, sleeps: list[float]) -> GitHubClient:
    target = Target(github.url, REPO, PR, github.config.token)
    return GitHubClient(target, policy=RetryPolicy(sleep=sleeps.append, max_attempts=3))


def test_rate_limits_and_unavailable_are_waited_out(github: GitHubEmulator) -> None:
    sleeps: list[float] = []
    github.inject(403, "You have exceeded a secondary rate limit", {"Retry-After": "7"})
    github.inject(429, "You have exceeded a secondary rate limit")  # no Retry-After: a minute
    posted = upsert_comment(_client(github, sleeps), "x", "crm")
    assert posted.outcome is Outcome.CREATED
    assert sleeps == [7.0, 60.0]
    assert github.counters["list_comments"] == 3 and github.counters["create_comment"] == 1


def test_a_post_refused_unavailable_is_sent_again(github: GitHubEmulator) -> None:
    sleeps: list[float] = []
    client = _client(github, sleeps)
    github.inject(503, "Service Unavailable", {"Retry-After": "2"})
    # 503: GitHub did not take the request on, so even the POST may be repeated.
    created = client.create_comment("hello")
    assert sleeps == [2.0] and github.counters["create_comment"] == 2
    assert [c["id"] for c in github.comments(REPO, PR)] == [created["id"]]


def test_a_lost_answer_to_the_post_is_not_resent_blindly(github: GitHubEmulator) -> None:
    sleeps: list[float] = []
    github.inject(502, "Bad Gateway", kind="create_comment")  # not applied
    with pytest.raises(GitHubError, match="creating the review comment"):
        upsert_comment(_client(github, sleeps), "x", "crm")
    # A 502 may come after the write: not re-sent; read again, found nothing, said so.
    assert github.counters["create_comment"] == 1 and github.counters["list_comments"] == 2
    assert github.comments(REPO, PR) == [] and sleeps == []


def test_a_post_applied_before_its_answer_was_lost_is_found_again(
    github: GitHubEmulator,
) -> None:
    sleeps: list[float] = []
    github.inject(504, "Gateway Timeout", kind="create_comment", applied=True)
    body = comment_body("x", "crm")
    posted = upsert_comment(_client(github, sleeps), "x", "crm")
    # Read again, found the comment the lost POST made: one comment, not two.
    assert posted.outcome is Outcome.UNCHANGED
    assert [c["body"] for c in github.comments(REPO, PR)] == [body]
    assert github.counters["create_comment"] == 1


def test_a_refused_body_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A server whose limit is lower than GitHub's (an older GitHub Enterprise Server, say).
    with GitHubEmulator(GitHubEmulatorConfig(max_body_chars=50)) as github:
        github.add_pull_request(REPO, PR)
        monkeypatch.setenv("GITHUB_API_URL", github.url)
        monkeypatch.setenv("GITHUB_TOKEN", github.config.token)
        monkeypatch.delenv("ROLESYNC_GITHUB_TOKEN", raising=False)
        md = str(_markdown(tmp_path, "a table far longer than fifty characters, in all"))
        code, out, err = _run(capsys, md, "--name", "crm", "--repo", REPO, "--pr", str(PR))
    assert (code, out) == (1, "")
    assert err == (
        f"rolesync: error: GitHub refused creating the review comment on {REPO}#{PR} "
        "(HTTP 422: Validation Failed: body is too long (maximum is 50 characters))\n"
    )

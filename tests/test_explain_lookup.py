"""`explain` finds an owner by id, email or full name, and says whom you meant."""

from __future__ import annotations

import contextlib
import io
from datetime import date
from pathlib import Path

import pytest

from builders import AS_OF, ROLES, routing
from roleSync.cli import main
from roleSync.demo import prepare
from roleSync.model import Book, Owner
from roleSync.report.explain import Explainer
from roleSync.report.lookup import AmbiguousOwnerError, find_owner, owner_keys, suggestion
from roleSync.rules.schema import RolesFile, RoutingFile

DANA = Owner("005A", "Dana  Kim", "Dana.Kim@example.com", "", True)
DAN = Owner("005B", "Dan Kimball", "dan.kimball@example.com", "", True)
OTHER_DANA = Owner("005C", "dana kim", "dana.k@example.com", "", True)


@pytest.mark.parametrize("key", ["005A", "dana.kim@EXAMPLE.com", " Dana.Kim@example.com"])
def test_an_owner_by_id_or_email(key: str) -> None:
    assert find_owner(key, [DAN, DANA], owner_keys) is DANA


@pytest.mark.parametrize("key", ["Dana Kim", "dana kim", "  DANA   KIM "])
def test_an_owner_by_full_name_whatever_its_case_and_blanks(key: str) -> None:
    assert find_owner(key, [DAN, DANA], owner_keys) is DANA


def test_an_id_is_exact_and_a_part_of_a_name_is_nobody() -> None:
    assert find_owner("005a", [DANA], owner_keys) is None
    assert find_owner("Dana", [DANA], owner_keys) is None
    assert find_owner("", [DANA], owner_keys) is None


def test_a_name_two_owners_share_lists_both() -> None:
    with pytest.raises(AmbiguousOwnerError) as raised:
        find_owner("Dana Kim", [DANA, DAN, OTHER_DANA], owner_keys)
    assert str(raised.value) == (
        "2 owners are named 'Dana Kim': Dana  Kim <Dana.Kim@example.com>, "
        "dana kim <dana.k@example.com>; give the email or id"
    )
    assert raised.value.exit_code == 1
    # By email they are told apart.
    assert find_owner("dana.k@example.com", [DANA, DAN, OTHER_DANA], owner_keys) is OTHER_DANA


def test_did_you_mean_a_mistyped_email_name_or_id() -> None:
    owners = [DANA, DAN]
    # A mistyped domain: compared by the part before the @, it is still Dana.
    assert suggestion("dana.kim@exmaple.com", owners, owner_keys) == (
        "; did you mean 'Dana.Kim@example.com'?"
    )
    assert suggestion("dan.kimbal@example.com", owners, owner_keys) == (
        "; did you mean 'dan.kimball@example.com'?"
    )
    assert suggestion("Dan Kimbal", owners, owner_keys) == "; did you mean 'Dan Kimball'?"
    assert suggestion("005AX", owners, owner_keys) == "; did you mean '005A'?"
    assert suggestion("Acme Gmbh", owners, owner_keys, ["acc-1", "Acme GmbH"]) == (
        "; did you mean 'Acme GmbH'?"
    )
    assert suggestion("zzzzzz", owners, owner_keys) == ""


def test_the_explainer_finds_by_name_and_refuses_an_ambiguous_one() -> None:
    book = Book([DANA, DAN, OTHER_DANA], [], [])
    explainer = Explainer(
        book,
        RolesFile.model_validate(ROLES),
        RoutingFile.model_validate(routing({"id": "all", "assign": {"pool": {"role": "farmer"}}})),
        AS_OF,
    )
    assert explainer.find_owner("dan kimball") is DAN
    with pytest.raises(AmbiguousOwnerError):
        explainer.find_owner("Dana Kim")


# -- the command, on the demo book -------------------------------------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lookup") / "demo"
    prepare(folder, date(2026, 6, 30), 2026)
    return folder


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def args(demo: Path) -> list[str]:
    return ["-c", str(demo / "demo.yaml"), "-r", str(demo / "rules"), "--as-of", "2026-06-30"]


@pytest.mark.parametrize("key", ["Hannah Schulz", "hannah  schulz", "HANNAH.SCHULZ@example.com"])
def test_explain_takes_an_owners_name_or_email(demo: Path, key: str) -> None:
    code, out, err = run("explain", key, *args(demo))
    assert code == 0, err
    assert out.startswith('Owner Hannah Schulz <hannah.schulz@example.com> (u-13), "Account ')


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("hannah.schulz@exmaple.com", "hannah.schulz@example.com"),
        ("hanah.schulz@example.com", "hannah.schulz@example.com"),
        ("Hannah Shulz", "Hannah Schulz"),
    ],
)
def test_explain_says_whom_a_mistyped_key_meant(demo: Path, key: str, meant: str) -> None:
    code, out, err = run("explain", key, *args(demo))
    assert (code, out) == (1, "")
    assert err.splitlines()[-1] == (
        f"rolesync: error: no account or owner {key!r} in the book of profile 'demo' "
        f"(accounts by id or name, owners by id, email or name); did you mean {meant!r}?"
    )


def test_explain_a_past_run_by_name_with_did_you_mean(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    code, _, err = run("demo", "--dir", str(folder), "--as-of", "2026-06-30")
    assert code == 0, err
    profile = ["-c", str(folder / "demo.yaml"), "--run", "latest"]
    code, out, err = run("explain", "hannah schulz", *profile)
    assert code == 0, err
    assert "Role: farmer; farmer-by-deal-mix" in out
    code, out, err = run("explain", "Hannah Shulz", *profile)
    assert (code, out) == (1, "")
    assert err.rstrip().endswith("(leave out --run); did you mean 'Hannah Schulz'?")

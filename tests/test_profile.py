"""Connector profiles: defaults, value mapping, paths, and positioned errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from roleSync.errors import InputError
from roleSync.metrics import METRIC_NAMES
from roleSync.model import DealKind
from roleSync.profile import Profile, load_profile

EXAMPLE = Path(__file__).resolve().parents[1] / "connectors" / "local.example.yaml"


def write(tmp_path: Path, text: str, name: str = "crm.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def errors_of(path: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_profile(path)
    return [str(d) for d in caught.value.diagnostics]


MINIMAL = "version: 1\nkind: local\nname: acme\n"


def test_example_profile_loads_with_paths_relative_to_its_folder() -> None:
    profile = load_profile(EXAMPLE)
    assert profile.name == "demo"
    assert profile.base_dir == EXAMPLE.parent
    assert profile.book_path == EXAMPLE.parent / "demo.db"
    assert profile.state_path == EXAMPLE.parent / ".rolesync"
    assert profile.import_.accounts.owner == "OwnerId"
    assert profile.import_.accounts.fields == {"industry": "Industry"}
    assert profile.import_.deals.close_date == "CloseDate"
    assert profile.metrics.write is True
    assert profile.metrics.fields["new_business_share"] == "new_business_share"


def test_minimal_profile_gets_every_default(tmp_path: Path) -> None:
    profile = load_profile(write(tmp_path, MINIMAL))
    assert profile.book_path == tmp_path.resolve() / "acme.db"
    assert profile.state_path == tmp_path.resolve() / ".rolesync"
    assert profile.deal_kinds["New Customer"] is DealKind.NEW_BUSINESS
    assert profile.deal_kinds["Existing Customer - Upgrade"] is DealKind.EXPANSION
    assert profile.deal_kinds["Existing Customer - Replacement"] is DealKind.RENEWAL
    assert profile.deal_kinds["Existing Customer - Downgrade"] is DealKind.CONTRACTION
    assert profile.deal_kinds["newbusiness"] is DealKind.NEW_BUSINESS
    assert profile.deal_kinds["existingbusiness"] is DealKind.EXPANSION
    for kind in DealKind:
        assert profile.deal_kinds[kind.value] is kind
    assert profile.lifecycle["Customer - Channel"] == "customer"
    assert profile.lifecycle["Prospect"] == "prospect"
    assert profile.lifecycle["customer"] == "customer"
    owners, accounts, deals = (
        profile.import_.owners,
        profile.import_.accounts,
        profile.import_.deals,
    )
    assert (owners.id, owners.name, owners.email, owners.title, owners.active) == (
        "id",
        "name",
        "email",
        "title",
        "active",
    )
    assert (accounts.owner, accounts.lifecycle, accounts.locked, accounts.updated) == (
        "owner_id",
        "lifecycle",
        "locked",
        "updated",
    )
    assert (deals.account, deals.owner, deals.kind, deals.close_date) == (
        "account_id",
        "owner_id",
        "kind",
        "close_date",
    )
    assert profile.metrics.fields == {"role": "role", **{m: m for m in METRIC_NAMES}}


def test_deal_kind_lookup_ignores_case_and_spaces() -> None:
    profile = Profile.for_local_book(Path("book.db"))
    assert profile.deal_kind("  new customer ") is DealKind.NEW_BUSINESS
    assert profile.deal_kind("EXISTING CUSTOMER - DOWNGRADE") is DealKind.CONTRACTION
    assert profile.deal_kind("NewBusiness") is DealKind.NEW_BUSINESS
    assert profile.deal_kind("Renewal") is DealKind.RENEWAL
    assert profile.deal_kind("") is None
    assert profile.deal_kind("   ") is None
    assert profile.deal_kind(None) is None
    assert profile.deal_kind("Partner Resale") is None


def test_lifecycle_blank_stays_blank_and_unmapped_is_other() -> None:
    profile = Profile.for_local_book(Path("book.db"))
    assert profile.lifecycle_of("customer - direct") == "customer"
    assert profile.lifecycle_of(" Prospect") == "prospect"
    assert profile.lifecycle_of("Analyst") == "other"
    assert profile.lifecycle_of("") == ""
    assert profile.lifecycle_of("  ") == ""
    assert profile.lifecycle_of(None) == ""


def test_a_given_mapping_replaces_the_defaults_but_canonical_names_still_map(
    tmp_path: Path,
) -> None:
    path = write(
        tmp_path,
        MINIMAL + 'deal_kinds:\n  "New Logo": new_business\n'
        "  renewal: expansion\nlifecycle:\n  Client: customer\n",
    )
    profile = load_profile(path)
    assert profile.deal_kind("new logo") is DealKind.NEW_BUSINESS
    assert profile.deal_kind("New Customer") is None  # the stock default is gone
    assert profile.deal_kind("contraction") is DealKind.CONTRACTION
    assert profile.deal_kind("RENEWAL") is DealKind.EXPANSION  # the file wins
    assert profile.lifecycle_of("client") == "customer"
    assert profile.lifecycle_of("Prospect") == "prospect"  # canonical name
    assert profile.lifecycle_of("Customer - Direct") == "other"


def test_paths_resolve_against_the_profile_folder_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "conf"
    folder.mkdir()
    path = write(folder, MINIMAL + "local:\n  path: ../data/book.db\nstate_dir: state\n")
    monkeypatch.chdir(tmp_path)
    profile = load_profile(Path("conf/crm.yaml"))
    assert profile.book_path == tmp_path.resolve() / "data" / "book.db"
    assert profile.state_path == folder.resolve() / "state"
    assert path.exists()


def test_for_local_book_builds_a_default_profile(tmp_path: Path) -> None:
    profile = Profile.for_local_book(tmp_path / "demo.db", name="demo")
    assert profile.name == "demo"
    assert profile.kind == "local"
    assert profile.book_path == tmp_path.resolve() / "demo.db"
    assert profile.state_path == tmp_path.resolve() / ".rolesync"
    assert profile.deal_kind("New Customer") is DealKind.NEW_BUSINESS


def test_profiles_are_frozen() -> None:
    profile = Profile.for_local_book(Path("book.db"))
    with pytest.raises(ValidationError):
        profile.name = "other"  # type: ignore[misc]


def test_every_error_is_reported_with_its_position(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "\n".join(
            [
                "version: 1",
                "kind: pipedrive",
                "name: Demo",
                "colour: blue",
                "deal_kinds:",
                '  "New Customer": new_biz',
                "lifecycle:",
                "  Prospect: lead",
                "metrics:",
                "  fields:",
                "    role: role",
                "    bogus: x",
                "import:",
                "  owners: {id: Id, nme: Name}",
                "",
            ]
        ),
    )
    errors = errors_of(path)
    shown = str(path)
    assert errors == [
        f"{shown}:2:7: error: unknown kind 'pipedrive' (one of: local, salesforce, hubspot) "
        "[unknown-value]",
        f"{shown}:3:7: error: name: String should match pattern '^[a-z0-9_-]{{1,64}}$' "
        "[bad-format]",
        f"{shown}:4:1: error: unknown key 'colour' [unknown-key]",
        f"{shown}:6:19: error: deal_kinds.New Customer: unknown value 'new_biz'; "
        "did you mean 'new_business'? [unknown-value]",
        f"{shown}:8:13: error: lifecycle.Prospect: unknown value 'lead'"
        " (one of: customer, prospect, other) [unknown-value]",
        errors[5],
        f"{shown}:14:20: error: unknown key 'nme'; did you mean 'name'? [unknown-key]",
    ]
    assert errors[5].startswith(f"{shown}:12:12: error: ")
    assert "unknown metric 'bogus'" in errors[5]


def test_missing_required_keys_and_wrong_version(tmp_path: Path) -> None:
    errors = errors_of(write(tmp_path, "version: 2\nlocal: {path: x.db}\n"))
    assert any(":1:10: error: version: unknown value 2 (one of: 1)" in e for e in errors)
    assert any("missing required key 'kind'" in e for e in errors)
    assert any("missing required key 'name'" in e for e in errors)


def test_keys_equal_up_to_case_and_spaces_are_rejected(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        MINIMAL + 'deal_kinds:\n  "New Customer": new_business\n  " new customer": expansion\n',
    )
    [error] = errors_of(path)
    assert ":5:3: error: deal_kinds: 'New Customer' and ' new customer' are the same value" in error


def test_two_metrics_cannot_write_one_destination(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + "metrics:\n  fields:\n    role: role\n    win_rate: role\n")
    [error] = errors_of(path)
    assert "'win_rate' and 'role' both write to 'role'" in error
    assert ":5:3: error: metrics: " in error


def test_base_dir_is_not_a_yaml_key(tmp_path: Path) -> None:
    [error] = errors_of(write(tmp_path, MINIMAL + "base_dir: /etc\n"))
    assert error.endswith(
        ":4:1: error: unknown key 'base_dir'; did you mean 'state_dir'? [unknown-key]"
    )


def test_yaml_syntax_errors_are_positioned(tmp_path: Path) -> None:
    [error] = errors_of(write(tmp_path, MINIMAL + "local: [unclosed\n"))
    assert error.startswith(f"{tmp_path / 'crm.yaml'}:")
    assert "[yaml-syntax]" in error


def test_copies_with_updated_mappings_use_the_new_mappings(tmp_path: Path) -> None:
    profile = Profile.for_local_book(tmp_path / "book.db")
    assert profile.deal_kind("New Logo") is None
    copy = profile.model_copy(update={"deal_kinds": {"New Logo": DealKind.NEW_BUSINESS}})
    assert copy.deal_kind("new logo") is DealKind.NEW_BUSINESS
    assert copy.base_dir == profile.base_dir
    assert profile.deal_kind("New Logo") is None
    elsewhere = profile.with_base_dir(tmp_path / "other")
    assert elsewhere.book_path == (tmp_path / "other" / "book.db").resolve()
    assert profile.book_path == (tmp_path / "book.db").resolve()  # the original is unchanged


def test_metrics_fields_take_the_farming_and_hunting_metrics(tmp_path: Path) -> None:
    fields = "metrics:\n  fields:\n    renewal_rate: Renewal_Rate\n    new_logos: New_Logos\n"
    profile = load_profile(write(tmp_path, MINIMAL + fields))
    assert profile.metrics.fields == {"renewal_rate": "Renewal_Rate", "new_logos": "New_Logos"}
    [error] = errors_of(write(tmp_path, MINIMAL + "metrics:\n  fields:\n    renewal_rat: R\n"))
    assert "unknown metric 'renewal_rat'; did you mean 'renewal_rate'?" in error

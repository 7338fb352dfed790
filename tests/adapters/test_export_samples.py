"""The shipped sample exports import unchanged through the shipped example profiles, and
the team classified from them is the team classified from the clean book they came from."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from export_samples import AS_OF, EXPORTS, SEED, samples
from roleSync.adapters.local import LocalAdapter
from roleSync.adapters.local_import import import_csv
from roleSync.adapters.local_store import write_book
from roleSync.demo_book import generate_demo_book
from roleSync.model import Book
from roleSync.plan import OwnerRole
from roleSync.profile import Profile, load_profile
from roleSync.resources import shipped_rules_dir
from roleSync.sync.runner import PlanRequest, make_plan

ROOT = Path(__file__).resolve().parents[2]
# CRM -> (example profile, owners file, accounts file, deals file)
EXPORTS_OF = {
    "salesforce": ("salesforce-export", "users.csv", "accounts.csv", "opportunities.csv"),
    "hubspot": ("hubspot-export", "owners.csv", "companies.csv", "deals.csv"),
}


def roles(profile: Profile) -> dict[str, OwnerRole]:
    """The plan's classification of every owner, keyed by email (ids differ by CRM)."""
    request = PlanRequest(profile, [shipped_rules_dir()], AS_OF)
    with LocalAdapter(profile) as adapter:
        plan = make_plan(request, adapter)
    return {owner.email: owner for owner in plan.owners}


@pytest.fixture(scope="module")
def clean_roles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, OwnerRole]:
    folder = tmp_path_factory.mktemp("clean")
    write_book(folder / "book.db", *generate_demo_book(AS_OF, SEED))
    return roles(Profile.for_local_book(folder / "book.db"))


def test_the_committed_samples_are_what_the_script_writes() -> None:
    for folder, files in samples().items():
        for name, text in files.items():
            committed = (EXPORTS / folder / name).read_bytes().decode("utf-8")
            assert committed == text, f"run `python tests/export_samples.py`: {folder}/{name}"


@pytest.mark.parametrize("crm", sorted(EXPORTS_OF))
def test_a_sample_export_gives_the_clean_books_team(
    crm: str, tmp_path: Path, clean_roles: dict[str, OwnerRole]
) -> None:
    name, owners, accounts, deals = EXPORTS_OF[crm]
    shutil.copy(ROOT / "connectors" / f"{name}.example.yaml", tmp_path / "profile.yaml")
    profile = load_profile(tmp_path / "profile.yaml")
    folder = EXPORTS / crm
    report = import_csv(profile, folder / owners, folder / accounts, folder / deals)
    clean = Book(*generate_demo_book(AS_OF, SEED))
    assert (report.owners.inserted, report.accounts.inserted, report.deals.inserted) == (
        len(clean.owners),
        len(clean.accounts),
        len(clean.deals),
    )

    imported = roles(profile)
    assert sorted(imported) == sorted(clean_roles)
    for email, clean_owner in clean_roles.items():
        got = imported[email]
        assert (got.role, got.rule_id) == (clean_owner.role, clean_owner.rule_id), email
        # The figures the rules read, not just the verdict.
        for metric in ("won_deals", "new_business_won_count", "accounts_owned"):
            assert getattr(got.metrics, metric) == getattr(clean_owner.metrics, metric), (
                email,
                metric,
            )
    # Not a vacuous match: the team has both roles.
    assert {o.role for o in imported.values()} >= {"hunter", "farmer"}


def test_hubspot_owner_ids_are_the_emails_and_names_resolve(tmp_path: Path) -> None:
    name, owners, accounts, deals = EXPORTS_OF["hubspot"]
    shutil.copy(ROOT / "connectors" / f"{name}.example.yaml", tmp_path / "profile.yaml")
    profile = load_profile(tmp_path / "profile.yaml")
    folder = EXPORTS / "hubspot"
    import_csv(profile, folder / owners, folder / accounts, folder / deals)
    with LocalAdapter(profile) as adapter:
        book = adapter.pull()
    assert set(book.owners) == {o.email for o in book.owners.values()}
    assert book.owners["priya.nair@example.com"].name == "Priya Nair"
    assert all(a.owner_id in book.owners for a in book.accounts.values())
    assert all(d.owner_id in book.owners for d in book.deals)

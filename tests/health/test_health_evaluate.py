"""The pure evaluation of book health: a census value and a profile in, findings out;
and the profile's data_quality section."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.errors import InputError, Severity
from roleSync.health.census import Affected, AmountRange, BookCensus, Collision, ValueCount
from roleSync.health.evaluate import evaluate
from roleSync.profile import Profile, load_profile
from roleSync.profile.data_quality import DEFAULT_SEVERITIES, Policy

HEADER = "version: 1\nkind: local\nname: t\n"
KINDS = (
    'deal_kinds:\n  "New Customer": new_business\n  "Existing Customer - Replacement": renewal\n'
)


def profile_of(tmp_path: Path, text: str) -> Profile:
    path = tmp_path / "p.yaml"
    path.write_text(HEADER + text)
    return load_profile(path)


def census(**given: object) -> BookCensus:
    base: dict[str, object] = {"owners": 10, "accounts": 100, "deals": 1000}
    base.update(given)
    return BookCensus(**base)  # type: ignore[arg-type]


RENEWALS = ValueCount("Existing Customer - Renewal", 412, ("d1", "d2", "d3"))


def test_an_unmapped_deal_type_is_an_error_with_its_count_key_and_suggestion(
    tmp_path: Path,
) -> None:
    profile = profile_of(tmp_path, KINDS)
    health = evaluate(census(unmapped_kinds=(RENEWALS,)), profile)
    (finding,) = health.findings
    assert finding.severity is Severity.ERROR and finding.code == "unmapped-deal-kind"
    assert finding.count == 412 and finding.rows == "deals"
    assert finding.examples == ("d1", "d2", "d3")
    assert 'add deal_kinds."Existing Customer - Renewal": <new_business' in finding.message
    assert "did you mean 'Existing Customer - Replacement'?" in finding.message
    assert "replaces the stock mapping" not in finding.message  # the file has the section
    (diagnostic,) = health.diagnostics(profile)
    # Line 4, column 1: the `deal_kinds:` key of the file.
    assert str(diagnostic).startswith(f"{tmp_path / 'p.yaml'}:4:1: error: deal type ")
    assert str(diagnostic).endswith("(e.g. d1, d2, d3) [unmapped-deal-kind]")


def test_a_value_the_profile_maps_in_another_spelling_is_no_finding(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, KINDS)
    mapped = ValueCount("  new customer ", 5, ("d9",))
    assert evaluate(census(unmapped_kinds=(mapped,)), profile).findings == ()


def test_without_a_deal_kinds_section_the_message_says_one_replaces_the_stock_mapping(
    tmp_path: Path,
) -> None:
    profile = profile_of(tmp_path, "")
    (finding,) = evaluate(census(unmapped_kinds=(RENEWALS,)), profile).findings
    assert "no deal_kinds section yet" in finding.message
    # Still positioned in the profile: at its first key, there being no deal_kinds one.
    assert str(finding.diagnostic(profile)).startswith(f"{tmp_path / 'p.yaml'}:1:1: error:")


@pytest.mark.parametrize(
    ("tolerance", "affected", "fires"),
    [
        ("{max_rows: 412}", 412, False),
        ("{max_rows: 411}", 412, True),
        ("{max_share: 0.5}", 412, False),  # 412 of 1000 deals
        ("{max_share: 0.4}", 412, True),
        ("{severity: ignore}", 412, False),
        ("ignore", 412, False),
    ],
)
def test_a_check_fires_only_above_its_tolerance(
    tmp_path: Path, tolerance: str, affected: int, fires: bool
) -> None:
    profile = profile_of(tmp_path, KINDS + f"data_quality:\n  unmapped_deal_kind: {tolerance}\n")
    value = ValueCount("Existing Customer - Renewal", affected, ("d1",))
    health = evaluate(census(unmapped_kinds=(value,)), profile)
    assert bool(health.errors) is fires
    ignored = "ignore" in tolerance
    expected = [] if fires or ignored else [("unmapped_deal_kind", affected)]
    assert [(t.check, t.count) for t in health.tolerated] == expected


def test_severity_can_be_lowered_to_a_warning(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "data_quality:\n  unmapped_deal_kind: {severity: warning}\n")
    health = evaluate(census(unmapped_kinds=(RENEWALS,)), profile)
    assert not health.errors and len(health.warnings) == 1
    # The fix is still a deal_kinds entry; the file has none: at its first key.
    assert health.warnings[0].diagnostic(profile).line == 1


def test_defaults_unknown_references_and_absurd_amounts_are_errors_missing_data_warns(
    tmp_path: Path,
) -> None:
    profile = profile_of(tmp_path, "")
    found = census(
        unknown_account=Affected(2, ("d1", "d2")),
        deal_unknown_owner=Affected(1, ("d3",)),
        account_unknown_owner=Affected(4, ("a1",)),
        missing_amount=Affected(7, ("d4",)),
        missing_close_date=Affected(3, ("d5",)),
        below_min=Affected(1, ("d6",)),
        above_max=Affected(3, ("d7", "d8", "d9")),
        not_a_number=Affected(1, ("d10",)),
        collisions=(Collision("accounts", "acc-1", 2, ("ACC-1", "acc-1 ")),),
        unmapped_lifecycles=(ValueCount("Customer - Partner", 6, ("a2",)),),
    )
    health = evaluate(found, profile)
    by_code = {(f.code, f.rows): f for f in health.findings}
    severities = {code: f.severity.value for (code, _), f in by_code.items()}
    assert severities == {
        "unknown-account": "error",
        "unknown-owner": "error",
        "missing-amount": "warning",
        "missing-close-date": "warning",
        "negative-amount": "error",
        "absurd-amount": "error",
        "duplicate-id": "error",
        "unmapped-lifecycle": "warning",
    }
    assert by_code[("unknown-owner", "accounts")].count == 4
    assert by_code[("unknown-owner", "deals")].examples == ("d3",)
    absurd = [f for f in health.findings if f.code == "absurd-amount"]
    assert [(f.count, f.profile_key) for f in absurd] == [
        (3, ("data_quality", "amounts", "max")),
        (1, ("data_quality", "absurd_amount")),
    ]
    assert "above amounts.max (1e+12)" in absurd[0].message
    assert "not a number" in absurd[1].message
    assert by_code[("duplicate-id", "accounts")].examples == ("ACC-1", "acc-1 ")
    assert health.as_json()["errors"] == len(health.errors) == 7


def test_unmapped_stages_count_only_when_asked(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "")
    stage = ValueCount("Verbal Commit", 9, ("d1",))
    assert evaluate(census(unmapped_stages=None), profile).findings == ()
    (finding,) = evaluate(census(unmapped_stages=(stage,)), profile).findings
    assert finding.code == "unmapped-stage"
    assert 'add stages."Verbal Commit": <open | won | lost>' in finding.message


def test_amount_findings_point_at_the_bound_in_the_profile(tmp_path: Path) -> None:
    profile = profile_of(tmp_path, "data_quality:\n  amounts:\n    min: -10\n    max: 5000\n")
    found = census(
        below_min=Affected(1, ("d1",)),
        above_max=Affected(2, ("d2",)),
        amount_range=AmountRange(-10, 5000),
    )
    positions = {f.code: f.diagnostic(profile) for f in evaluate(found, profile).findings}
    assert (positions["negative-amount"].line, positions["negative-amount"].col) == (6, 5)
    assert (positions["absurd-amount"].line, positions["absurd-amount"].col) == (7, 5)
    assert "below amounts.min (-10)" in positions["negative-amount"].message


def test_policy_tolerances() -> None:
    assert not Policy("error", None, None).fires(0, 10)
    assert Policy("error", None, None).fires(1, 10)
    assert not Policy("warning", 3, None).fires(3, 10)
    assert Policy("warning", 3, None).fires(4, 10)
    assert not Policy("error", None, 0.25).fires(25, 100)
    assert Policy("error", None, 0.25).fires(26, 100)
    assert not Policy("ignore", None, None).fires(100, 100)
    assert set(DEFAULT_SEVERITIES) >= {"unmapped_deal_kind", "absurd_amount", "duplicate_id"}
    assert DEFAULT_SEVERITIES["unmapped_deal_kind"] == "error"


@pytest.mark.parametrize(
    ("section", "position", "words"),
    [
        ("  missing_amount: {max_rows: 1, max_share: 0.1}\n", ":5:", "not both"),
        ("  missing_amount: {severity: fatal}\n", ":5:", "fatal"),
        ("  amounts: {min: 10, max: 5}\n", ":5:", "must be below"),
        ("  amounts: {max: 1e300}\n", ":5:", "less than or equal"),
        ("  missing_amont: warning\n", ":5:", "did you mean 'missing_amount'"),
        ("  unknown_owner: {max_share: 2}\n", ":5:", "less than or equal"),
    ],
)
def test_bad_data_quality_sections_are_positioned_errors(
    tmp_path: Path, section: str, position: str, words: str
) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(HEADER + "data_quality:\n" + section)
    with pytest.raises(InputError) as caught:
        load_profile(path)
    lines = [str(d) for d in caught.value.diagnostics]
    assert any(position in line and words in line for line in lines), lines


@pytest.mark.parametrize("name", ["local", "salesforce", "hubspot"])
def test_the_example_profiles_document_the_defaults(name: str) -> None:
    from roleSync.profile import DataQualitySection
    from roleSync.profile.data_quality import CHECKS

    example = Path(__file__).resolve().parents[2] / "connectors" / f"{name}.example.yaml"
    shown = load_profile(example).data_quality
    defaults = DataQualitySection()
    assert "data_quality" in load_profile(example).model_fields_set
    assert shown.amounts == defaults.amounts
    assert [shown.policy(c) for c in CHECKS] == [defaults.policy(c) for c in CHECKS]

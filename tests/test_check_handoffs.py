"""`rolesync check` on handoff blocks: unknown stages and lifecycle values are positioned
errors with did-you-mean (against the profile's mappings with `-c`, the stock ones
without), a trigger the mapping can never produce is a warning, and a malformed block
is refused at its key."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.cli import main

ROUTING = """\
version: 1
kind: routing
handoffs:
{blocks}
routes:
  - id: all
    assign: {{pool: {{role: farmer}}}}
"""

# Custom stages and kinds, as an org with its own pipeline maps them.
PROFILE = """\
version: 1
kind: local
name: t
local: {path: book.db}
stages: {"Discovery": open, "Contract Signed": won, "Lost": lost}
deal_kinds: {"New": new_business, "Upsell": expansion}
lifecycle: {"Customer - Direct": customer}
"""


def _check(
    tmp_path: Path, blocks: str, capsys: pytest.CaptureFixture[str], *profile: str
) -> tuple[int, list[str], Path]:
    rules = tmp_path / "routing.yaml"
    rules.write_text(ROUTING.format(blocks=blocks))
    args = ["check"]
    if profile:
        (tmp_path / "profile.yaml").write_text(profile[0])
        args += ["-c", str(tmp_path / "profile.yaml")]
    code = main([*args, str(rules)])
    captured = capsys.readouterr()
    lines = [line for line in (captured.out + captured.err).splitlines() if str(rules) in line]
    return code, lines, rules


def test_unknown_stage_without_a_profile_is_checked_against_the_stock_stages(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = "  - {id: signed, trigger: stage_reached, stage: Negotiation Review}"
    code, lines, path = _check(tmp_path, blocks, capsys)
    assert code == 1
    assert lines == [
        f"{path}:4:49: error: unknown stage 'Negotiation Review' in the stock stages; "
        "did you mean 'Negotiation/Review'? [unknown-stage]"
    ]


def test_a_stage_the_profile_maps_passes_with_it_and_a_typo_gets_its_suggestion(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = "  - {id: signed, trigger: stage_reached, stage: contract signed}"
    assert _check(tmp_path, good, capsys, PROFILE)[:2] == (0, [])
    typo = "  - {id: signed, trigger: stage_reached, stage: Contract Sign}"
    code, lines, path = _check(tmp_path, typo, capsys, PROFILE)
    assert code == 1
    assert lines == [
        f"{path}:4:49: error: unknown stage 'Contract Sign' in the profile's stages; "
        "did you mean 'Contract Signed'? [unknown-stage]"
    ]
    unlike = "  - {id: signed, trigger: stage_reached, stage: Onboarding}"
    code, lines, path = _check(tmp_path, unlike, capsys, PROFILE)
    assert code == 1 and lines[0].endswith(
        "error: unknown stage 'Onboarding' in the profile's stages; add it to the "
        'profile\'s stages (stages."Onboarding": open) [unknown-stage]'
    )


def test_a_crm_lifecycle_value_is_an_error_that_names_the_canonical_word(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = "  - {id: won, trigger: lifecycle_became, lifecycle: Customer - Direct}"
    code, lines, path = _check(tmp_path, blocks, capsys, PROFILE)
    assert code == 1
    assert lines == [
        f"{path}:4:53: error: unknown lifecycle 'Customer - Direct': one of customer, "
        "prospect, other; 'Customer - Direct' is a CRM value the profile's lifecycle maps to "
        "'customer': did you mean 'customer'? [unknown-value]"
    ]


def test_triggers_the_profiles_mapping_never_produces_are_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = (
        "  - {id: renewed, trigger: stage_reached, stage: Contract Signed, kinds: [renewal]}\n"
        "  - {id: prospects, trigger: lifecycle_became, lifecycle: prospect}"
    )
    code, lines, path = _check(tmp_path, blocks, capsys, PROFILE)
    assert code == 3  # findings that are warnings only
    assert lines == [
        f"{path}:4:74: warning: this trigger can never fire: no deal type in the profile's "
        "deal_kinds maps to renewal [never-fires]",
        f"{path}:5:59: warning: this trigger can never fire: no CRM value in the profile's "
        "lifecycle maps to 'prospect' [never-fires]",
    ]


@pytest.mark.parametrize(
    ("blocks", "message"),
    [
        (
            "  - {id: s, trigger: stage_reached}",
            "4:22: error: handoffs.0.trigger: trigger stage_reached needs 'stage' [missing-key]",
        ),
        (
            "  - {id: f, trigger: first_won_new_business, stage: Closed Won}",
            "4:53: error: handoffs.0.stage: 'stage' is only meaningful with trigger "
            "stage_reached [ignored-key]",
        ),
        (
            "  - {id: f, max_age_days: 30, since: 2026-01-01}",
            "4:38: error: handoffs.0.since: give 'max_age_days' or 'since', not both [age-limit]",
        ),
        (
            "  - {id: f}\n  - {id: f, trigger: first_won_new_business}",
            "5:10: error: a second handoff block with id 'f' [duplicate-id]",
        ),
    ],
)
def test_malformed_handoff_blocks_are_refused_at_their_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], blocks: str, message: str
) -> None:
    code, lines, path = _check(tmp_path, blocks, capsys)
    assert code == 1
    assert lines == [f"{path}:{message}"]

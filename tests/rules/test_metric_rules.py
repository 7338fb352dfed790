"""The farming and hunting metrics in roles files: `check` accepts their names, offers a
did-you-mean for a near miss and warns about a fraction written as a percentage; a
classify rule on them decides roles (see also rules/tests/metrics.test.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest

from roleSync.cli import main
from roleSync.metrics import FRACTION_METRICS, HUNTING_METRICS, RoleMetrics
from roleSync.metrics_retention import FARMING_METRICS
from roleSync.model import Owner, Role
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.schema import RolesFile


def _roles(rule: str) -> str:
    return (
        "version: 1\nkind: roles\nclassify:\n"
        f"  - id: by-renewals\n    role: farmer\n    when: {rule}\n"
        "  - id: rest\n    role: unclassified\n"
    )


def _check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    rules = tmp_path / "roles.yaml"
    rules.write_text(text)
    code = main(["check", str(rules)])
    captured = capsys.readouterr()
    prefix = f"{rules}:"
    out = (captured.out + captured.err).splitlines()
    return code, [line.removeprefix(prefix) for line in out if line.startswith(prefix)]


@pytest.mark.parametrize("metric", [*FARMING_METRICS, *HUNTING_METRICS])
def test_check_accepts_every_new_metric(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], metric: str
) -> None:
    code, lines = _check(tmp_path, _roles(f"{{metric: {metric}, op: gte, value: 0.5}}"), capsys)
    assert (code, lines) == (0, [])


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("renewal_rat", "renewal_rate"),
        ("new_busines_win_rate", "new_business_win_rate"),
        ("net_revenue_retension", "net_revenue_retention"),
        ("new_logo", "new_logos"),
    ],
)
def test_a_near_miss_gets_a_did_you_mean(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], typed: str, meant: str
) -> None:
    code, lines = _check(tmp_path, _roles(f"{{metric: {typed}, op: gte, value: 0.5}}"), capsys)
    assert code == 1
    assert lines == [
        f"6:20: error: unknown metric '{typed}'; did you mean '{meant}'? [unknown-value]"
    ]


def test_a_fraction_written_as_a_percentage_is_flagged_but_net_retention_may_exceed_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert {"renewal_rate", "gross_revenue_retention", "new_business_win_rate"} <= (
        FRACTION_METRICS
    )
    code, lines = _check(tmp_path, _roles("{metric: renewal_rate, op: gte, value: 80}"), capsys)
    assert code == 3  # warnings only
    assert lines == [
        "6:50: warning: renewal_rate is a fraction from 0 to 1; 80 is never reached; "
        "did you mean 0.8? [out-of-range]"
    ]
    # A book that grew keeps more than it started with: 1.2 is a sensible threshold.
    net = _roles("{metric: net_revenue_retention, op: gte, value: 1.2}")
    assert _check(tmp_path, net, capsys) == (0, [])


def test_a_classify_rule_on_renewal_rate_and_conversion() -> None:
    roles = CompiledRoles(
        RolesFile.model_validate(
            {
                "version": 1,
                "kind": "roles",
                "classify": [
                    {
                        "id": "hunter",
                        "role": "hunter",
                        "when": {"metric": "new_business_win_rate", "op": "gte", "value": 0.3},
                    },
                    {
                        "id": "farmer",
                        "role": "farmer",
                        "when": {"metric": "renewal_rate", "op": "gte", "value": 0.8},
                    },
                ],
            }
        )
    )
    who = Owner("o1", "O", "o@example.com")

    def role(**figures: float | None) -> Role:
        return roles.classify(who, RoleMetrics(**figures)).role  # type: ignore[arg-type]

    assert role(new_business_win_rate=0.3) is Role.HUNTER
    assert role(new_business_win_rate=0.29, renewal_rate=0.8) is Role.FARMER
    # No renewal due: an empty rate matches no gte, so no farmer by it.
    assert role(new_business_win_rate=None, renewal_rate=None) is Role.UNCLASSIFIED

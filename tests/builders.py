"""Small builders for hand-made books and rule sets in tests."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any, Literal

from roleSync.model import Account, Deal, DealKind, Owner
from roleSync.plan import OwnershipChange, PlanInputs
from roleSync.rules.classify import CompiledRoles
from roleSync.rules.routes import CompiledRouting
from roleSync.rules.ruleset import load_rule_set
from roleSync.rules.schema import RolesFile, RoutingFile

AS_OF = date(2026, 6, 30)
Status = Literal["won", "lost", "open"]


def deal(
    deal_id: str,
    account_id: str = "a1",
    *,
    owner_id: str | None = "o1",
    kind: DealKind | None,
    status: Status = "won",
    amount: float | None = 100.0,
    created: date,
    close: date | None,
) -> Deal:
    """A deal described by its outcome; `status` sets stage, closed and won together."""
    return Deal(
        id=deal_id,
        account_id=account_id,
        owner_id=owner_id,
        kind=kind,
        stage=status,
        closed=status != "open",
        won=status == "won",
        amount=amount,
        created=created,
        close_date=close,
    )


def owner(oid: str, *, title: str = "", active: bool = True) -> Owner:
    return Owner(oid, oid.capitalize(), f"{oid}@example.com", title, active)


def account(aid: str, owner_id: str | None, **kw: Any) -> Account:
    return Account(aid, f"Account {aid}", owner_id, **kw)


def won(
    did: str,
    account_id: str,
    owner_id: str,
    closed_on: date,
    kind: DealKind | None = DealKind.NEW_BUSINESS,
    amount: float | None = 1000.0,
) -> Deal:
    return Deal(
        did,
        account_id,
        owner_id,
        kind,
        "Closed Won",
        True,
        True,
        amount,
        date(closed_on.year - 1, closed_on.month, 1),
        closed_on,
    )


def lost(did: str, account_id: str, owner_id: str, closed_on: date) -> Deal:
    return Deal(
        did,
        account_id,
        owner_id,
        DealKind.NEW_BUSINESS,
        "Closed Lost",
        True,
        False,
        500.0,
        date(closed_on.year - 1, closed_on.month, 1),
        closed_on,
    )


ROLES: dict[str, Any] = {
    "version": 1,
    "kind": "roles",
    "window_days": 365,
    "classify": [
        {
            "id": "hunter",
            "role": "hunter",
            "when": {"metric": "new_business_share", "op": "gte", "value": 0.6},
        },
        {
            "id": "farmer",
            "role": "farmer",
            "when": {"metric": "new_business_share", "op": "lte", "value": 0.4},
        },
    ],
}


def routing(*routes: dict[str, Any], delay_days: int = 0, **handoff: Any) -> dict[str, Any]:
    return {
        "version": 1,
        "kind": "routing",
        "handoff": {"delay_days": delay_days, **handoff},
        "routes": list(routes),
    }


def inputs(
    routing_doc: dict[str, Any],
    roles_doc: dict[str, Any] | None = None,
    rotation: dict[str, str] | None = None,
    metric_fields: dict[str, str] | None = None,
) -> PlanInputs:
    return PlanInputs(
        profile="test",
        roles=CompiledRoles(RolesFile.model_validate(roles_doc or ROLES)),
        routing=CompiledRouting(RoutingFile.model_validate(routing_doc)),
        rules_digest="sha256:test",
        as_of=AS_OF,
        rotation=rotation or {},
        metric_fields=metric_fields or {},
    )


def rules_for_any_move(folder: Path, changes: Sequence[OwnershipChange]) -> tuple[Path, str]:
    """Rule files under which hand-made `changes` pass apply's re-check: the shipped roles,
    and a route named after the changes' rule id whose pool lists every target. Returns
    the folder (for `apply -r`) and its digest (for the plan's `rules_digest`)."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(__file__).parents[1] / "rules" / "roles.yaml", folder / "roles.yaml")
    routes = sorted({c.rule_id for c in changes}) or ["test"]
    targets = sorted({c.to_owner_id for c in changes}) or ["nobody"]
    body = "version: 1\nkind: routing\nroutes:\n" + "".join(
        f"  - id: {r}\n    assign: {{pool: {json.dumps(targets)}, strategy: round_robin}}\n"
        for r in routes
    )
    (folder / "routing.yaml").write_text(body, encoding="utf-8")
    return folder, load_rule_set([folder]).digest

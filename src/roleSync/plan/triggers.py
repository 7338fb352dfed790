"""Handoff triggers: which handoff block fired for an account, on what date, and why.

Pure: an account, the deal facts of the plan's window and the routing file's handoff
blocks in; the event out. Shared by `build_plan` and `explain`, so both tell the same story.

What each trigger's date means, given that a book holds each deal's current stage and
each account's current lifecycle, not their history:

- first_won_new_business: the close date of the account's first won new-business deal.
- stage_reached: a deal of the block's kinds stands at the stage now. Its date: the
  deal's close date when it is closed, else its creation date (the book does not know
  when an open deal entered its stage; creation is the earliest it can have, so the
  delay and the age limit are never counted from a date later than the real one).
  Several such deals: the earliest date, then the lowest deal id.
- lifecycle_became: the account's lifecycle is the value now. Its date: the account's
  last update, else its creation; an account with neither timestamp has no date and
  does not fire (nothing can say whether the change is recent). Any later edit of the
  account (roleSync's own owner write included) moves that date: a known limit until
  CRMs' lifecycle-date fields are mapped.
- owner_left: the account's owner is in the book and inactive (Salesforce IsActive false,
  HubSpot archived owner, local book `active` false). A book does not say when an owner
  was deactivated, so its date is the plan's date and no age limit or delay applies: a
  departed owner's book is redistributed whenever it is seen, whatever their role was.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from roleSync.model import Account, Deal, DealFacts, DealKind, DealWindow, Role
from roleSync.rules.schema import Handoff, Trigger


@dataclass(frozen=True, slots=True)
class Event:
    """A trigger that fired for one account."""

    block: Handoff
    on: date
    # What happened, for plans, reports and explain: "first new business won 2026-03-01".
    what: str


def normalized_stage(stage: str) -> str:
    # CRM stage names drift in case and stray spaces, as profile mappings do (normalized()).
    return stage.strip().casefold()


def watched_stages(blocks: Iterable[Handoff]) -> frozenset[str]:
    """The stages the stage_reached blocks watch: deals at them must be pulled."""
    return frozenset(
        normalized_stage(b.stage)
        for b in blocks
        if b.trigger is Trigger.STAGE_REACHED and b.stage is not None
    )


def plan_window(as_of: date, window_days: int, blocks: Iterable[Handoff]) -> DealWindow:
    """The deal window a plan reads: the roles window, watching the handoffs' stages."""
    return DealWindow(as_of, window_days, watched_stages(blocks))


def _stage_hit(stage: str, kinds: frozenset[DealKind], deals: Sequence[Deal]) -> Deal | None:
    """The deal of `kinds` at `stage` with the earliest trigger date, then lowest id."""
    found = [d for d in deals if d.kind in kinds and normalized_stage(d.stage) == stage]
    return min(found, key=lambda d: (_stage_date(d), d.id)) if found else None


def _stage_date(deal: Deal) -> date:
    return deal.close_date if deal.closed and deal.close_date is not None else deal.created


def _stage_event(block: Handoff, deal: Deal) -> Event:
    on = _stage_date(deal)
    how = "closed" if deal.closed and deal.close_date is not None else "created"
    kind = deal.kind.value if deal.kind is not None else "deal"
    return Event(block, on, f"{kind} deal {deal.id} at stage {deal.stage} ({how} {on})")


def _lifecycle_stamp(wanted: str, account: Account) -> tuple[date, str] | None:
    if account.lifecycle.casefold() != wanted:
        return None
    stamp, which = (account.updated, "updated") if account.updated else (account.created, "created")
    return None if stamp is None else (stamp.date(), which)


def _lifecycle_event(block: Handoff, account: Account, on: date, which: str) -> Event:
    return Event(block, on, f"lifecycle {account.lifecycle} (account {which} {on})")


def event_of(block: Handoff, account: Account, facts: DealFacts) -> Event | None:
    """The block's trigger for the account, whatever its date; None if it never fired.
    owner_left depends on the owner, not the account: `Handoffs.decide` tells it."""
    if block.trigger is Trigger.OWNER_LEFT:
        return None
    if block.trigger is Trigger.FIRST_WON_NEW_BUSINESS:
        won = facts.triggers.get(account.id)
        if won is None:
            return None
        return Event(block, won.close_date, f"first new business won {won.close_date}")
    if block.trigger is Trigger.STAGE_REACHED:
        stage, kinds = normalized_stage(block.stage or ""), frozenset(block.deal_kinds)
        deal = _stage_hit(stage, kinds, facts.stage_deals.get(account.id, ()))
        return None if deal is None else _stage_event(block, deal)
    stamp = _lifecycle_stamp(_fold_lifecycle(block), account)
    return None if stamp is None else _lifecycle_event(block, account, *stamp)


def _fold_lifecycle(block: Handoff) -> str:
    return (block.lifecycle or "").strip().casefold()


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the handoff blocks say about one account."""

    event: Event | None  # the deciding block's event; None: the account stays
    # Why it may move ("owner is a hunter"), or why it stays.
    why: str
    # "no_trigger", "too_old" or "stays" when event is None (a summary counter).
    counter: str = ""


NO_TRIGGER = Verdict(None, "no trigger fired", "no_trigger")
TOO_OLD = Verdict(None, "trigger older than the age limit", "too_old")
STAYS = Verdict(None, "owner is not one to hand off from", "stays")
_FIRST_WON, _STAGE, _LIFECYCLE, _OWNER_LEFT = 0, 1, 2, 3
_WHY_ROLE = {role: f"owner is a {role.value}" for role in Role}


@dataclass(frozen=True, slots=True)
class _Block:
    """One handoff block with what a decision reads computed once per plan."""

    block: Handoff
    trigger: int
    earliest: date
    allowed: frozenset[Role]
    from_inactive: bool
    stage: str
    kinds: frozenset[DealKind]
    lifecycle: str


class Handoffs:
    """The handoff blocks of a routing file, ready to decide accounts on `as_of`. Built
    once per plan: a decision runs once per account of books with millions."""

    def __init__(self, blocks: Sequence[Handoff], as_of: date) -> None:
        codes = {
            Trigger.FIRST_WON_NEW_BUSINESS: _FIRST_WON,
            Trigger.STAGE_REACHED: _STAGE,
            Trigger.LIFECYCLE_BECAME: _LIFECYCLE,
            Trigger.OWNER_LEFT: _OWNER_LEFT,
        }
        self.as_of = as_of
        self._blocks = [
            _Block(
                b,
                codes[b.trigger],
                b.earliest(as_of),
                frozenset(Role(r.value) for r in b.from_roles),
                b.from_inactive_owners,
                normalized_stage(b.stage or ""),
                frozenset(b.deal_kinds),
                _fold_lifecycle(b),
            )
            for b in blocks
        ]

    def decide(
        self, account: Account, owner_role: Role | None, owner_active: bool, facts: DealFacts
    ) -> Verdict:
        """The first block whose trigger fired by `as_of`, within its age limit, and whose
        `from_roles` (or `from_inactive_owners`) take the account's owner. `owner_role`:
        None when the account has no owner in the book."""
        fired = too_old = False
        for c in self._blocks:
            deal: Deal | None = None
            which = ""
            if c.trigger == _OWNER_LEFT:
                if owner_role is None or owner_active:
                    continue  # no owner in the book, or one still here
                return Verdict(owner_left_event(c.block, self.as_of), "owner left")
            if c.trigger == _FIRST_WON:
                won = facts.triggers.get(account.id)
                if won is None:
                    continue
                on = won.close_date
            elif c.trigger == _STAGE:
                deal = _stage_hit(c.stage, c.kinds, facts.stage_deals.get(account.id, ()))
                if deal is None:
                    continue
                on = _stage_date(deal)
            else:
                stamp = _lifecycle_stamp(c.lifecycle, account)
                if stamp is None:
                    continue
                on, which = stamp
            if on > self.as_of:
                continue
            fired = True
            if on < c.earliest:
                too_old = True
                continue
            why = _candidate(owner_role, owner_active, c)
            if why is None:
                continue
            if c.trigger == _FIRST_WON:
                event = Event(c.block, on, f"first new business won {on}")
            elif deal is not None:
                event = _stage_event(c.block, deal)
            else:
                event = _lifecycle_event(c.block, account, on, which)
            return Verdict(event, why)
        return STAYS if fired and not too_old else TOO_OLD if fired else NO_TRIGGER


def owner_left_event(block: Handoff, as_of: date) -> Event:
    return Event(block, as_of, f"owner deactivated (seen inactive on {as_of})")


def _candidate(owner_role: Role | None, owner_active: bool, c: _Block) -> str | None:
    """Why this account's owner may hand it off under the block, or None if it stays."""
    if owner_role is None or not owner_active:
        if c.from_inactive:
            return "owner inactive" if owner_role is not None else "no active owner"
        return None
    if owner_role is Role.FARMER:
        return None  # already with a farmer: left alone
    return _WHY_ROLE[owner_role] if owner_role in c.allowed else None


def decide(
    account: Account,
    owner_role: Role | None,
    owner_active: bool,
    blocks: Sequence[Handoff],
    facts: DealFacts,
    as_of: date,
) -> Verdict:
    """`Handoffs(blocks, as_of).decide(...)` for one account (explain, rule tests)."""
    return Handoffs(blocks, as_of).decide(account, owner_role, owner_active, facts)


def describe_trigger(block: Handoff) -> str:
    """The block's trigger in words, for explain: "stage_reached Closed Won (new_business)"."""
    if block.trigger is Trigger.STAGE_REACHED:
        kinds = ", ".join(k.value for k in block.deal_kinds)
        return f"{block.trigger.value} {block.stage} ({kinds})"
    if block.trigger is Trigger.LIFECYCLE_BECAME:
        return f"{block.trigger.value} {block.lifecycle}"
    return block.trigger.value


def owner_facts(
    account: Account, roles: Mapping[str, Role], active: Mapping[str, bool]
) -> tuple[Role | None, bool]:
    """The account owner's role and whether they are active (None, False: no owner)."""
    owner_id = account.owner_id or ""
    if owner_id not in active:
        return None, False
    return roles[owner_id], active[owner_id]

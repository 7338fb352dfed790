"""Related records that follow a handed-off account: routing.yaml `carry`.

Pure: a book, the plan's ownership changes and the handoff blocks in; one RelatedChange
per record that moves out. Only open deals move (a won deal stays with whoever won it,
a lost one with whoever lost it), only open tasks; contacts move whatever their state.
A record already owned by the new owner is left out: nothing to write.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from roleSync.model import Book, DealWindow
from roleSync.plan.types import OwnershipChange, RelatedChange, RelatedObject
from roleSync.rules.carry_schema import Carry, CarryWhose
from roleSync.rules.schema import Handoff


def carries_deals(blocks: Iterable[Handoff]) -> bool:
    """Whether any block carries deals: the plan then needs the book's open deals, which a
    pull folded into a window does not keep."""
    return any(entry.deals is not None for block in blocks for entry in block.carry)


def pull_window(window: DealWindow, blocks: Sequence[Handoff]) -> DealWindow | None:
    """The window to fold a pull into for a plan under `blocks`: none (every deal held)
    when a block carries deals."""
    return None if carries_deals(blocks) else window


def _taken(whose: CarryWhose, owner_id: str | None, change: OwnershipChange) -> bool:
    if owner_id == change.to_owner_id:
        return False
    return whose is CarryWhose.ALL or owner_id == change.from_owner_id


def _why(what: str, whose: CarryWhose, change: OwnershipChange) -> str:
    scope = "" if whose is CarryWhose.ALL else " owned by the previous owner"
    return f"{what}{scope} of account {change.account_id}, handed off to {change.to_owner_id} " + (
        "(its handoff block carries it)"
        if change.handoff_id in ("", "handoff")  # the single `handoff:` block
        else f"(handoff block {change.handoff_id!r} carries it)"
    )


def _entry_changes(book: Book, entry: Carry, change: OwnershipChange) -> Iterator[RelatedChange]:
    def moved(kind: RelatedObject, record_id: str, owner_id: str | None, why: str) -> RelatedChange:
        return RelatedChange(
            kind,
            record_id,
            change.account_id,
            owner_id,
            change.to_owner_id,
            why,
            trigger=change.trigger,
            handoff_id=change.handoff_id,
        )

    if entry.deals is not None:
        kinds = frozenset(entry.deals.kinds)
        whose = entry.deals.whose
        for deal in book.deals_by_account.get(change.account_id, ()):
            if not deal.closed and deal.kind in kinds and _taken(whose, deal.owner_id, change):
                what = f"open {deal.kind.value if deal.kind else 'deal'} deal {deal.id}"
                yield moved(RelatedObject.DEAL, deal.id, deal.owner_id, _why(what, whose, change))
    if entry.contacts is not None:
        whose = entry.contacts
        for contact in book.contacts_by_account.get(change.account_id, ()):
            if _taken(whose, contact.owner_id, change):
                why = _why(f"contact {contact.id}", whose, change)
                yield moved(RelatedObject.CONTACT, contact.id, contact.owner_id, why)
    if entry.tasks is not None:
        whose = entry.tasks
        for task in book.open_tasks(change.account_id):
            if _taken(whose, task.owner_id, change):
                why = _why(f"open task {task.id}", whose, change)
                yield moved(RelatedObject.TASK, task.id, task.owner_id, why)


def carried_records(
    book: Book, changes: Sequence[OwnershipChange], blocks: Sequence[Handoff]
) -> list[RelatedChange]:
    """The records each change's handoff block carries, in the order of the changes and,
    per account, in the order of the block's `carry` list (records by id)."""
    by_id: Mapping[str, Handoff] = {block.id: block for block in blocks}
    related: list[RelatedChange] = []
    for change in changes:
        block = by_id.get(change.handoff_id)
        if block is None:
            continue
        for entry in block.carry:
            related.extend(_entry_changes(book, entry, change))
    return related

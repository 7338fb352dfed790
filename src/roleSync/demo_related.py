"""The demo book's contacts and tasks: what its accounts' handoffs can carry.

Kept apart from `roleSync.demo_book` and drawn from a random generator of its own, so
that adding them changed none of the demo's owners, accounts or deals (nor any plan
made from them). Seeded and dated relative to `as_of` like the rest of the demo: the
same accounts, seed and date give the same contacts and tasks.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import date, timedelta

from roleSync.model import Account, Contact, Task

__all__ = ["generate_demo_related"]

_FIRST = ("Alex", "Sam", "Jordan", "Maria", "Wei", "Priya", "Lukas", "Amara", "Diego", "Yuki")
_LAST = ("Novak", "Okafor", "Lindqvist", "Moreau", "Tanaka", "Silva", "Kowalski", "Haddad")
_SUBJECTS = (
    "Quarterly business review",
    "Renewal prep call",
    "Send usage report",
    "Follow up on support escalation",
    "Intro call with new stakeholder",
)
# An offset of the seed, so these draws never repeat the main book's generator.
_SEED_OFFSET = 7_919


def _domain(account: Account) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", account.name.casefold()).strip("-")
    return f"{slug or account.id}.example"


def generate_demo_related(
    accounts: Sequence[Account], as_of: date, seed: int = 2026
) -> tuple[list[Contact], list[Task]]:
    """One to three contacts per account and, for about a third of the accounts, one or
    two tasks (mostly open, due around `as_of`). Contacts are mostly owned by their
    account's owner, as CRMs assign them; a few by nobody (blank owner)."""
    rng = random.Random(seed + _SEED_OFFSET)
    contacts: list[Contact] = []
    tasks: list[Task] = []
    for account in accounts:
        domain = _domain(account)
        for _ in range(rng.randint(1, 3)):
            first, last = rng.choice(_FIRST), rng.choice(_LAST)
            owner = account.owner_id if rng.random() < 0.9 else None
            email = f"{first}.{last}@{domain}".casefold()
            contacts.append(
                Contact(
                    f"contact-{len(contacts) + 1:05d}", account.id, owner, f"{first} {last}", email
                )
            )
        if rng.random() < 0.35:
            for _ in range(rng.randint(1, 2)):
                due = as_of + timedelta(days=rng.randint(-20, 45))
                closed = rng.random() < 0.25
                subject = rng.choice(_SUBJECTS)
                task_id = f"task-{len(tasks) + 1:05d}"
                tasks.append(Task(task_id, account.id, account.owner_id, subject, closed, due))
    return contacts, tasks

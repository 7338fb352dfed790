"""Seeded contacts and tasks: the records that follow a company when it changes hands.

Contacts: firstname, lastname, email (unique), jobtitle, lifecyclestage, and
hubspot_owner_id (about 7 in 10 their company's owner, the others another active
owner, a few an archived one); each associated with one company (its primary).

Tasks: hs_task_subject, hs_task_body, hs_timestamp (due: the last 60 to the next 30
days), hs_task_status (about 6 in 10 open: NOT_STARTED, IN_PROGRESS, WAITING,
DEFERRED; the rest COMPLETED), hs_task_priority, hs_task_type, hubspot_owner_id
(mostly the company's owner); each associated with its company (task to company,
type 192) and often with one of the company's contacts. `rolesync_key` stays empty:
only roleSync's handoff tasks carry it.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from roleSync.emulators.hubspot.store import HubSpotStore
from roleSync.emulators.hubspot.wire import iso_ms, to_ms
from roleSync.emulators.names import FIRST_NAMES, LAST_NAMES

JOB_TITLES = ("CFO", "VP Operations", "IT Director", "Procurement Lead", "Office Manager")
SUBJECTS = ("Call", "Send proposal", "Quarterly review", "Follow up", "Renewal prep")
OPEN_STATUSES = ("NOT_STARTED", "IN_PROGRESS", "WAITING", "DEFERRED")
PRIORITIES = ("LOW", "MEDIUM", "HIGH")
TYPES = ("TODO", "CALL", "EMAIL")


def _owner(
    rng: random.Random, company_owner: str | None, active: list[str], archived: list[str]
) -> str | None:
    roll = rng.random()
    if roll < 0.7 or not active:
        return company_owner
    if roll < 0.75 and archived:
        return rng.choice(archived)
    return rng.choice(active)


def seed_related(
    store: HubSpotStore,
    rng: random.Random,
    *,
    contacts: int,
    tasks: int,
    active: list[str],
    archived: list[str],
    latest: datetime,
) -> None:
    """Add contacts and tasks over the store's companies (hold the store's lock)."""
    companies = [
        (str(c["hs_object_id"]), c.get("hubspot_owner_id")) for c in store.all("companies")
    ]
    if not companies:
        return
    people: dict[str, list[str]] = {}
    for number in range(contacts):
        company_id, company_owner = rng.choice(companies)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created = to_ms(latest - timedelta(days=rng.uniform(10, 900))) // 1000 * 1000
        email = f"{first}.{last}{number}@customer.example".lower().replace("'", "")
        contact_id = store.insert(
            "contacts",
            {"firstname": first, "lastname": last, "email": email,
             "jobtitle": rng.choice(JOB_TITLES), "lifecyclestage": "customer",
             "hubspot_owner_id": _owner(rng, company_owner, active, archived)},
            created_ms=created,
        )  # fmt: skip
        store.link("contacts", contact_id, "companies", company_id)
        people.setdefault(company_id, []).append(contact_id)
    for _ in range(tasks):
        company_id, company_owner = rng.choice(companies)
        is_open = rng.random() < 0.6
        subject = rng.choice(SUBJECTS)
        due = to_ms(latest + timedelta(days=rng.randint(-60, 30))) // 1000 * 1000
        created = to_ms(latest - timedelta(days=rng.uniform(1, 120))) // 1000 * 1000
        owner = company_owner
        if archived and rng.random() < 0.05:
            owner = rng.choice(archived)
        task_id = store.insert(
            "tasks",
            {"hs_task_subject": subject, "hs_task_body": f"{subject} with the customer",
             "hs_timestamp": iso_ms(due),
             "hs_task_status": rng.choice(OPEN_STATUSES) if is_open else "COMPLETED",
             "hs_task_priority": rng.choice(PRIORITIES), "hs_task_type": rng.choice(TYPES),
             "hubspot_owner_id": owner},
            created_ms=created,
        )  # fmt: skip
        store.link("tasks", task_id, "companies", company_id)
        known = people.get(company_id)
        if known and rng.random() < 0.5:
            store.link("tasks", task_id, "contacts", rng.choice(known))

"""Seeded Contacts and Tasks: the records that follow an account when it changes hands.

Contacts (003): FirstName, LastName, Name, Email, Title, AccountId, OwnerId. About 7
in 10 are owned by their account's owner (the ones a handoff carries when it moves
"the previous owner's contacts"), the rest by another active user, and a few by a
user who left.

Tasks (00T): Subject, Description, WhatId (the account), WhoId (one of its contacts,
when it has any), OwnerId (mostly the account's owner), ActivityDate (the last 60 to
the next 30 days), Status (about 6 in 10 open: Not Started, In Progress, Waiting on
someone else, Deferred; the rest Completed), Priority, IsClosed and AccountId
(derived), RoleSync_Key__c null (only roleSync's handoff tasks carry it).
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from roleSync.emulators.names import FIRST_NAMES, LAST_NAMES
from roleSync.emulators.salesforce.store import Record, SalesforceStore

CONTACT_TITLES = ("CFO", "VP Operations", "IT Director", "Procurement Lead", "Office Manager")
TASK_SUBJECTS = ("Call", "Send proposal", "Quarterly review", "Follow up", "Renewal prep")
OPEN_STATUSES = ("Not Started", "In Progress", "Waiting on someone else", "Deferred")
PRIORITIES = ("High", "Normal", "Low")


def stamp(rng: random.Random, latest: datetime, days_ago: float) -> datetime:
    moment = latest - timedelta(days=days_ago, seconds=rng.randrange(86400))
    return min(moment, latest).replace(microsecond=0)


def base_record(
    store: SalesforceStore, sobject: str, created: datetime, modified: datetime
) -> Record:
    definition = store.sobject(sobject)
    values: Record = dict.fromkeys(definition.fields)
    modified = max(modified, created)
    values.update(
        Id=store.new_id(definition),
        IsDeleted=False,
        CreatedDate=created,
        LastModifiedDate=modified,
        SystemModstamp=modified,
    )
    return values


def _other_owner(
    rng: random.Random, account_owner: str, active: list[str], inactive: list[str]
) -> str:
    roll = rng.random()
    if roll < 0.7 or not active:
        return account_owner
    if roll < 0.75 and inactive:
        return rng.choice(inactive)
    return rng.choice(active)


def seed_contacts(
    store: SalesforceStore,
    rng: random.Random,
    count: int,
    accounts: list[tuple[str, str]],
    active: list[str],
    inactive: list[str],
    latest: datetime,
) -> dict[str, list[str]]:
    """`count` contacts over `accounts` ((Id, OwnerId)); returns contact Ids by account."""
    definition = store.sobject("Contact")
    by_account: dict[str, list[str]] = {}
    for number in range(count):
        account_id, account_owner = rng.choice(accounts)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        created = stamp(rng, latest, rng.uniform(10, 900))
        values = base_record(store, "Contact", created, stamp(rng, latest, rng.uniform(0, 10)))
        values.update(
            FirstName=first,
            LastName=last,
            Name=f"{first} {last}",
            Email=f"{first}.{last}{number}@customer.example".lower().replace("'", ""),
            Title=rng.choice(CONTACT_TITLES),
            AccountId=account_id,
            OwnerId=_other_owner(rng, account_owner, active, inactive),
        )
        store.insert_trusted(definition, values)
        by_account.setdefault(account_id, []).append(str(values["Id"]))
    return by_account


def seed_tasks(
    store: SalesforceStore,
    rng: random.Random,
    count: int,
    accounts: list[tuple[str, str]],
    contacts: dict[str, list[str]],
    inactive: list[str],
    day: date,
    latest: datetime,
) -> None:
    """`count` tasks on `accounts`, open and completed, mostly their owner's."""
    definition = store.sobject("Task")
    for _ in range(count):
        account_id, account_owner = rng.choice(accounts)
        people = contacts.get(account_id, [])
        is_open = rng.random() < 0.6
        subject = rng.choice(TASK_SUBJECTS)
        created = stamp(rng, latest, rng.uniform(1, 120))
        values = base_record(store, "Task", created, stamp(rng, latest, rng.uniform(0, 1)))
        owner = account_owner
        if inactive and rng.random() < 0.05:
            owner = rng.choice(inactive)
        values.update(
            Subject=subject,
            Description=f"{subject} with the customer",
            WhatId=account_id,
            WhoId=rng.choice(people) if people else None,
            OwnerId=owner,
            ActivityDate=day + timedelta(days=rng.randint(-60, 30)),
            Status=rng.choice(OPEN_STATUSES) if is_open else "Completed",
            Priority=rng.choice(PRIORITIES),
            IsClosed=not is_open,
            AccountId=account_id,
        )
        store.insert_trusted(definition, values)

"""A realistic, deterministic sales org: the same seed and day give the same records.

Users (prefix 005): Username, FirstName, LastName, Name, Email, Title, Department,
IsActive (a share `inactive_share` inactive, 1 in 10 by default: people who left,
still owning some records),
ManagerId, and the empty role-metric fields of `schema.USER_METRIC_FIELDS`
(Sales_Role__c, one per role metric named after it, such as Won_Deals__c or
Net_Revenue_Retention__c, and Role_Metrics_As_Of__c), and the empty territory fields
Sales_Region__c and Sales_Regions__c (a multi-select picklist). Titles follow the
seller's real habit: Account Executives and BDRs mostly win new business, Account and
Customer Success Managers mostly work existing customers.

Accounts (001): Name (some with apostrophes, for quoting), OwnerId, Type (Prospect,
Customer - Direct, Customer - Channel), Industry, AnnualRevenue, BillingCountry,
Segment__c (SMB, Mid-Market, Enterprise; a few blank), Region__c (NA, EMEA, APAC,
LATAM), Tier__c (Tier 1-3), Do_Not_Route__c (about 3% true).

Opportunities (006): Name, AccountId, OwnerId, Type (stock values; an account's first
won deal is "New Customer", later ones "Existing Customer - ..."; about 15% blank),
StageName (stock stages; IsClosed/IsWon derived), Amount (a few null), Probability,
CloseDate (past two years for closed deals, next six months for open ones).

Contacts (003) and Tasks (00T): see seed_related.py (opt-in counts, default none).

Every record has Id, IsDeleted, CreatedDate, LastModifiedDate and SystemModstamp;
stamps are whole seconds in the past, so some records share a SystemModstamp.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from roleSync.emulators.names import FIRST_NAMES, LAST_NAMES
from roleSync.emulators.salesforce.schema import STAGES, Value
from roleSync.emulators.salesforce.seed_related import (
    base_record,
    seed_contacts,
    seed_tasks,
    stamp,
)
from roleSync.emulators.salesforce.store import Record, SalesforceStore

FIRST = [*FIRST_NAMES, "Victor", "Wen", "Xavier", "Yara", "Zoe", "Aiden", "Bea", "Cole", "Dana"]
LAST = [*LAST_NAMES, "O'Reilly", "Patel", "Quist", "Rossi", "Schmidt", "Tanaka", "Usman",
        "Vargas", "Weber", "Xu", "Yilmaz", "Zimmer", "D'Angelo", "Okafor"]  # fmt: skip
COMPANY_WORDS = [
    "Acme",
    "Apex",
    "Blue",
    "Bright",
    "Cedar",
    "Delta",
    "Echo",
    "Falcon",
    "Granite",
    "Harbor",
    "Iron",
    "Juniper",
    "Keystone",
    "Lumen",
    "Maple",
    "Nova",
    "Orbit",
    "Pioneer",
    "Quartz",
    "River",
    "Summit",
    "Titan",
    "Union",
    "Vertex",
    "Willow",
    "Zenith",
]
COMPANY_SUFFIXES = [
    "Systems",
    "Logistics",
    "Health",
    "Foods",
    "Analytics",
    "Capital",
    "Robotics",
    "Energy",
    "Media",
    "Labs",
    "Freight",
    "Retail",
    "Software",
    "Partners",
    "Industries",
]
INDUSTRIES = [
    "Technology",
    "Finance",
    "Healthcare",
    "Manufacturing",
    "Retail",
    "Education",
    "Energy",
    "Media",
    "Transportation",
    "Consulting",
]
REGIONS = (("NA", 45, ("United States", "Canada")), ("EMEA", 30, ("Germany", "France",
    "United Kingdom", "Netherlands")), ("APAC", 15, ("Japan", "Australia", "Singapore")),
    ("LATAM", 10, ("Brazil", "Mexico")))  # fmt: skip
HUNTER_TITLES = ("Account Executive", "Senior Account Executive", "Business Development Rep")
FARMER_TITLES = ("Account Manager", "Senior Account Manager", "Customer Success Manager")
OPEN_STAGES = tuple(stage for stage, (closed, _) in STAGES.items() if not closed)
EXISTING_TYPES = (
    ("Existing Customer - Upgrade", 6),
    ("Existing Customer - Replacement", 3),
    ("Existing Customer - Downgrade", 1),
)


@dataclass(slots=True)
class _People:
    hunters: list[str]
    farmers: list[str]
    inactive: list[str]
    hunter_ids: set[str]


def seed_org(
    store: SalesforceStore,
    *,
    users: int,
    accounts: int,
    opportunities: int,
    seed: int = 1,
    as_of: date | None = None,
    contacts: int = 0,
    tasks: int = 0,
    inactive_share: float = 0.1,
) -> None:
    """Add a sales org of the given size to `store` (existing records are kept)."""
    if users < 1 and (accounts or opportunities):
        raise ValueError("accounts and opportunities need at least one user to own them")
    if accounts < 1 and (opportunities or contacts or tasks):
        raise ValueError("opportunities, contacts and tasks need at least one account")
    if not 0 <= inactive_share < 1:
        raise ValueError("inactive_share must be at least 0 and less than 1")
    now = store.clock.peek()
    day = as_of or now.date()
    # Stamps are whole seconds before `now` so later edits are always newer.
    latest = min(now, datetime.combine(day, time(23, 59, 59), UTC))
    rng = random.Random(seed)
    people = _seed_users(store, rng, users, latest, inactive_share)
    owners = _seed_accounts(store, rng, accounts, people, latest)
    _seed_opportunities(store, rng, opportunities, owners, people, day, latest)
    # A generator of their own: asking for contacts or tasks leaves the rest unchanged.
    related = random.Random(f"related-{seed}")
    made = [(account_id, owner) for account_id, owner, _ in owners]
    active = people.hunters + people.farmers
    contact_ids = seed_contacts(store, related, contacts, made, active, people.inactive, latest)
    seed_tasks(store, related, tasks, made, contact_ids, people.inactive, day, latest)


def _seed_users(
    store: SalesforceStore,
    rng: random.Random,
    count: int,
    latest: datetime,
    inactive_share: float,
) -> _People:
    people = _People([], [], [], set())
    definition = store.sobject("User")
    manager: str | None = None
    for number in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        hunter = rng.random() < 0.5
        title = (
            "VP of Sales" if number == 0 else rng.choice(HUNTER_TITLES if hunter else FARMER_TITLES)
        )
        active = number == 0 or rng.random() >= inactive_share
        created = stamp(rng, latest, rng.uniform(200, 2000))
        values = base_record(store, "User", created, stamp(rng, latest, rng.uniform(0, 200)))
        handle = f"{first}.{last}{number}".lower().replace("'", "")
        values.update(
            Username=f"{handle}@example.com.emu",
            FirstName=first,
            LastName=last,
            Name=f"{first} {last}",
            Email=f"{handle}@example.com",
            Title=title,
            Department="Sales",
            IsActive=active,
            ManagerId=manager,
        )
        store.insert_trusted(definition, values)
        user_id = str(values["Id"])
        manager = manager or user_id
        if not active:
            people.inactive.append(user_id)
        elif hunter or number == 0:
            people.hunters.append(user_id)
            people.hunter_ids.add(user_id)
        else:
            people.farmers.append(user_id)
    # An org always has someone on each side, so every deal has a plausible owner.
    people.hunters = people.hunters or people.farmers or people.inactive
    people.farmers = people.farmers or people.hunters
    return people


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o for o, _ in options], [w for _, w in options])[0]


def _seed_accounts(
    store: SalesforceStore, rng: random.Random, count: int, people: _People, latest: datetime
) -> list[tuple[str, str, bool]]:
    """Returns (Id, OwnerId, is customer) per account, for the opportunities."""
    definition = store.sobject("Account")
    made: list[tuple[str, str, bool]] = []
    for number in range(count):
        kind = _weighted(
            rng, (("Prospect", 40), ("Customer - Direct", 45), ("Customer - Channel", 15))
        )
        customer = kind != "Prospect"
        roll = rng.random()
        if people.inactive and roll < 0.03:
            owner = rng.choice(people.inactive)
        elif customer and roll < 0.7:
            owner = rng.choice(people.farmers)
        else:
            owner = rng.choice(people.hunters)
        revenue = round(math.exp(rng.uniform(math.log(5e5), math.log(5e9))), -3)
        segment = "Enterprise" if revenue >= 1e8 else "Mid-Market" if revenue >= 1e7 else "SMB"
        region, _, countries = rng.choices(REGIONS, [r[1] for r in REGIONS])[0]
        tier = {"Enterprise": "Tier 1", "Mid-Market": "Tier 2"}.get(segment, "Tier 3")
        if rng.random() < 0.5:
            name = f"{rng.choice(COMPANY_WORDS)} {rng.choice(COMPANY_SUFFIXES)}"
        else:
            name = f"{rng.choice(LAST)} {rng.choice(COMPANY_SUFFIXES)}"
        created = stamp(rng, latest, rng.uniform(30, 1500))
        modified = stamp(rng, latest, rng.uniform(0, min(30.0, (latest - created).days)))
        values = base_record(store, "Account", created, modified)
        values.update(
            Name=f"{name} {number + 1}",
            OwnerId=owner,
            Type=kind,
            Industry=rng.choice(INDUSTRIES),
            AnnualRevenue=revenue,
            BillingCountry=rng.choice(countries),
            Segment__c=None if rng.random() < 0.02 else segment,
            Region__c=region,
            Tier__c=tier,
            Do_Not_Route__c=rng.random() < 0.03,
        )
        store.insert_trusted(definition, values)
        made.append((str(values["Id"]), owner, customer))
    return made


def _seed_opportunities(
    store: SalesforceStore,
    rng: random.Random,
    count: int,
    accounts: list[tuple[str, str, bool]],
    people: _People,
    day: date,
    latest: datetime,
) -> None:
    definition = store.sobject("Opportunity")
    customers = [a for a in accounts if a[2]]
    drafts: list[Record] = []
    for number in range(count):
        account_id, account_owner, customer = (
            rng.choice(customers) if customers and rng.random() < 0.7 else rng.choice(accounts)
        )
        if customer:
            stage = _weighted(rng, (("Closed Won", 55), ("Closed Lost", 20), ("open", 25)))
        else:
            stage = _weighted(rng, (("Closed Lost", 40), ("open", 60)))
        if stage == "open":
            stage = rng.choice(OPEN_STAGES)
            close = day + timedelta(days=rng.randint(1, 180))
            created = stamp(rng, latest, rng.uniform(1, 200))
        else:
            close = day - timedelta(days=rng.randint(0, 730))
            created = stamp(rng, latest, (day - close).days + rng.uniform(14, 240))
        modified = stamp(rng, latest, rng.uniform(0, max(0.0, (latest - created).days)))
        values = base_record(store, "Opportunity", created, modified)
        closed, won = STAGES[stage]
        values.update(
            AccountId=account_id,
            OwnerId=account_owner,
            StageName=stage,
            IsClosed=closed,
            IsWon=won,
            Amount=None if rng.random() < 0.04 else round(math.exp(rng.uniform(7.6, 12.9)), -2),
            Probability=100.0 if won else 0.0 if closed else float(rng.randrange(10, 91, 10)),
            CloseDate=close,
        )
        values["Name"] = f"Opportunity {number + 1}"
        drafts.append(values)
    _assign_types(rng, drafts, people)
    for values in drafts:
        store.insert_trusted(definition, values)


def _assign_types(rng: random.Random, drafts: list[Record], people: _People) -> None:
    """Deal types and owners in account order: first win new business, then existing."""

    def order(values: Record) -> tuple[str, date]:
        close = values["CloseDate"]
        return (str(values["AccountId"]), close if isinstance(close, date) else date.max)

    seen_win: set[str] = set()
    for values in sorted(drafts, key=order):
        account_id = str(values["AccountId"])
        new_business = account_id not in seen_win
        if values["IsWon"]:
            seen_win.add(account_id)
        kind: Value = "New Customer" if new_business else _weighted(rng, EXISTING_TYPES)
        values["Type"] = None if rng.random() < 0.15 else kind
        owner = str(values["OwnerId"])
        if rng.random() < 0.03 and people.inactive:
            values["OwnerId"] = rng.choice(people.inactive)
        elif new_business and owner not in people.hunter_ids:
            values["OwnerId"] = rng.choice(people.hunters)
        elif not new_business and owner in people.hunter_ids:
            values["OwnerId"] = rng.choice(people.farmers)

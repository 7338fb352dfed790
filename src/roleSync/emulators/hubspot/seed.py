"""A realistic, deterministic portal: the same seed and day give the same records.

Owners: every tenth (`archived_every`) is archived (the person left; `userId` null,
records may still point at it). Each owner is a hunter, a farmer or mixed, and sells
like one: hunters win first deals (`newbusiness`), farmers work existing customers
(`existingbusiness`). Every owner has a record in the users object
(`hs_internal_user_id` = the owner's `userIdIncludingInactive`).

Companies: name (some with apostrophes and ampersands), domain, industry, country,
annualrevenue, lifecyclestage (`customer` once a deal is won, else lead ... opportunity),
hubspot_owner_id (a farmer for most customers won long ago, else a hunter; about 2%
archived owners, 4% unowned), and the custom routing properties segment, region, tier,
do_not_route (about 3% "true").

Deals: dealname, amount (about 2% blank), pipeline `default`, dealstage (closed won
about 40%, closed lost 28%, open the rest), closedate, createdate, dealtype (a company's
first won deal `newbusiness`, later ones `existingbusiness`, about 15% blank),
hubspot_owner_id; associated with one company (about 1% with none).

Stamps are whole seconds before the start of `as_of`'s day; about 10% of records share
one of a few bulk-import stamps, so ties on hs_lastmodifieddate are common.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from roleSync.emulators.hubspot.schema import DEAL_STAGES
from roleSync.emulators.hubspot.seed_related import seed_related
from roleSync.emulators.hubspot.store import HubSpotStore, Owner, Properties
from roleSync.emulators.hubspot.wire import iso_ms, to_ms
from roleSync.emulators.names import FIRST_NAMES, LAST_NAMES

FIRST = (*FIRST_NAMES, "Wen")
LAST = (*LAST_NAMES, "O'Brien", "Patel", "Rossi")
BRANDS = ("Acme", "Globex", "Initech", "Umbrella", "Hooli", "Vandelay", "Wonka", "Tyrell",
          "Cyberdyne", "Aperture", "O'Reilly", "Sterling & Cooper", "Nakatomi", "Oscorp",
          "Soylent", "Dunder", "Massive", "Stark", "Wayne", "Gringotts")  # fmt: skip
TRADES = ("Labs", "Systems", "Foods", "Logistics", "Health", "Capital", "Energy", "Media",
          "Robotics", "Analytics", "Partners", "Retail")  # fmt: skip
SUFFIXES = ("Inc", "GmbH", "Ltd", "LLC", "SA", "KK", "BV", "Pty")
INDUSTRIES = ("COMPUTER_SOFTWARE", "FINANCIAL_SERVICES", "HOSPITAL_HEALTH_CARE", "RETAIL",
              "LOGISTICS_AND_SUPPLY_CHAIN", "MARKETING_AND_ADVERTISING", "UTILITIES")  # fmt: skip
REGIONS = (("NA", 45), ("EMEA", 30), ("APAC", 15), ("LATAM", 10))
COUNTRIES = {
    "NA": ("United States", "Canada"),
    "EMEA": ("Germany", "France", "United Kingdom"),
    "APAC": ("Japan", "Australia", "Singapore"),
    "LATAM": ("Brazil", "Mexico"),
}
SEGMENTS = (("Enterprise", 15), ("Mid-Market", 35), ("SMB", 45), ("", 5))
AMOUNT_BASE = {"Enterprise": 90_000, "Mid-Market": 25_000, "SMB": 6_000, "": 10_000}
ROLES = ("hunter", "farmer", "hunter", "farmer", "mixed", "hunter", "farmer", "hunter",
         "farmer", "farmer")  # fmt: skip
TITLES = {"hunter": "Account Executive", "farmer": "Account Manager", "mixed": "Sales Manager"}
DAY = timedelta(days=1)


@dataclass
class _Portal:
    rng: random.Random
    latest: datetime
    hunters: list[str] = field(default_factory=list)
    farmers: list[str] = field(default_factory=list)
    archived: list[str] = field(default_factory=list)
    imports: list[int] = field(default_factory=list)

    def stamp(self, days_ago: float) -> int:
        # Whole seconds, as most HubSpot stamps that come from the UI or imports.
        moment = self.latest - timedelta(seconds=int(days_ago * 86400))
        return to_ms(moment) // 1000 * 1000

    def modified(self, created_ms: int) -> int:
        """A later modification stamp; sometimes a shared bulk-import stamp (a tie)."""
        later = [s for s in self.imports if s >= created_ms]
        if later and self.rng.random() < 0.10:
            return self.rng.choice(later)
        span = max(0, to_ms(self.latest) - 1000 - created_ms)
        return created_ms + self.rng.randint(0, span // 1000) * 1000

    def pick(self, pool: list[str], key: int) -> str | None:
        return pool[key % len(pool)] if pool else None


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([o[0] for o in options], weights=[o[1] for o in options])[0]


def seed_portal(
    store: HubSpotStore,
    *,
    owners: int,
    companies: int,
    deals: int,
    seed: int = 1,
    as_of: datetime | None = None,
    contacts: int = 0,
    tasks: int = 0,
    archived_every: int = 10,
) -> None:
    """Add a portal of the given size; contacts and tasks: see seed_related.py."""
    if min(owners, companies, deals, contacts, tasks, archived_every) < 0:
        raise ValueError("owners, companies, deals, contacts, tasks must not be negative")
    day = (as_of or datetime.now(UTC)).astimezone(UTC)
    latest = datetime(day.year, day.month, day.day, tzinfo=UTC)
    portal = _Portal(random.Random(seed), latest)
    portal.imports = sorted(portal.stamp(portal.rng.uniform(1, 700)) for _ in range(12))
    with store.lock:
        _seed_owners(store, portal, owners, archived_every)
        company_ids = [store.new_id("companies") for _ in range(companies)]
        drafts = [_company(portal, i) for i in range(companies)]
        created_at = [portal.stamp(portal.rng.uniform(60, 1100)) for _ in range(companies)]
        won = _seed_deals(store, portal, company_ids, drafts, deals)
        for index, (record_id, values) in enumerate(zip(company_ids, drafts, strict=True)):
            _finish_company(portal, index, values, won.get(record_id))
            created = created_at[index]
            store.insert(
                "companies", values, created_ms=created, updated_ms=portal.modified(created),
                record_id=record_id,
            )  # fmt: skip
        # A generator of their own: asking for contacts or tasks leaves the rest unchanged.
        seed_related(
            store, random.Random(f"related-{seed}"), contacts=contacts, tasks=tasks,
            active=sorted({*portal.hunters, *portal.farmers}), archived=portal.archived,
            latest=latest,
        )  # fmt: skip


def _seed_owners(store: HubSpotStore, portal: _Portal, count: int, archived_every: int) -> None:
    rng = portal.rng
    for i in range(count):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7 + i // len(FIRST)) % len(LAST)]
        role = ROLES[i % len(ROLES)] if count > 1 else "mixed"
        owner_id = str(41_000_001 + i * 17)
        user_id = 9_100_001 + i * 3
        region = REGIONS[i % len(REGIONS)][0]
        created = portal.stamp(rng.uniform(400, 1500))
        email = f"{first}.{last}{'' if i < len(FIRST) else i}@example.com"
        email = email.lower().replace("'", "")
        # Every tenth owner (by default) left the company: archived, but still named on
        # old records. 0: nobody left.
        archived = archived_every > 0 and i % archived_every == archived_every - 1
        teams = ((str(700 + i % len(REGIONS)), f"{region} Sales"),)
        store.add_owner(
            Owner(owner_id, email, first, last, user_id, archived, teams, created,
                  portal.modified(created))
        )  # fmt: skip
        store.insert(
            "users",
            {"hs_internal_user_id": str(user_id), "hs_email": email, "hs_given_name": first,
             "hs_family_name": last, "hs_job_title": TITLES[role]},
            created_ms=created, updated_ms=portal.modified(created),
        )  # fmt: skip
        if archived:
            portal.archived.append(owner_id)
            continue
        if role in {"hunter", "mixed"}:
            portal.hunters.append(owner_id)
        if role in {"farmer", "mixed"}:
            portal.farmers.append(owner_id)


def _company(portal: _Portal, index: int) -> Properties:
    rng = portal.rng
    brand, trade = rng.choice(BRANDS), rng.choice(TRADES)
    name = f"{brand} {trade} {rng.choice(SUFFIXES)}"
    slug = "".join(c for c in f"{brand}{trade}".lower() if c.isalnum())
    region = _weighted(rng, REGIONS)
    segment = _weighted(rng, SEGMENTS)
    return {
        "name": name,
        "domain": f"{slug}-{index + 1}.example.com",
        "industry": rng.choice(INDUSTRIES),
        "country": rng.choice(COUNTRIES[region]),
        "annualrevenue": str(int(AMOUNT_BASE[segment] * rng.uniform(50, 400))),
        "segment": segment or None,
        "region": region,
        "tier": f"Tier {rng.choice((1, 2, 2, 3, 3, 3))}",
        "do_not_route": "true" if rng.random() < 0.03 else "false",
    }


def _seed_deals(
    store: HubSpotStore,
    portal: _Portal,
    company_ids: list[str],
    drafts: list[Properties],
    count: int,
) -> dict[str, int]:
    """Deals, their types and owners; returns each company's first won close (epoch ms)."""
    rng = portal.rng
    # About 15% of companies never get a deal; enterprises get more than their share.
    pool = [
        i
        for i, draft in enumerate(drafts)
        if i % 7 != 3
        for _ in range(3 if draft["segment"] == "Enterprise" else 1)
    ] or list(range(len(drafts)))
    rows: list[tuple[int | None, Properties, int]] = []
    for j in range(count):
        company = rng.choice(pool) if drafts and rng.random() >= 0.01 else None
        segment = (drafts[company]["segment"] or "") if company is not None else ""
        roll = rng.random()
        stage = (
            "closedwon" if roll < 0.40 else "closedlost" if roll < 0.68 else
            rng.choice(DEAL_STAGES[:5])
        )  # fmt: skip
        if stage.startswith("closed"):
            close = portal.stamp(rng.uniform(1, 730))
            created = close - rng.randint(7, 200) * 86_400_000
        else:
            close = to_ms(portal.latest + DAY * rng.uniform(5, 180)) // 1000 * 1000
            created = portal.stamp(rng.uniform(1, 200))
        amount = AMOUNT_BASE[segment] * rng.lognormvariate(0, 0.6)
        name = f"Deal {j + 1}" if company is None else f"{drafts[company]['name']} - {j + 1}"
        values: Properties = {
            "dealname": name,
            "amount": None if rng.random() < 0.02 else f"{amount:.2f}",
            "pipeline": "default",
            "dealstage": stage,
            "closedate": iso_ms(close),
        }
        rows.append((company, values, created))
    first_won = _assign_types(portal, rows)
    for company, values, created in rows:
        updated = max(created, min(portal.modified(created), to_ms(portal.latest) - 1000))
        deal_id = store.insert("deals", values, created_ms=created, updated_ms=updated)
        if company is not None:
            store.associate(company_ids[company], deal_id)
    return {company_ids[c]: close for c, close in first_won.items()}


def _assign_types(
    portal: _Portal, rows: list[tuple[int | None, Properties, int]]
) -> dict[int, int]:
    """dealtype and owner per deal, following each company's history."""
    rng = portal.rng
    first_won: dict[int, int] = {}
    for company, values, _ in rows:
        if company is not None and values["dealstage"] == "closedwon":
            close = _close_ms(values)
            first_won[company] = min(first_won.get(company, close), close)
    for company, values, created in rows:
        won = first_won.get(company) if company is not None else None
        is_first = won is not None and _close_ms(values) == won
        # Later won deals are existing business; so is anything opened after the first win.
        later_win = (
            values["dealstage"] == "closedwon" and won is not None and _close_ms(values) > won
        )
        existing = won is not None and not is_first and (later_win or created >= won)
        kind = "existingbusiness" if existing else "newbusiness"
        values["dealtype"] = None if rng.random() < 0.15 else kind
        key = company if company is not None else rng.randrange(1000)
        pool = portal.farmers if existing else portal.hunters
        owner = portal.pick(pool, key * 31 + rng.randrange(3))
        if portal.archived and rng.random() < 0.03:
            owner = rng.choice(portal.archived)
        values["hubspot_owner_id"] = owner
    return first_won


def _close_ms(values: Properties) -> int:
    text = values["closedate"] or ""
    return to_ms(datetime.fromisoformat(text.replace("Z", "+00:00")))


def _finish_company(portal: _Portal, index: int, values: Properties, first_won: int | None) -> None:
    rng = portal.rng
    if first_won is not None:
        values["lifecyclestage"] = "customer"
        handed_off = first_won < to_ms(portal.latest - 90 * DAY) and rng.random() < 0.7
        owner = portal.pick(portal.farmers if handed_off else portal.hunters, index)
    else:
        values["lifecyclestage"] = rng.choice(
            ("lead", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity")
        )
        owner = portal.pick(portal.hunters, index)
    roll = rng.random()
    if roll < 0.04:
        owner = None
    elif roll < 0.06 and portal.archived:
        owner = rng.choice(portal.archived)
    values["hubspot_owner_id"] = owner

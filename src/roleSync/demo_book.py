"""A seeded, synthetic book for `rolesync demo`, the tests and the benchmarks.

The book is written to give the shipped rules (rules/roles.yaml, rules/routing.yaml)
something to say:

* titles do not tell roles: an "Account Executive" who lives off renewals and upsell
  (a farmer by the numbers) and an "Account Manager" who mostly closes new logos
  (a hunter);
* hunters still own customers they closed weeks or months ago (handoffs due), some
  closed inside the 14-day onboarding delay (not due yet), a few of them marked
  do-not-route (locked skips);
* a departed hunter still owns customers (orphans); a VP Sales owns a handful of
  accounts and matches no rule;
* farmers own most customers, one of them a few accounts short of the 400 cap.

Everything comes from one `random.Random(seed)` and is dated relative to `as_of`:
the same seed and date give the same book, whatever the clock says.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from roleSync.model import Account, Deal, DealKind, FieldValue, Owner

__all__ = ["HISTORY_DAYS", "generate_demo_book"]

HISTORY_DAYS = 730  # deals are created in the two years up to as_of
LOCKED_ACCOUNTS = 36
_LOCKED_DUE, _LOCKED_PENDING = 7, 1  # of those, hunter-owned customers: skips in the plan
BLANK_KIND_SHARE = 0.105  # CRM users leave the deal type empty this often
NO_AMOUNT_SHARE = 0.004

_OPEN_STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation")
_SEGMENTS = {"SMB": 55, "Mid-Market": 30, "Enterprise": 15}
_REGIONS = {"NA": 45, "EMEA": 30, "APAC": 15, "LATAM": 10}
_TIERS = ("Gold", "Silver", "Bronze")
_TIER_WEIGHTS = {"Enterprise": (60, 30, 10), "Mid-Market": (25, 50, 25), "SMB": (5, 35, 60)}
# First-year contract value: median and spread, per segment.
_ACV = {"Enterprise": (150_000.0, 0.55), "Mid-Market": (35_000.0, 0.5), "SMB": (7_000.0, 0.5)}
_NEW_CYCLE_DAYS = {"Enterprise": (60, 240), "Mid-Market": (30, 120), "SMB": (10, 60)}
_EMPLOYEES = {"Enterprise": (2_000, 80_000), "Mid-Market": (200, 1_999), "SMB": (5, 199)}
# Chance of an expansion opportunity in each quarter of a customer's life.
_EXPANSION_PER_QUARTER = {"Enterprise": 0.95, "Mid-Market": 0.9, "SMB": 0.7}
_LEAD_SOURCES = {"Inbound": 35, "Outbound": 30, "Partner": 20, "Event": 15}

_INDUSTRIES = {
    "Software": ("Software", "Systems", "Labs", "Technologies"),
    "Manufacturing": ("Manufacturing", "Industries", "Works"),
    "Healthcare": ("Health", "Medical", "Care"),
    "Financial Services": ("Capital", "Financial", "Partners"),
    "Retail": ("Retail", "Stores", "Goods"),
    "Logistics": ("Logistics", "Freight", "Shipping"),
    "Energy": ("Energy", "Power", "Renewables"),
    "Education": ("Learning", "Academy", "Education"),
    "Media": ("Media", "Studios", "Publishing"),
    "Construction": ("Construction", "Builders", "Engineering"),
    "Hospitality": ("Hotels", "Hospitality", "Travel"),
    "Food & Agriculture": ("Farms", "Foods", "Agritech"),
}
# Company names: head + tail + an industry word + a legal form of the region.
# fmt: off
_NAME_HEADS = (
    "North", "South", "Blue", "Red", "Silver", "Golden", "Iron", "Cedar", "Oak", "Pine",
    "Maple", "River", "Lake", "Stone", "Bright", "Clear", "Summit", "Harbor", "Prairie",
    "Crystal", "Evergreen", "Falcon", "Granite", "Horizon", "Lantern", "Meadow", "Orchid",
    "Pioneer", "Quarry", "Sterling",
)
_NAME_TAILS = (
    "ridge", "field", "point", "gate", "wood", "brook", "view", "stone", "wave", "line",
    "path", "peak", "haven", "port", "vale", "crest", "bridge", "well", "mark", "side",
)
# fmt: on
_LEGAL_FORMS = {
    "NA": ("Inc.", "LLC", "Corp."),
    "EMEA": ("Ltd", "GmbH", "B.V.", "SAS", "AB"),
    "APAC": ("Pty Ltd", "Pte. Ltd.", "K.K."),
    "LATAM": ("S.A.", "Ltda.", "S.A. de C.V."),
}


@dataclass(frozen=True, slots=True)
class _Persona:
    """One owner and the shape of the book they hold now."""

    id: str
    name: str
    title: str
    prospects: int = 0
    customers: int = 0  # customers owned now whose first win is older than the handoff delay
    pending: int = 0  # customers owned now, first win inside the 14-day delay
    since: tuple[int, int] = (20, 700)  # first wins of `customers`, in days before as_of
    farmer: bool = False  # works the customers; their first deals were closed by hunters
    hunt_weight: float = 0.0  # share of the farmers' customers this hunter originally closed
    self_sourced: float = 0.0  # farmers: chance they closed a customer's first deal themselves
    works_customers: bool = True  # renewals and expansions on the customers owned
    departed: int | None = None  # left the company this many days before as_of

    def last_day(self, as_of: date) -> date:
        """Last day this owner can have created a deal."""
        return as_of - timedelta(days=self.departed) if self.departed else as_of


# Hunters closed the customers they still own in the last eight months.
_HUNTER_SINCE = (15, 240)
# fmt: off
_PERSONAS = (
    # Manages the team, keeps a few strategic logos: too few wins for any rule.
    _Persona("u-01", "Margaret Okafor", "VP Sales", prospects=4, customers=2, since=(60, 300),
             works_customers=False),
    _Persona("u-02", "Daniel Reyes", "Account Executive", prospects=120, customers=22, pending=5,
             hunt_weight=1.0, since=_HUNTER_SINCE),
    _Persona("u-03", "Sofia Lindqvist", "Account Executive", prospects=115, customers=20,
             pending=4, hunt_weight=1.0, since=_HUNTER_SINCE),
    _Persona("u-04", "Kenji Watanabe", "Sales Development Rep", prospects=150, customers=12,
             pending=2, hunt_weight=0.5, since=_HUNTER_SINCE),
    _Persona("u-05", "Aisha Rahman", "New Business Rep", prospects=110, customers=18, pending=4,
             hunt_weight=0.9, since=_HUNTER_SINCE),
    # Titled for customers, closes new logos and keeps them: the rules see a hunter.
    _Persona("u-06", "Tom Brennan", "Account Manager", prospects=60, customers=36, pending=3,
             since=(15, 450), hunt_weight=0.7),
    # Left four months ago; the customers they closed were never reassigned.
    _Persona("u-07", "Lucas Moreau", "Account Executive", prospects=14, customers=18,
             since=(125, 320), hunt_weight=1.0, departed=120),
    # Farmers own most customers; Priya sits a few accounts under the routing cap (400).
    _Persona("u-08", "Priya Nair", "Account Manager", customers=396, farmer=True),
    _Persona("u-09", "Grace Kim", "Account Manager", customers=230, farmer=True),
    _Persona("u-10", "Oliver Bennett", "Customer Success Manager", customers=205, farmer=True),
    _Persona("u-11", "Fatima Haddad", "Customer Success Manager", customers=180, farmer=True),
    _Persona("u-12", "Mateo Silva", "Customer Success Manager", customers=160, farmer=True),
    # Titled for new logos, lives off renewals and upsell: the rules see a farmer.
    _Persona("u-13", "Hannah Schulz", "Account Executive", customers=115, farmer=True,
             self_sourced=0.15),
)
# fmt: on


@dataclass(frozen=True, slots=True)
class _Slot:
    """One account to generate: who owns it and when it was first won (None: a prospect)."""

    persona: _Persona
    first_win: date | None
    pending: bool = False


class _Deals:
    """The deals of one account as the CRM shows them on as_of."""

    def __init__(
        self, rng: random.Random, as_of: date, account_id: str, owner_id: str, acv: float
    ) -> None:
        self.rng, self.as_of, self.account_id, self.owner_id = rng, as_of, account_id, owner_id
        self.acv = acv  # the account's first-year contract value: every amount scales from it
        self.deals: list[Deal] = []

    def add(
        self,
        kind: DealKind,
        created: date,
        close: date,
        scale: tuple[float, float],
        *,
        won: bool,
        by: str | None = None,
    ) -> None:
        """A deal of `acv` times a draw from `scale`, owned by `by` or the account owner.

        Open, `won` moot, while its close date is ahead (the close date then is the
        expected one)."""
        closed = close <= self.as_of
        stage = (
            ("Closed Won" if won else "Closed Lost") if closed else self.rng.choice(_OPEN_STAGES)
        )
        amount = float(max(100, round(self.acv * self.rng.uniform(*scale), -2)))
        # Blank types are what the Book's inference is for; a blank contraction would be
        # inferred as an expansion and misstate revenue, so those always carry their type.
        blank = kind is not DealKind.CONTRACTION and self.rng.random() < BLANK_KIND_SHARE
        shown = None if blank else kind
        value = None if self.rng.random() < NO_AMOUNT_SHARE else amount
        owner, account, is_won = by or self.owner_id, self.account_id, closed and won
        deal = Deal("", account, owner, shown, stage, closed, is_won, value, created, close)
        self.deals.append(deal)


class _Generator:
    """Draws the book from one seeded Random, in a fixed order."""

    def __init__(self, as_of: date, seed: int) -> None:
        self.rng = random.Random(seed)
        self.as_of = as_of
        self.start = as_of - timedelta(days=HISTORY_DAYS)
        self.hunters = [p for p in _PERSONAS if p.hunt_weight > 0]
        self.names: set[str] = set()

    def _days_ago(self, low: int, high: int) -> date:
        return self.as_of - timedelta(days=self.rng.randint(low, high))

    def _pick(self, weights: dict[str, int]) -> str:
        return self.rng.choices(list(weights), weights=list(weights.values()))[0]

    # --- accounts -------------------------------------------------------------

    def slots(self) -> list[_Slot]:
        slots: list[_Slot] = []
        for p in _PERSONAS:
            slots += [_Slot(p, None) for _ in range(p.prospects)]
            slots += [_Slot(p, self._days_ago(*p.since)) for _ in range(p.customers)]
            # Closed inside the delay (0-12 days ago, clear of the day-14 boundary).
            slots += [_Slot(p, self._days_ago(0, 12), pending=True) for _ in range(p.pending)]
        # Interleave owners so account ids say nothing about who owns what.
        self.rng.shuffle(slots)
        return slots

    def locked(self, slots: list[_Slot]) -> set[int]:
        """Indexes of do-not-route accounts: some hunter-owned customers, the rest anywhere."""

        def hunted(s: _Slot) -> bool:
            return s.first_win is not None and s.persona.hunt_weight > 0

        due = [i for i, s in enumerate(slots) if hunted(s) and not s.pending]
        pending = [i for i, s in enumerate(slots) if hunted(s) and s.pending]
        chosen = set(self.rng.sample(due, _LOCKED_DUE) + self.rng.sample(pending, _LOCKED_PENDING))
        rest = [i for i in range(len(slots)) if i not in chosen]
        return chosen | set(self.rng.sample(rest, LOCKED_ACCOUNTS - len(chosen)))

    def _draft(self, account_id: str, owner_id: str) -> Account:
        """The company: name, segment, region, tier and the profile's extra fields."""
        segment, region = self._pick(_SEGMENTS), self._pick(_REGIONS)
        industry = self.rng.choice(sorted(_INDUSTRIES))
        tier = self.rng.choices(_TIERS, weights=_TIER_WEIGHTS[segment])[0]
        low, high = _EMPLOYEES[segment]
        # Log-uniform: many companies near the bottom of a band, few near the top.
        employees = round(math.exp(self.rng.uniform(math.log(low), math.log(high))))
        fields: dict[str, FieldValue] = {
            "industry": industry,
            "employees": employees,
            "lead_source": self._pick(_LEAD_SOURCES),
        }
        name = self._company_name(industry, region)
        return Account(account_id, name, owner_id, "", segment, region, tier, fields)

    def _company_name(self, industry: str, region: str) -> str:
        while True:
            head, tail = self.rng.choice(_NAME_HEADS), self.rng.choice(_NAME_TAILS)
            if tail in head.lower():
                continue  # "Stonestone"
            base = f"{head}{tail} {self.rng.choice(_INDUSTRIES[industry])}"
            if base not in self.names:
                self.names.add(base)
                return f"{base} {self.rng.choice(_LEGAL_FORMS[region])}"

    def stamps(self, deals: list[Deal]) -> tuple[datetime, datetime]:
        """Created before the first deal, updated at the last activity."""
        if deals:
            first = min(d.created for d in deals)
            last = max(d.close_date if d.closed and d.close_date else d.created for d in deals)
        else:
            first = last = self._days_ago(30, 900)
        created = self._at(first - timedelta(days=self.rng.randint(1, 400)))
        if not deals:
            last = last + timedelta(days=self.rng.randint(0, (self.as_of - last).days))
        return created, max(created, self._at(last))

    def _at(self, day: date) -> datetime:
        midnight = datetime.combine(day, time(), tzinfo=UTC)
        return midnight + timedelta(seconds=self.rng.randrange(86_400))

    # --- deals ----------------------------------------------------------------

    def _deals(self, account_id: str, p: _Persona, segment: str) -> _Deals:
        median, sigma = _ACV[segment]
        acv = float(max(500, round(self.rng.lognormvariate(math.log(median), sigma), -2)))
        return _Deals(self.rng, self.as_of, account_id, p.id, acv)

    def _closer(self, p: _Persona, first_win: date) -> str:
        """Who closed a farmer's customer: a hunter employed then, now and then the farmer."""
        if self.rng.random() < p.self_sourced:
            return p.id
        hunters = [h for h in self.hunters if first_win <= h.last_day(self.as_of)]
        return self.rng.choices(hunters, weights=[h.hunt_weight for h in hunters])[0].id

    def prospect_deals(self, account_id: str, p: _Persona, segment: str) -> list[Deal]:
        """Attempts on a prospect: lost, or still open."""
        deals = self._deals(account_id, p, segment)
        span = (p.last_day(self.as_of) - self.start).days
        for _ in range(self.rng.choices((0, 1, 2, 3, 4), weights=(8, 22, 30, 22, 18))[0]):
            created = self.start + timedelta(days=self.rng.randint(0, span))
            close = created + timedelta(days=self.rng.randint(*_NEW_CYCLE_DAYS[segment]))
            deals.add(DealKind.NEW_BUSINESS, created, close, (0.5, 1.5), won=False)
        return deals.deals

    def customer_deals(
        self, account_id: str, p: _Persona, segment: str, first_win: date
    ) -> list[Deal]:
        """First a new-business win (after a lost attempt, often), then the owner's work."""
        deals = self._deals(account_id, p, segment)
        closer = self._closer(p, first_win) if p.farmer else p.id
        cycle = timedelta(days=self.rng.randint(*_NEW_CYCLE_DAYS[segment]))
        created = max(first_win - cycle, self.start)
        lost = created - timedelta(days=self.rng.randint(60, 300))
        if self.rng.random() < 0.6 and lost >= self.start:
            lost_close = lost + timedelta(days=self.rng.randint(15, 55))
            deals.add(DealKind.NEW_BUSINESS, lost, lost_close, (0.8, 1.3), won=False, by=closer)
        deals.add(DealKind.NEW_BUSINESS, created, first_win, (1.0, 1.0), won=True, by=closer)
        if p.works_customers:
            churned = self._renewals(deals, p, first_win)
            last = min(churned or self.as_of, p.last_day(self.as_of))
            self._expansions(deals, segment, first_win, last)
        return deals.deals

    def _renewals(self, deals: _Deals, p: _Persona, first_win: date) -> date | None:
        """Yearly renewals, opened about a quarter ahead; a lost one is a churn (its date)."""
        for year in (1, 2):
            due = first_win + timedelta(days=365 * year)
            created = due - timedelta(days=self.rng.randint(75, 100))
            if created > p.last_day(self.as_of):
                break
            roll = self.rng.random()
            if roll < 0.08:
                deals.add(DealKind.RENEWAL, created, due, (1.0, 1.1), won=False)
                return due if due <= self.as_of else None
            if roll < 0.14:  # renewed smaller: a downgrade
                deals.add(DealKind.CONTRACTION, created, due, (0.2, 0.5), won=True)
            else:
                deals.add(DealKind.RENEWAL, created, due, (1.0, 1.12), won=True)
        return None

    def _expansions(self, deals: _Deals, segment: str, first_win: date, last: date) -> None:
        """Upsell and cross-sell, at most one a quarter, from onboarding's end until `last`."""
        quarter = first_win + timedelta(days=45)
        while (created := quarter + timedelta(days=self.rng.randint(0, 89))) <= last:
            if self.rng.random() < _EXPANSION_PER_QUARTER[segment]:
                close = created + timedelta(days=self.rng.randint(14, 75))
                won = self.rng.random() < 0.6
                deals.add(DealKind.EXPANSION, created, close, (0.1, 0.45), won=won)
            quarter += timedelta(days=90)

    # --- assembly -------------------------------------------------------------

    def account(self, index: int, slot: _Slot, locked: bool) -> tuple[Account, list[Deal]]:
        p = slot.persona
        draft = self._draft(f"acc-{index + 1:04d}", p.id)
        if slot.first_win is None:
            deals = self.prospect_deals(draft.id, p, draft.segment)
            lifecycle = "Prospect"
        else:
            deals = self.customer_deals(draft.id, p, draft.segment, slot.first_win)
            channel = draft.fields["lead_source"] == "Partner"
            lifecycle = "Customer - Channel" if channel else "Customer - Direct"
        created, updated = self.stamps(deals)
        account = replace(
            draft, lifecycle=lifecycle, locked=locked, created=created, updated=updated
        )
        return account, deals


def _owner(p: _Persona) -> Owner:
    email = p.name.lower().replace(" ", ".") + "@example.com"
    return Owner(p.id, p.name, email, p.title, active=p.departed is None)


def generate_demo_book(
    as_of: date, seed: int = 2026
) -> tuple[list[Owner], list[Account], list[Deal]]:
    """Owners, accounts and deals of a synthetic CRM as it stands on `as_of`.

    Deterministic: the same `as_of` and `seed` give equal lists. About 2,000 accounts
    and 8,000 deals created in the two years up to `as_of`; deal ids run in creation
    order.
    """
    gen = _Generator(as_of, seed)
    slots = gen.slots()
    locked = gen.locked(slots)
    accounts: list[Account] = []
    deals: list[Deal] = []
    for index, slot in enumerate(slots):
        account, account_deals = gen.account(index, slot, index in locked)
        accounts.append(account)
        deals += account_deals
    # Stable sort: deals created on one day keep their (deterministic) generation order.
    deals.sort(key=lambda d: d.created)
    deals = [d._replace(id=f"deal-{n:05d}") for n, d in enumerate(deals, start=1)]
    return [_owner(p) for p in _PERSONAS], accounts, deals

"""The run's share of a CRM's daily request allowance."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from roleSync.adapters.resilience.errors import BudgetExhaustedError

_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")


def parse_limit_info(value: str) -> tuple[int, int] | None:
    """(used, max) of a `Sforce-Limit-Info: api-usage=USED/MAX` header value."""
    match = _USAGE.search(value)
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(slots=True)
class ApiBudget:
    """At most `share` of the daily requests that remained when the run began.

    The ceiling is fixed at the first observation (a header or /limits/); until then
    requests are allowed, so a run never pays a /limits/ call just to start. Every
    request this run sends (retries too) counts, as the CRM counts them.
    """

    share: float = 0.2
    used_by_run: int = 0
    ceiling: int | None = None
    remaining: int | None = None  # the org's remaining daily requests, last seen

    def observe(self, used: int, maximum: int) -> None:
        self.remaining = max(0, maximum - used)
        if self.ceiling is None:
            # Requests already sent this run count against the ceiling too.
            self.ceiling = math.floor(self.share * (self.remaining + self.used_by_run))

    def observe_headers(self, headers: Mapping[str, str]) -> None:
        value = next((v for k, v in headers.items() if k.lower() == "sforce-limit-info"), None)
        parsed = parse_limit_info(value) if value else None
        if parsed:
            self.observe(*parsed)

    def observe_limits(self, limits: Mapping[str, Any]) -> None:
        """From the body of Salesforce's /limits/ resource."""
        daily = limits.get("DailyApiRequests") or {}
        if "Max" in daily and "Remaining" in daily:
            self.observe(int(daily["Max"]) - int(daily["Remaining"]), int(daily["Max"]))

    @property
    def known(self) -> bool:
        return self.ceiling is not None

    @property
    def left(self) -> int | None:
        """Requests this run may still send; None while unknown."""
        if self.ceiling is None:
            return None
        left = self.ceiling - self.used_by_run
        if self.remaining is not None:
            left = min(left, self.remaining)
        return max(0, left)

    def check(self, planned: int, what: str = "the next request") -> None:
        """Raise BudgetExhaustedError if `planned` more requests would cross the ceiling."""
        left = self.left
        if left is not None and planned > left:
            raise BudgetExhaustedError(
                f"API budget: {what} needs about {planned} requests but this run may send "
                f"only {left} more (ceiling {self.ceiling} = {self.share:.0%} of the daily "
                f"requests remaining at the start; {self.used_by_run} used by this run). "
                "Nothing more was sent; run again later or raise api_budget_share."
            )

    def charge(self) -> None:
        self.used_by_run += 1
        if self.remaining is not None:
            self.remaining = max(0, self.remaining - 1)

"""The words of a pick's reason: loads as money, caps, and why nobody could take an
account. Shared by the picker and `explain`, so both say the same thing."""

from __future__ import annotations

from collections.abc import Mapping

from roleSync.rules.routes import CompiledRoute
from roleSync.rules.schema import RolePool


def money(value: float) -> str:
    return f"{value:,.0f}"


def number(value: float) -> str:
    return f"{value:g}"


def accounts_cap(max_accounts: int) -> str:
    return f"at capacity ({max_accounts} accounts)"


def revenue_cap(max_revenue: float) -> str:
    return f"at capacity (revenue {money(max_revenue)})"


def no_farmer_reason(route: CompiledRoute, pool_size: int, counts: Mapping[str, int]) -> str:
    """Why nobody can take the account: how many members each refusal kept out."""
    if not pool_size:
        return f"route {route.id}: the pool is empty"
    detail = ", ".join(f"{n} {why}" for why, n in sorted(counts.items()) if n)
    pool = route.assign.pool
    # A `{role: hunter}` pool (owner_left's prospects) has hunters, not farmers, in it.
    who = pool.role.value if isinstance(pool, RolePool) else "farmer"
    return f"route {route.id}: no eligible {who} among {pool_size} ({detail})"

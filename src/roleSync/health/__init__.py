"""Book health: findings about the data itself that gate a run.

`census` gathers counts from a book file by SQL, `evaluate` judges them against the
profile (pure), `findings` holds the results, `gate` runs it all for check, plan, sync
and import. See docs/data-quality.md.
"""

from roleSync.health.findings import BookHealth, BookHealthError, Finding, Locator, Tolerated
from roleSync.health.gate import book_health, gate, health_hook, scan

__all__ = [
    "BookHealth",
    "BookHealthError",
    "Finding",
    "Locator",
    "Tolerated",
    "book_health",
    "gate",
    "health_hook",
    "scan",
]

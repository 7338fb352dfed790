"""roleSync: CRM account ownership that follows how your people actually sell."""

__version__ = "0.1.0"

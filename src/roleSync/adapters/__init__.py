"""Adapters: the only code that talks to a CRM (or the embedded local book)."""

"""Loopback API servers that stand in for real CRMs in tests and trials.

Each emulator speaks its CRM's wire protocol closely enough that the vendor SDK
works against it unchanged, binds only to loopback addresses, and injects the
faults real orgs produce (limits, outages, dropped connections, expired sessions,
row locks) on demand, so adapters can be proven against them without an account.
"""

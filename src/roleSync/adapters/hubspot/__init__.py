"""The HubSpot adapter: hubspot-api-client with its own retries off, every call through
roleSync's resilience runner, a local mirror pulled through lists and search, and
compare-and-set batch writes."""

from roleSync.adapters.hubspot.adapter import HubSpotAdapter

__all__ = ["HubSpotAdapter"]

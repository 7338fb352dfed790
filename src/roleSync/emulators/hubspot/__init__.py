"""A loopback HubSpot portal for tests and trials (`rolesync emulate hubspot`).

    with HubSpotEmulator(HubSpotEmulatorConfig(interval_ms=1000)) as emu:
        emu.seed(owners=40, companies=2500, deals=5000, seed=1)
        client = HubSpot(access_token=emu.config.access_token, host=emu.url,
                         retry=urllib3.util.Retry(total=0))

It speaks the CRM v3 objects (contacts, companies, deals, tasks, users: list, read,
search, batch read/update, create and batch create with associations), owners,
properties, v4 association batch read and OAuth token wire contract that
hubspot-api-client 12.x uses, over plain HTTP on a loopback address, with HubSpot's
status codes, error bodies, rate-limit headers and 429s, and injects the faults
configured in `HubSpotFaults`.
"""

from roleSync.emulators.hubspot.emulator import (
    HubSpotEmulator,
    HubSpotEmulatorConfig,
    RequestLogEntry,
)
from roleSync.emulators.hubspot.faults import HubSpotFaults, load_faults
from roleSync.emulators.hubspot.schema import PropertyDef
from roleSync.emulators.hubspot.store import HubSpotStore, Owner, StoredObject
from roleSync.emulators.loopback import NotLoopbackError

__all__ = [
    "HubSpotEmulator",
    "HubSpotEmulatorConfig",
    "HubSpotFaults",
    "HubSpotStore",
    "NotLoopbackError",
    "Owner",
    "PropertyDef",
    "RequestLogEntry",
    "StoredObject",
    "load_faults",
]

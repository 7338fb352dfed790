"""A loopback Salesforce org for tests and trials (`rolesync emulate salesforce`).

    with SalesforceEmulator() as emu:
        emu.seed(users=20, accounts=500, opportunities=1500)
        session = requests.Session()
        session.verify, session.trust_env = str(emu.ca_path), False
        sf = Salesforce(instance_url=emu.url, session_id=emu.config.access_token,
                        version="62.0", session=session)

It speaks the REST, Bulk 2.0 ingest and OAuth token wire contract that
simple-salesforce uses, with Salesforce's status codes and error bodies, and
injects faults configured in `SalesforceFaults`.
"""

from roleSync.emulators.clock import Clock
from roleSync.emulators.loopback import NotLoopbackError
from roleSync.emulators.salesforce.emulator import (
    RequestLogEntry,
    SalesforceEmulator,
    SalesforceEmulatorConfig,
)
from roleSync.emulators.salesforce.faults import SalesforceFaults, load_faults
from roleSync.emulators.salesforce.schema import USER_METRIC_FIELDS, FieldType
from roleSync.emulators.salesforce.store import RecordError, SalesforceStore

__all__ = [
    "USER_METRIC_FIELDS",
    "Clock",
    "FieldType",
    "NotLoopbackError",
    "RecordError",
    "RequestLogEntry",
    "SalesforceEmulator",
    "SalesforceEmulatorConfig",
    "SalesforceFaults",
    "SalesforceStore",
    "load_faults",
]

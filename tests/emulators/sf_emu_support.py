"""Shared helpers for the Salesforce emulator tests: a real SDK client over TLS."""

from __future__ import annotations

from typing import Any

import requests
from simple_salesforce.api import Salesforce, SFType
from simple_salesforce.bulk2 import SFBulk2Handler, SFBulk2Type
from simple_salesforce.exceptions import SalesforceError

from roleSync.emulators.salesforce import SalesforceEmulator
from roleSync.emulators.salesforce.schema import Value

API_VERSION = "62.0"


def tls_session(emu: SalesforceEmulator) -> requests.Session:
    session = requests.Session()
    session.verify = str(emu.ca_path)
    # REQUESTS_CA_BUNDLE and proxies from the environment must not interfere.
    session.trust_env = False
    return session


def connect(emu: SalesforceEmulator, token: str | None = None) -> Salesforce:
    return Salesforce(
        instance_url=emu.url,
        session_id=token or emu.config.access_token,
        version=API_VERSION,
        session=tls_session(emu),
    )


def record(emu: SalesforceEmulator, sobject: str, record_id: str) -> dict[str, Value]:
    """The stored record, which the test knows exists."""
    found = emu.store.get(sobject, record_id)
    assert found is not None, f"no {sobject} {record_id}"
    return found


def error_body(exc: SalesforceError) -> list[dict[str, Any]]:
    """The parsed error array (the SDK types `content` as bytes; it holds the JSON)."""
    content: Any = exc.content
    assert isinstance(content, list), content
    return content


def error_code(exc: SalesforceError) -> str:
    return str(error_body(exc)[0]["errorCode"])


def collections_patch(
    sf: Salesforce, body: dict[str, Any], headers: dict[str, str] | None = None
) -> list[dict[str, Any]]:
    results = sf.restful("composite/sobjects", method="PATCH", json=body, headers=headers or {})
    assert isinstance(results, list)
    return results


def bulk2(sf: Salesforce, sobject: str) -> SFBulk2Type:
    handler = sf.bulk2
    assert isinstance(handler, SFBulk2Handler)
    return handler.__getattr__(sobject)


def sobject_type(sf: Salesforce, name: str) -> SFType:
    """`sf.Account` with its static type (the SDK's __getattr__ returns a union)."""
    found = getattr(sf, name)
    assert isinstance(found, SFType)
    return found

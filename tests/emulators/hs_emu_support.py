"""Shared helpers for the HubSpot emulator tests: the real SDK, with its own retries off.

hubspot-api-client ships no type information, so its imports are ignored for mypy
here, once; the tests get the SDK's objects as Any.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import urllib3
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
)
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    PublicObjectSearchRequest,
)

from hs_portal import AS_OF, relaxed, seeded
from roleSync.emulators.hubspot import HubSpotEmulator, HubSpotEmulatorConfig

__all__ = [
    "AS_OF",
    "BatchInputPublicFetchAssociationsBatchRequest",
    "BatchInputSimplePublicObjectBatchInput",
    "BatchReadInputSimplePublicObjectId",
    "PublicObjectSearchRequest",
    "body_of",
    "client",
    "relaxed",
    "running",
    "sdk",
]


@contextmanager
def running(
    config: HubSpotEmulatorConfig | None = None,
    *,
    owners: int = 10,
    companies: int = 60,
    deals: int = 150,
    seed: int = 1,
) -> Iterator[HubSpotEmulator]:
    """A started, seeded emulator; fails the test if the emulator itself broke."""
    with seeded(config, owners=owners, companies=companies, deals=deals, seed=seed) as emu:
        yield emu


def client(emu: HubSpotEmulator, token: str | None = None, *, retry: Any = None) -> Any:
    """The SDK as an adapter should build it: urllib3's own retries off (Retry(total=0))."""
    return sdk(emu.url, token or emu.config.access_token, retry=retry)


def sdk(url: str, token: str, *, retry: Any = None) -> Any:
    return HubSpot(
        access_token=token,
        host=url,
        retry=urllib3.util.Retry(total=0) if retry is None else retry,
    )


def body_of(exc: BaseException) -> dict[str, Any]:
    """The parsed error body of an SDK ApiException (the SDK leaves it as text)."""
    text = getattr(exc, "body", None)
    assert isinstance(text, str), exc
    parsed = json.loads(text)
    assert isinstance(parsed, dict)
    return parsed

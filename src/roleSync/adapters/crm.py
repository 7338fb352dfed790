"""CRM-neutral pieces the Salesforce and HubSpot adapters share outside the write loop
(`roleSync.adapters.rounds`): the adapter's mirror and lifecycle, screening a plan's
metric writes, reading a secret from the environment variable the profile names, and a
token that cannot be refreshed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Generic, Protocol, Self, TypeVar

from roleSync.adapters.base import ApplyResult
from roleSync.adapters.mirror import Mirror
from roleSync.adapters.resilience import AuthenticationError
from roleSync.errors import RoleSyncError
from roleSync.model import Book, DealWindow
from roleSync.plan import MetricWrite
from roleSync.profile import Profile


class Client(Protocol):
    @property
    def requests_sent(self) -> int: ...

    def close(self) -> None: ...


C = TypeVar("C", bound=Client)


class MirroredAdapter(Generic[C]):
    """What a CRM adapter does around its mirror: open it on first use (keyed by
    `_source`), read the Book out of it after each pull, close it with the client.
    A subclass sets `profile`, `client`, `full` and `_mirror` (None) and supplies
    `_source` and `_pull`."""

    profile: Profile
    client: C
    full: bool
    _mirror: Mirror | None

    @property
    def mirror(self) -> Mirror:
        if self._mirror is None:
            self._mirror = Mirror(self.profile.mirror_path, self.profile, self._source())
        return self._mirror

    def _source(self) -> str:
        """What the mirror's content depends on: when it changes, the next pull is full."""
        raise NotImplementedError

    def _pull(self, *, full: bool) -> None:
        """Bring the mirror up to date (and set `last_pull`)."""
        raise NotImplementedError

    @property
    def requests_sent(self) -> int:
        return self.client.requests_sent

    def pull(self, window: DealWindow | None = None) -> Book:
        self._pull(full=self.full)
        self.full = False  # a second pull in the same run only needs the changes
        return self.mirror.read_book(window)

    def close(self) -> None:
        self.client.close()
        if self._mirror is not None:
            self._mirror.close()
            self._mirror = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def accepted_metric_writes(
    writes: Sequence[MetricWrite],
    profile: Profile,
    known: Mapping[str, bool],
    result: ApplyResult,
    destination: str,
) -> dict[str, MetricWrite]:
    """The metric writes that may be sent (by owner id); the others are failed in
    `result`. `known`: the owners that exist; `destination`: what the CRM calls a
    metric's destination ("field", "property")."""
    allowed = set(profile.metrics.fields.values())
    accepted: dict[str, MetricWrite] = {}
    for write in writes:
        unknown = sorted(set(write.values) - allowed)
        if not profile.metrics.write:
            result.metrics_failed[write.owner_id] = "the profile has metrics.write: false"
        elif unknown:
            result.metrics_failed[write.owner_id] = (
                f"not a destination {destination} of this profile: " + ", ".join(unknown)
            )
        elif write.owner_id not in known:
            result.metrics_failed[write.owner_id] = "owner no longer exists"
        else:
            accepted[write.owner_id] = write
    return accepted


def env_value(env: Mapping[str, str], name: str, setting: str, error: type[RoleSyncError]) -> str:
    """The value of environment variable `name`, named by the profile's `setting`
    (e.g. "hubspot.auth.access_token_env"); `error` when it is unset or blank."""
    value = env.get(name, "").strip()
    if not value:
        raise error(f"environment variable {name} is not set (named by {setting})")
    return value


class StaticToken:
    """An access token given as is: it does not expire (as far as we know), and cannot
    be refreshed. `rejected`: what to tell the user when the CRM rejects it."""

    rejected = "the CRM rejected the access token, which cannot be refreshed"

    def __init__(self, token: str) -> None:
        self._token = token

    @property
    def access_token(self) -> str:
        return self._token

    def refresh(self) -> None:
        raise AuthenticationError(self.rejected)

    def __repr__(self) -> str:
        return "StaticToken(<redacted>)"

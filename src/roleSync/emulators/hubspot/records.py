"""The emulated portal's stored records and owners, and their JSON shapes."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from roleSync.emulators.hubspot.wire import iso_ms

Properties = dict[str, str | None]


@dataclass(slots=True)
class StoredObject:
    id: str
    properties: Properties
    created_ms: int
    updated_ms: int
    archived: bool = False
    # time.monotonic() from which the search index holds this version.
    visible_at: float = 0.0

    def as_json(self, names: Iterable[str]) -> dict[str, Any]:
        """The SDK's SimplePublicObject with the named properties (null when unset)."""
        answer: dict[str, Any] = {
            "id": self.id,
            "properties": {name: self.properties.get(name) for name in names},
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
            "archived": self.archived,
        }
        if self.archived:
            answer["archivedAt"] = iso_ms(self.updated_ms)
        return answer


@dataclass(slots=True)
class Owner:
    id: str
    email: str
    first_name: str
    last_name: str
    user_id: int
    archived: bool = False
    teams: tuple[tuple[str, str], ...] = ()  # (team id, team name); the first is primary
    created_ms: int = 0
    updated_ms: int = 0

    def as_json(self, *, archived_user_null: bool = False) -> dict[str, Any]:
        """The SDK's PublicOwner. HubSpot's spec types `userId` as an integer, while its
        guides say an archived (deactivated) owner comes back with `userId: null`:
        integer by default, null with `archived_user_null`; adapters accept both."""
        return {
            "id": self.id,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": None if self.archived and archived_user_null else self.user_id,
            "userIdIncludingInactive": self.user_id,
            "type": "PERSON",
            "teams": [
                {"id": team_id, "name": name, "primary": index == 0}
                for index, (team_id, name) in enumerate(self.teams)
            ],
            "archived": self.archived,
            "createdAt": iso_ms(self.created_ms),
            "updatedAt": iso_ms(self.updated_ms),
        }

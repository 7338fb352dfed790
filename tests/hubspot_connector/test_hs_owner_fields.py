"""Extra owner fields from HubSpot (`hubspot.owner_properties`). Owners hold no
properties, so they are read from each owner's record in the users object (matched by
`hs_internal_user_id`), as role metrics are written there: a multiple-checkboxes
property arrives as its `;` text, the list a territory `in` reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from hs_adapter_support import adapter_for, portal

from roleSync.emulators.hubspot import HubSpotEmulator
from roleSync.emulators.hubspot.schema import PropertyDef

REGIONS = PropertyDef(
    "sales_regions",
    "Sales regions",
    "enumeration",
    "checkbox",
    "userinformation",
    hubspot_defined=False,
    options=("EMEA", "AMER", "APAC", "LATAM"),
)


def user_record(emu: HubSpotEmulator, user_id: int) -> str:
    return next(
        str(u["hs_object_id"])
        for u in emu.store.all("users")
        if u.get("hs_internal_user_id") == str(user_id)
    )


@pytest.mark.parametrize("metrics", [{"write": False}, None])
def test_owner_properties_come_from_the_users_object(
    tmp_path: Path, metrics: dict[str, bool] | None
) -> None:
    with portal() as emu:
        emu.store.define_property("users", REGIONS)
        first, second, third = emu.store.owners()[:3]
        emu.store.update("users", user_record(emu, first.user_id), {"sales_regions": "EMEA;APAC"})
        emu.store.update("users", user_record(emu, second.user_id), {"sales_regions": "AMER"})
        adapter = adapter_for(
            emu, tmp_path, owner_properties={"regions": "sales_regions"}, metrics=metrics
        )
        book = adapter.pull()
        assert dict(book.owners[first.id].fields) == {"regions": "EMEA;APAC"}
        assert dict(book.owners[second.id].fields) == {"regions": "AMER"}
        assert dict(book.owners[third.id].fields) == {"regions": None}
        # the users records also give each owner its job title
        assert book.owners[first.id].title
        # owners are read in full on every pull: an edit shows on the next one
        emu.store.update("users", user_record(emu, second.user_id), {"sales_regions": "AMER;LATAM"})
        assert adapter.pull().owners[second.id].fields["regions"] == "AMER;LATAM"


def test_without_owner_properties_no_users_are_read_for_them(tmp_path: Path) -> None:
    with portal() as emu:
        emu.store.define_property("users", REGIONS)
        adapter = adapter_for(emu, tmp_path, metrics={"write": False})
        book = adapter.pull()
        assert all(dict(o.fields) == {} for o in book.owners.values())
        assert all(o.title == "" for o in book.owners.values())  # users were not read


def test_the_emulator_refuses_a_checkbox_value_that_is_no_option() -> None:
    with portal() as emu:
        emu.store.define_property("users", REGIONS)
        record = user_record(emu, emu.store.owners()[0].user_id)
        with pytest.raises(ValueError, match="not one of the allowed options"):
            emu.store.update("users", record, {"sales_regions": "EMEA;MARS"})
        emu.store.update("users", record, {"sales_regions": "EMEA;LATAM"})

"""Where a record's field sits in the CSV files of one import.

The book health gate judges the book as the import would leave it and names example
ids; a person fixing an export wants the row and column of the first one. Finding it
costs one more read of a file, so it is done only for findings (an import that fails or
warns), and only a bounded number of times per import.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from roleSync.adapters.csv_rows import Problems, header_positions, records
from roleSync.profile import Profile

# Reads of a file to locate findings, per import: each is a full pass in the worst case.
MAX_LOOKUPS = 20


class FileLocator:
    """`(rows, field, record id) -> (file, line, column)` over the files being imported,
    or None when the record is not in them (it was in the book before) or the field has
    no column. `rows` is owners, accounts or deals; `field` a key of the profile's
    import section for that entity (kind, amount, owner, ...)."""

    def __init__(self, profile: Profile, files: Mapping[str, Path]) -> None:
        self.profile = profile
        self.files = dict(files)
        self.lookups = 0

    def __call__(self, rows: str, field: str, record_id: str) -> tuple[str, int, int] | None:
        path = self.files.get(rows)
        if path is None or self.lookups >= MAX_LOOKUPS:
            return None
        section = getattr(self.profile.import_, rows)
        id_column = section.id
        column = getattr(section, field, None)
        if not isinstance(id_column, str):
            return None
        self.lookups += 1
        found = records(path, Problems(str(path)))
        header = next(found, None)
        if header is None:
            return None
        positions = header_positions(header[1])
        id_index = positions.get(id_column)
        if id_index is None:
            return None
        # A field without a column of its own (or one the file lacks): the id's cell.
        cell = positions.get(column, id_index) if isinstance(column, str) else id_index
        for line, cells in found:
            if id_index < len(cells) and cells[id_index].strip() == record_id:
                return str(path), line, cell + 1
        return None

"""One CSV file as rows of one book table: which cell feeds which column, and the rows
themselves, streamed, each checked cell by cell.

Every row becomes a list of values in `columns` order followed by its line number (the
row's rowid in the staging book, which is how a duplicate id finds its first line).
Rows with a problem are reported and not yielded.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roleSync.adapters.csv_rows import Problems, header_positions, records
from roleSync.adapters.import_values import (
    CellError,
    Dates,
    Memo,
    OwnerIndex,
    Parser,
    amount_parser,
    blank,
    boolean,
    first_of,
    optional_text,
    required_text,
    task_closed,
    text,
)
from roleSync.adapters.local_store import encode_json
from roleSync.profile import Profile
from roleSync.rules.suggest import did_you_mean


@dataclass(frozen=True, slots=True)
class _Spec:
    column: str  # book column (a constant of this module, safe to put in SQL)
    attr: str  # attribute of the profile's column mapping
    parse: Parser
    # How the row builder reads it: inline (text, optional, required), through a Memo of
    # distinct cells (memo), or by calling `parse` (call).
    how: str = "call"


def _row_builder(specs: list[tuple[int, _Spec]]) -> Callable[[list[str]], list[Any]]:
    """One function building a row's values from its cells, generated so that the common
    cases cost no Python call per cell (4 million rows x 10 cells add up). Only column
    indexes (ints) and generated names go into the source; parsers are bound by name."""
    namespace: dict[str, Any] = {"_blank": blank}
    parts: list[str] = []
    for n, (index, spec) in enumerate(specs):
        cell = f"c[{int(index)}]"
        if spec.how == "text":
            parts.append(f"{cell}.strip()")
        elif spec.how == "optional":
            parts.append(f"({cell}.strip() or None)")
        elif spec.how == "required":
            parts.append(f"({cell}.strip() or _blank())")
        elif spec.how == "memo":
            namespace[f"_m{n}"] = Memo(spec.parse)
            parts.append(f"_m{n}[{cell}]")
        elif spec.how == "amount":
            # The amount parser's own fast path, inline: plain digits with at most one
            # point, ASCII, short enough never to read as inf. Anything else (and so every
            # refusal) goes through the parser.
            namespace[f"_f{n}"] = spec.parse
            v = f"_v{n}"
            parts.append(
                f"(float({v}) if ({v} := {cell}.strip()).replace('.', '', 1).isdigit() "
                f"and {v}.isascii() and len({v}) < 300 else _f{n}({cell}))"
            )
        else:
            namespace[f"_f{n}"] = spec.parse
            parts.append(f"_f{n}({cell})")
    source = f"def build(c):\n    return [{', '.join(parts)}]\n"
    exec(compile(source, "<import row>", "exec"), namespace)
    build: Callable[[list[str]], list[Any]] = namespace["build"]
    return build


def _field_specs(entity: str, profile: Profile, owners: OwnerIndex | None) -> list[_Spec]:
    section = profile.import_
    dates = Dates(section)
    if entity == "owners":
        return [
            _Spec("id", "id", required_text, "required"),
            _Spec("name", "name", text, "text"),
            _Spec("email", "email", text, "text"),
            _Spec("title", "title", text, "text"),
            _Spec("active", "active", boolean(True), "memo"),
        ]
    index = owners or OwnerIndex(())
    if entity == "accounts":
        return [
            _Spec("id", "id", required_text, "required"),
            _Spec("name", "name", text, "text"),
            _Spec("owner_id", "owner", index.parser(section.accounts.owner_by), "memo"),
            _Spec("lifecycle", "lifecycle", text, "text"),
            _Spec("segment", "segment", text, "text"),
            _Spec("region", "region", text, "text"),
            _Spec("tier", "tier", text, "text"),
            _Spec("locked", "locked", boolean(False), "memo"),
            _Spec("created", "created", dates.datetime(), "memo"),
            _Spec("updated", "updated", dates.datetime(), "memo"),
        ]
    if entity in ("contacts", "tasks"):
        return _related_specs(entity, profile, index)
    deals = section.deals
    return [
        _Spec("id", "id", required_text, "required"),
        _Spec(
            "account_id",
            "account",
            first_of(deals.account_separator, required_text),
            "required" if deals.account_separator is None else "call",
        ),
        _Spec("owner_id", "owner", index.parser(deals.owner_by), "memo"),
        _Spec("kind", "kind", optional_text, "optional"),
        _Spec("stage", "stage", text, "text"),
        _Spec("closed", "closed", boolean(False), "memo"),
        _Spec("won", "won", boolean(False), "memo"),
        _Spec(
            "amount",
            "amount",
            amount_parser(section.amounts),
            "amount" if section.amounts.decimal == "." else "call",
        ),
        _Spec("created", "created", dates.date(required=True), "memo"),
        _Spec("close_date", "close_date", dates.date(required=False), "memo"),
    ]


def _related_specs(entity: str, profile: Profile, owners: OwnerIndex) -> list[_Spec]:
    """Contacts and tasks: an id, an account (blank: none), an owner, and their own fields."""
    section = profile.import_
    mapping = section.contacts if entity == "contacts" else section.tasks
    separator = mapping.account_separator
    specs = [
        _Spec("id", "id", required_text, "required"),
        _Spec("account_id", "account", first_of(separator, optional_text), "call"),
        _Spec("owner_id", "owner", owners.parser(mapping.owner_by), "memo"),
    ]
    if entity == "contacts":
        return [*specs, _Spec("name", "name", text, "text"), _Spec("email", "email", text, "text")]
    return [
        *specs,
        _Spec("subject", "subject", text, "text"),
        _Spec("closed", "closed", task_closed, "memo"),
        _Spec("due", "due", Dates(section).date(required=False), "memo"),
    ]


class StageTally:
    """Deal stages the profile's `stages` does not map: each with its count and first place."""

    MAX_VALUES = 1_000  # distinct values listed; a column of free text stays bounded

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.seen: dict[str, list[Any]] = {}  # key -> [value as written, count, line, col]
        self.others = 0  # deals with a distinct value past MAX_VALUES
        self.first_other: tuple[int, int] = (0, 0)

    def add(self, value: str, line: int, col: int) -> None:
        key = " ".join(value.split()).casefold()
        entry = self.seen.get(key)
        if entry is not None:
            entry[1] += 1
        elif len(self.seen) < self.MAX_VALUES:
            self.seen[key] = [value, 1, line, col]
        else:
            self.others += 1
            self.first_other = self.first_other if self.others > 1 else (line, col)

    def report(self, problems: Problems) -> None:
        if self.others:
            problems.add(
                *self.first_other,
                f"{self.others:,} more deals have stages the profile's stages does not map, "
                f"past the first {self.MAX_VALUES:,} distinct ones listed",
                "import-unmapped-stage",
            )
        for value, count, line, col in self.seen.values():
            deals = "deal" if count == 1 else "deals"
            problems.add(
                line,
                col,
                f"stage {value!r} ({count:,} {deals}, first here) is not in the profile's "
                f'stages: add stages."{value}": open, won or lost'
                + did_you_mean(value, self.profile.stages),
                "import-unmapped-stage",
            )


class TableRows:
    """The rows one CSV file gives one book table, streamed."""

    def __init__(
        self,
        entity: str,
        path: Path,
        profile: Profile,
        problems: Problems,
        owners: OwnerIndex | None = None,
    ) -> None:
        self.entity, self.path, self.problems = entity, path, problems
        self.mapping = getattr(profile.import_, entity)
        self.records = records(path, problems)
        self.columns: list[str] = []
        self.yielded = 0
        self.id_index: int | None = None
        self.stages = StageTally(profile)
        self._specs: list[tuple[int, _Spec]] = []
        self._extras: list[tuple[str, int]] = []
        self._joined: list[int] | None = None  # owners, contacts: name from several columns
        self._complete: Callable[[list[Any], int], bool] | None = None
        # Deals with both columns mapped: (won, closed) positions in a row's values.
        self._won_closed: tuple[int, int] | None = None
        self._where: dict[str, tuple[int, int]] = {}
        self._outcomes = Memo(profile.stage_outcome)
        header = next(self.records, None)
        if header is None:
            if not problems.items:
                problems.add(1, 1, "empty file: expected a header line", "csv-empty")
            self.header: list[str] = []
            return
        self.header_line, self.header = header
        self._map_columns(_field_specs(entity, profile, owners))

    def _missing(self, column: str, attr: str) -> None:
        self.problems.add(
            self.header_line,
            1,
            f"no column {column!r} (import.{self.entity}.{attr} in the profile)",
            "csv-missing-column",
        )

    def _map_columns(self, specs: list[_Spec]) -> None:
        positions = header_positions(self.header)
        for spec in specs:
            if spec.attr == "name" and len(getattr(self.mapping, "name_columns", ())) > 1:
                found = [positions.get(c) for c in self.mapping.name_columns]
                for column, at in zip(self.mapping.name_columns, found, strict=True):
                    if at is None:
                        self._missing(column, "name")
                self._joined = [at for at in found if at is not None]
                self._specs.append((len(self.header), spec))  # the joined name, appended
                continue
            column = getattr(self.mapping, spec.attr)
            column = column[0] if isinstance(column, list) else column
            if column is None:
                continue  # mapped to null: not imported
            if column not in positions:
                self._missing(column, spec.attr)
                continue
            self._specs.append((positions[column], spec))
        for name, column in getattr(self.mapping, "fields", {}).items():
            if column not in positions:
                self._missing(column, f"fields.{name}")
            else:
                self._extras.append((name, positions[column]))
        used = {self.header[i].strip() for i, _ in self._specs if i < len(self.header)}
        used |= {self.header[i].strip() for _, i in self._extras}
        used |= {self.header[i].strip() for i in self._joined or ()}
        for index, name in enumerate(self.header):
            if name.strip() in used and positions[name.strip()] != index:
                self.problems.add(
                    self.header_line,
                    index + 1,
                    f"column {name.strip()!r} appears twice",
                    "csv-duplicate-column",
                )
        self.columns = [spec.column for _, spec in self._specs]
        self.id_index = next((i for i, s in self._specs if s.column == "id"), None)
        if self.entity == "deals":
            # book column -> (position in a row's values, CSV column index)
            self._where = {spec.column: (n, i) for n, (i, spec) in enumerate(self._specs)}
            if self.mapping.stage_decides:
                # Without a stage column (already a csv-missing-column finding) nothing
                # decides; the other cells are still checked.
                if "stage" in self._where:
                    self._complete = self._stage_outcome
                    self.columns += ["closed", "won"]
            elif "won" in self._where and "closed" in self._where:
                self._won_closed = (self._where["won"][0], self._where["closed"][0])
        if self._extras:
            self.columns.append("fields")

    def _won_not_closed(self, line: int) -> None:
        index = self._where["won"][1]
        self.problems.add(line, index + 1, "a won deal must be closed", "csv-invalid-value")

    def _stage_outcome(self, values: list[Any], line: int) -> bool:
        """The profile maps no closed/won columns: the stage decides, appended to the row."""
        position, index = self._where["stage"]
        stage = values[position]
        if not stage:
            self.problems.add(
                line,
                index + 1,
                f"{self.header[index].strip()}: blank stage; the profile maps no closed/won "
                "columns, so the stage says whether the deal is open, won or lost",
                "csv-invalid-value",
            )
            return False
        outcome = self._outcomes[stage]
        if outcome is None:
            self.stages.add(stage, line, index + 1)
            return False
        values += [int(outcome != "open"), int(outcome == "won")]
        return True

    def _report(self, line: int, cells: list[str]) -> None:
        for index, spec in self._specs:
            try:
                spec.parse(cells[index])
            except CellError as exc:
                label = self.header[index].strip() if index < len(self.header) else spec.attr
                self.problems.add(line, index + 1, f"{label}: {exc}", exc.code)

    def rows(self) -> Iterator[list[Any]]:
        """Every good row: values in `columns` order, then the row's line number."""
        width = len(self.header)
        build = _row_builder(self._specs)
        extras, joined, complete = self._extras, self._joined, self._complete
        # -1: no such check. Kept inline: a call per row costs more than the check.
        won, closed = self._won_closed or (-1, -1)
        yielded = 0
        for line, cells in self.records:
            if len(cells) != width:
                self.problems.add(
                    line,
                    min(len(cells), width) + 1,
                    f"row has {len(cells)} cells; the header has {width}",
                    "csv-row-length",
                )
                continue
            if joined is not None:
                cells.append(" ".join(part for i in joined if (part := cells[i].strip())))
            try:
                values = build(cells)
            except CellError:
                self._report(line, cells)
                continue
            if won >= 0 and values[won] and not values[closed]:
                self._won_not_closed(line)
                continue
            if complete is not None and not complete(values, line):
                continue
            if extras:
                values.append(encode_json({name: cells[i].strip() for name, i in extras}))
            values.append(line)
            yielded += 1
            yield values
        self.yielded = yielded
        self.stages.report(self.problems)

    def ids(self) -> Iterator[tuple[int, str, int]]:
        """(line, id, column) of every well-formed row with an id: for finding duplicates."""
        if self.id_index is None:
            return
        width = len(self.header)
        for line, cells in self.records:
            if len(cells) == width and (value := cells[self.id_index].strip()):
                yield line, value, self.id_index + 1

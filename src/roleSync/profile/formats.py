"""Date and amount formats a profile declares for `rolesync import`, checked at load time.

A CSV export writes dates and amounts the way its CRM's locale does ("1/10/2026",
"USD 12,500.00"). The profile says how; nothing is guessed. A declaration that could
read one string two ways ("M/D/YYYY" beside "D/M/YYYY", or "MD/YYYY" alone) is refused
when the profile is loaded, with an example of a string it would read two ways.

Tokens (moment.js style, case-sensitive): YYYY year; MM / M month (2 digits / 1-2);
DD / D day; HH / H hour 0-23; hh / h hour 1-12 with A (AM/PM); mm minutes; ss seconds.
Any other character is literal; letters are literal only inside [brackets]. "ISO" is
ISO 8601 (2026-03-31, 2026-03-31T09:30:00Z), the default.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

ISO = "ISO"

# token -> (field, regex, minimum width, maximum width)
_TOKENS: dict[str, tuple[str, int, int]] = {
    "YYYY": ("year", 4, 4),
    "MM": ("month", 2, 2),
    "M": ("month", 1, 2),
    "DD": ("day", 2, 2),
    "D": ("day", 1, 2),
    "HH": ("hour", 2, 2),
    "H": ("hour", 1, 2),
    "hh": ("hour12", 2, 2),
    "h": ("hour12", 1, 2),
    "mm": ("minute", 2, 2),
    "ss": ("second", 2, 2),
}
_SPLIT = re.compile(r"\[[^\]]*\]|YYYY|MM|M|DD|D|HH|H|hh|h|mm|ss|A|[A-Za-z]+|.", re.DOTALL)


@dataclass(frozen=True, slots=True)
class _Part:
    token: str | None  # None: literal text
    text: str  # the token, or the literal


@dataclass(frozen=True, slots=True)
class DateFormat:
    """One declared format, compiled: `parse` gives a naive datetime or raises ValueError."""

    spec: str
    parts: tuple[_Part, ...]
    regex: re.Pattern[str] | None  # None for ISO

    def parse(self, value: str) -> datetime:
        if self.regex is None:
            return datetime.fromisoformat(value)
        match = self.regex.fullmatch(value)
        if match is None:
            raise ValueError(f"{value!r} does not match {self.spec!r}")
        got = {k: int(v) for k, v in match.groupdict().items() if k != "ampm" and v is not None}
        hour = got.get("hour", 0)
        if "hour12" in got:
            if not 1 <= got["hour12"] <= 12:
                raise ValueError(f"{value!r}: hour {got['hour12']} is not 1-12")
            hour = got["hour12"] % 12 + (12 if match["ampm"].upper() == "PM" else 0)
        try:
            return datetime(
                got["year"],
                got["month"],
                got["day"],
                hour,
                got.get("minute", 0),
                got.get("second", 0),
            )
        except ValueError as exc:
            raise ValueError(f"{value!r} is not a valid date ({exc})") from None

    def render(self, moment: datetime, *, padded: bool) -> str:
        """`moment` written in this format (variable-width tokens padded or not)."""
        out: list[str] = []
        for part in self.parts:
            if part.token is None:
                out.append(part.text)
            elif part.token == "A":
                out.append("PM" if moment.hour >= 12 else "AM")
            else:
                field, low, high = _TOKENS[part.token]
                number = (moment.hour % 12 or 12) if field == "hour12" else getattr(moment, field)
                width = high if padded or low == high else low
                out.append(f"{number:0{width}d}")
        return "".join(out)


def _tokenize(spec: str) -> tuple[_Part, ...]:
    parts: list[_Part] = []
    for piece in _SPLIT.findall(spec):
        if piece.startswith("[") and piece.endswith("]") and len(piece) >= 2:
            parts.append(_Part(None, piece[1:-1]))
        elif piece in _TOKENS or piece == "A":
            parts.append(_Part(piece, piece))
        elif piece.isalpha():
            raise ValueError(
                f"date format {spec!r}: unknown token {piece!r} (tokens: YYYY, MM, M, DD, D, "
                "HH, H, hh, h, mm, ss, A; put literal letters in [brackets])"
            )
        else:
            parts.append(_Part(None, piece))
    return tuple(parts)


def _check_fields(spec: str, parts: Sequence[_Part]) -> None:
    fields = [_TOKENS[p.token][0] if p.token in _TOKENS else p.token for p in parts if p.token]
    for field in set(fields):
        if fields.count(field) > 1:
            hint = " (minutes are mm, months MM)" if field == "month" else ""
            raise ValueError(f"date format {spec!r} gives the {field} twice{hint}")
    missing = [f for f in ("year", "month", "day") if f not in fields]
    if missing:
        raise ValueError(f"date format {spec!r} has no {', '.join(missing)}")
    if ("hour12" in fields) != ("A" in fields):
        raise ValueError(f"date format {spec!r}: hh/h (1-12) goes with A (AM/PM), HH/H without")
    if "hour" in fields and "A" in fields:
        raise ValueError(f"date format {spec!r}: HH/H is 0-23; with A (AM/PM) use hh/h")
    has_hour = "hour" in fields or "hour12" in fields
    if ("minute" in fields and not has_hour) or ("second" in fields and "minute" not in fields):
        raise ValueError(f"date format {spec!r}: minutes need an hour, seconds need minutes")
    for left, right in itertools.pairwise(parts):
        if left.token in _TOKENS and right.token in _TOKENS:
            variable = _TOKENS[left.token][1] != _TOKENS[left.token][2] or (
                _TOKENS[right.token][1] != _TOKENS[right.token][2]
            )
            if variable:
                raise ValueError(
                    f"date format {spec!r}: {left.token}{right.token} can split one string "
                    "two ways; put a separator between them or use fixed widths"
                )


def _regex(parts: Sequence[_Part]) -> re.Pattern[str]:
    pattern: list[str] = []
    for part in parts:
        if part.token is None:
            pattern.append(re.escape(part.text))
        elif part.token == "A":
            pattern.append(r"(?P<ampm>[AaPp][Mm])")
        else:
            field, low, high = _TOKENS[part.token]
            pattern.append(f"(?P<{field}>\\d{{{low},{high}}})")
    return re.compile("".join(pattern), re.ASCII)


def compile_format(spec: str) -> DateFormat:
    """A declared format, or ValueError saying what is wrong with it."""
    if spec == ISO:
        return DateFormat(ISO, (), None)
    parts = _tokenize(spec)
    _check_fields(spec, parts)
    return DateFormat(spec, parts, _regex(parts))


# What ISO 8601 strings look like, to test declared formats against it.
_ISO_SHAPES = tuple(
    compile_format(s) for s in ("YYYY-MM-DD", "YYYY-MM-DD[T]HH:mm:ss", "YYYY-MM-DD HH:mm")
)


def _samples() -> Iterator[datetime]:
    # Months and days on both sides of 12 and of one digit, hours on both sides of noon:
    # every way the tokens above can trade places shows up in one of these.
    for month, day, hour, minute, second in itertools.product(
        (1, 2, 10, 12), (1, 2, 10, 12, 13, 31), (0, 1, 9, 10, 12, 13, 23), (0, 5, 30), (0, 7, 45)
    ):
        if day <= 29 or month in (1, 10, 12):
            yield datetime(2026, month, day, hour, minute, second)


def _renders(fmt: DateFormat, moment: datetime) -> Iterator[str]:
    shapes = _ISO_SHAPES if fmt.regex is None else (fmt,)
    for shape in shapes:
        yield shape.render(moment, padded=False)
        yield shape.render(moment, padded=True)


def _reading(fmt: DateFormat, text: str) -> datetime | None:
    try:
        return fmt.parse(text)
    except ValueError:
        return None


def two_readings(first: DateFormat, second: DateFormat) -> tuple[str, datetime, datetime] | None:
    """A string `first` and `second` both read, differently; None when there is none."""
    for moment in _samples():
        for text in _renders(first, moment):
            one, other = _reading(first, text), _reading(second, text)
            if one is not None and other is not None and one != other:
                return text, one, other
    return None


def check_formats(specs: Sequence[str]) -> list[DateFormat]:
    """Compile every format and refuse any pair that reads one string two ways."""
    formats = [compile_format(spec) for spec in specs]
    for first, second in itertools.permutations(formats, 2):
        clash = two_readings(first, second)
        if clash is not None:
            text, one, other = clash
            raise ValueError(
                f"date formats {first.spec!r} and {second.spec!r} read {text!r} two ways "
                f"({one:%Y-%m-%d %H:%M} and {other:%Y-%m-%d %H:%M}); keep one of them"
            )
    return formats


DateReader = Callable[[str], datetime]
ISO_HINT = "is not an ISO date or date-time (2026-03-31 or 2026-03-31T09:30:00Z)"


def date_reader(formats: Sequence[DateFormat]) -> DateReader:
    """Reads a stripped, non-blank cell with the first format that matches, as written
    (naive unless the text carries an offset); ValueError says why none did."""
    if [f.spec for f in formats] == [ISO]:

        def read_iso(value: str) -> datetime:
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{value!r} {ISO_HINT}") from None

        return read_iso
    names = ", ".join(repr(f.spec) for f in formats)

    def read(value: str) -> datetime:
        reason = f"{value!r} is not a date in the profile's import.dates ({names})"
        for fmt in formats:
            try:
                return fmt.parse(value)
            except ValueError as exc:
                if fmt.regex is not None and fmt.regex.fullmatch(value):
                    reason = str(exc)  # the right shape, an impossible date: say so
        raise ValueError(reason)

    return read

"""Read a Dockerfile and a .dockerignore the way a builder does, closely enough to check
what reaches the image: stages, instructions, build args, and which files of the build
context the allowlist lets in. Test helpers only; no container runtime needed."""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field

# Names of ARG / ENV that would put a credential into the image's config or history.
SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSW(OR)?D|PASS$|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|AUTH|_URL$|DSN)",
    re.IGNORECASE,
)
# A value with credentials in it: user:password@ in a URL, or a long opaque token.
SECRET_VALUE = re.compile(r"://[^/\s:@]+:[^/\s@]+@|[A-Za-z0-9+/_\-]{40,}")


@dataclass(frozen=True)
class Instruction:
    keyword: str  # upper case: FROM, RUN, COPY, ...
    arguments: str  # the rest of the (continuation-joined) line
    line: int  # 1-based line where it starts


@dataclass
class Stage:
    base: str  # the FROM image as written, e.g. ${BASE_IMAGE}
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)


def instructions(text: str) -> list[Instruction]:
    """The instructions, comments and blank lines dropped, `\\` continuations joined."""
    found: list[Instruction] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if pending and stripped.startswith("#"):
            continue  # a comment inside a continued RUN is dropped by the builder too
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending.append(stripped[:-1].strip())
            continue
        pending.append(stripped)
        joined = " ".join(part for part in pending if part)
        pending = []
        keyword, _, rest = joined.partition(" ")
        found.append(Instruction(keyword.upper(), rest.strip(), start))
    assert not pending, "the Dockerfile ends inside a continued line"
    return found


def stages(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Build args declared before the first FROM (name -> default) and the stages."""
    global_args: dict[str, str] = {}
    found: list[Stage] = []
    for instruction in instructions(text):
        if instruction.keyword == "FROM":
            words = instruction.arguments.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            found.append(Stage(words[0], name))
        elif not found:
            assert instruction.keyword == "ARG", f"line {instruction.line}: before FROM"
            name, _, default = instruction.arguments.partition("=")
            global_args[name.strip()] = default.strip().strip('"')
        else:
            found[-1].instructions.append(instruction)
    return global_args, found


def resolve(image: str, build_args: dict[str, str]) -> str:
    """`${NAME}` / `$NAME` in a FROM line replaced by the build arg's default."""
    return re.sub(
        r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: build_args.get(m.group(1), ""), image
    )


def variables(instruction: Instruction) -> dict[str, str]:
    """The names and values an ENV or ARG instruction sets (`A=1 B=2`, `A 1`, `A`)."""
    words = shlex.split(instruction.arguments)
    if instruction.keyword == "ENV" and len(words) >= 2 and "=" not in words[0]:
        return {words[0]: " ".join(words[1:])}
    pairs = (word.partition("=") for word in words)
    return {name: value for name, _, value in pairs}


def copy_parts(instruction: Instruction) -> tuple[dict[str, str], list[str], str]:
    """A COPY / ADD: its --flags, its sources and its destination."""
    words = shlex.split(instruction.arguments)
    if words and words[0].startswith("["):
        words = json.loads(instruction.arguments)
    flags = {}
    while words and words[0].startswith("--"):
        name, _, value = words.pop(0)[2:].partition("=")
        flags[name] = value
    assert len(words) >= 2, f"line {instruction.line}: COPY needs a source and a destination"
    return flags, words[:-1], words[-1]


def exec_form(instruction: Instruction) -> list[str]:
    """An ENTRYPOINT / CMD in exec (JSON) form; AssertionError for the shell form."""
    value = json.loads(instruction.arguments) if instruction.arguments.startswith("[") else None
    assert isinstance(value, list), f"line {instruction.line}: use the exec form [...]"
    return [str(item) for item in value]


def last(stage: Stage, keyword: str) -> Instruction | None:
    matching = [i for i in stage.instructions if i.keyword == keyword]
    return matching[-1] if matching else None


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern (Go filepath.Match plus `**`) as a regex on a relative path."""
    out = ""
    index = 0
    while index < len(pattern):
        if pattern.startswith("**/", index):
            out, index = out + "(?:.*/)?", index + 3
        elif pattern.startswith("**", index):
            out, index = out + ".*", index + 2
        elif pattern[index] == "*":
            out, index = out + "[^/]*", index + 1
        elif pattern[index] == "?":
            out, index = out + "[^/]", index + 1
        else:
            out, index = out + re.escape(pattern[index]), index + 1
    return re.compile(out + r"\Z")


def context_includes(dockerignore: str, path: str) -> bool:
    """Whether a build sends `path` (relative, `/`-separated): the last matching pattern
    wins, and a pattern matching a parent folder matches everything below it."""
    included = True
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    for raw in dockerignore.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        regex = _pattern_regex(line.lstrip("!").strip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            included = negated
    return included

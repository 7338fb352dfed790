"""Rule files as they were at a git ref, read with git, never checked out.

`rolesync diff --base-ref origin/main` compares the rules in the work tree with those at
the ref. Each `-r` path's place in its repository says which files to read; they are
read with `git ls-tree` and `git cat-file` (argument lists, no shell), written to a
temporary folder under their own names (the rules digest covers names and bytes) and
loaded there by the ordinary loader. Errors then name `REF:path`, not the temporary
copy (`Located.shown`). The work tree, the index and HEAD are never touched.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from roleSync.errors import ConfigError
from roleSync.rules.loader import MAX_FILE_BYTES
from roleSync.rules.ruleset import YAML_SUFFIXES

GIT_TIMEOUT_S = 60


class GitRulesError(ConfigError):
    """The ref, the repository or the rules at the ref cannot be had: one line, exit 1."""


@dataclass(slots=True)
class Located:
    """The copies written, and copy path -> what to call it in messages (`REF:path`)."""

    paths: list[Path] = field(default_factory=list)
    shown: dict[str, str] = field(default_factory=dict)


def _git(args: Sequence[str], cwd: Path, what: str) -> bytes:
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except FileNotFoundError:
        raise GitRulesError(
            "--base-ref needs git, which is not installed (or not on PATH)"
        ) from None
    except subprocess.TimeoutExpired:
        raise GitRulesError(f"git did not answer in {GIT_TIMEOUT_S} s ({what})") from None
    if done.returncode != 0:
        cause = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GitRulesError(f"{what}: {cause[-1] if cause else f'git exit {done.returncode}'}")
    return done.stdout


def repo_root(path: Path) -> Path:
    """The top of the work tree holding `path`; GitRulesError when there is none."""
    folder = (path if path.is_dir() else path.parent).resolve()
    if not folder.is_dir():
        raise GitRulesError(f"{path}: no such file or folder, so no place in a repository")
    try:
        out = _git(["rev-parse", "--show-toplevel"], folder, "git rev-parse --show-toplevel")
    except GitRulesError as exc:
        if "not a git repository" not in str(exc):
            raise  # git's own words: say, a repository owned by another user (safe.directory)
        raise GitRulesError(
            f"{path} is not in a git repository, so there is no ref to read rules at: "
            "use --base-rules PATH"
        ) from None
    return Path(out.decode("utf-8", "surrogateescape").strip())


def resolve_ref(ref: str, root: Path) -> str:
    """The commit `ref` names; GitRulesError (one line) when it names none."""
    if not ref or ref.startswith("-") or "\0" in ref:
        raise GitRulesError(f"refusing git ref {ref!r}: a ref does not start with '-'")
    try:
        out = _git(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], root, "rev-parse")
    except GitRulesError:
        raise GitRulesError(f"git ref {ref!r} not found (git rev-parse)") from None
    return out.decode().strip()


@dataclass(frozen=True, slots=True)
class _Entry:
    mode: str
    kind: str
    sha: str
    size: int
    name: str


def _entries(listing: bytes) -> list[_Entry]:
    """`git ls-tree -l -z` lines: "<mode> <type> <sha> <size>\\t<path>"."""
    found = []
    for record in listing.split(b"\0"):
        if not record:
            continue
        head, _, name = record.partition(b"\t")
        mode, kind, sha, size = head.decode().split()
        found.append(
            _Entry(
                mode,
                kind,
                sha,
                int(size) if size.isdigit() else 0,
                name.decode("utf-8", "surrogateescape"),
            )
        )
    return found


def _copy(entry: _Entry, root: Path, into: Path, shown: str) -> Path:
    if entry.size > MAX_FILE_BYTES:
        raise GitRulesError(f"{shown}: {entry.size} bytes, more than a rule file may hold")
    data = _git(["cat-file", "blob", entry.sha], root, f"git cat-file {shown}")
    target = into / Path(entry.name).name
    target.write_bytes(data)
    return target


def rules_at_ref(ref: str, paths: Sequence[Path], into: Path) -> Located:
    """Copies into `into` of the rule files `paths` name, as they were at `ref`."""
    located = Located()
    for index, path in enumerate(paths):
        root = repo_root(path)
        commit = resolve_ref(ref, root)
        try:
            rel = path.resolve().relative_to(root).as_posix()
        except ValueError:
            raise GitRulesError(f"{path} is outside the git repository at {root}") from None
        shown = f"{ref}:{rel}"
        folder = into / str(index)
        folder.mkdir()
        found = _entries(_git(["ls-tree", "-l", "-z", commit, "--", rel], root, "git ls-tree"))
        if not found:
            raise GitRulesError(f"{shown}: no such file or folder at {ref}")
        if found[0].kind == "tree":
            listing = _git(["ls-tree", "-l", "-z", commit, "--", rel + "/"], root, "git ls-tree")
            for entry in _entries(listing):
                # A folder's rule files: its top-level YAML files (not tests/), as on disk.
                if (
                    entry.kind == "blob"
                    and entry.mode != "120000"
                    and entry.name.endswith(YAML_SUFFIXES)
                ):
                    copy = _copy(entry, root, folder, f"{ref}:{entry.name}")
                    located.shown[str(copy)] = f"{ref}:{entry.name}"
            located.paths.append(folder)
            located.shown[str(folder)] = shown
        elif found[0].kind == "blob" and found[0].mode != "120000":
            copy = _copy(found[0], root, folder, shown)
            located.paths.append(copy)
            located.shown[str(copy)] = shown
        else:
            raise GitRulesError(f"{shown}: not a file or folder at {ref}")
    return located

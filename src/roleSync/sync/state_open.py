"""Opening a profile's state store, SQLite or PostgreSQL, with or without its run lock.

Re-exported by sync/recorder.py, where these lived before the PostgreSQL store.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from roleSync.profile import Profile
from roleSync.sync.lock import RunLock
from roleSync.sync.logs import event
from roleSync.sync.state import ROTATION_FILE, load_rotation
from roleSync.sync.store import StateStore

if TYPE_CHECKING:
    from roleSync.sync.pg_store import PgTarget

Clock = Callable[[], datetime]


def state_file(profile: Profile) -> Path:
    return (profile.state_path / profile.state.path).resolve()


def lock_file(profile: Profile) -> Path:
    return profile.state_path / f"{profile.name}.lock"


def pg_target(profile: Profile, environ: Mapping[str, str] | None = None) -> PgTarget:
    """Where a postgresql profile's store is: the URL from its variable, its schema."""
    import os

    from roleSync.sync.pg_store import PgTarget, import_psycopg
    from roleSync.sync.pg_url import state_url

    import_psycopg(profile.name)  # a clear line if it is not installed
    env = os.environ if environ is None else environ
    url = state_url(profile.state.url_env, env, profile.name)
    return PgTarget(url, profile.state_schema, profile.name)


def _open_store(profile: Profile, *, create: bool) -> StateStore | None:
    if profile.state.backend == "postgresql":
        from roleSync.sync.pg_store import open_pg

        db = open_pg(pg_target(profile), create=create)
        return None if db is None else StateStore(db)
    path = state_file(profile)
    if not create and not path.is_file():  # opening would create an empty store
        return None
    return StateStore.open(path)


def state_label(profile: Profile) -> str:
    """The store as messages name it: the SQLite file, or the database and schema."""
    if profile.state.backend == "postgresql":
        return pg_target(profile).label
    return str(state_file(profile))


def stored_state(profile: Profile) -> StateStore | None:
    """The profile's store if it has one; None rather than creating it (readers)."""
    return _open_store(profile, create=False)


def open_state(profile: Profile) -> StateStore:
    """The profile's state store; the first time, the old rotation.json moves into it."""
    store = _open_store(profile, create=True)
    assert store is not None
    legacy = profile.state_path / ROTATION_FILE
    try:
        if legacy.exists():
            store.import_rotation(
                profile.name, load_rotation(profile.state_path), marker=f"imported {legacy}"
            )
            # Renamed, not deleted: an older roleSync (or a person) can still read it.
            legacy.replace(legacy.with_name(ROTATION_FILE + ".imported"))
    except BaseException:
        store.close()
        raise
    return store


def reset_state(profile: Profile) -> None:
    """Forget the profile's history (the demo does, when it writes a fresh book)."""
    path = state_file(profile)
    for suffix in ("", "-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    (profile.state_path / ROTATION_FILE).unlink(missing_ok=True)


@contextmanager
def borrowed_state(profile: Profile, store: StateStore | None) -> Iterator[StateStore]:
    """`store` if the caller has one open, else the profile's, opened for the block."""
    if store is not None:
        yield store
        return
    with open_state(profile) as opened:
        yield opened


@contextmanager
def locked_state(profile: Profile, clock: Clock) -> Iterator[StateStore]:
    """The profile's lock (LockHeldError, exit 4, if another run holds it) and its store:
    a flock beside the SQLite file, or an advisory lock in PostgreSQL (sync/pg_lock.py)
    held by the store's own connection, so that it lives exactly as long as the store."""
    if profile.state.backend == "postgresql":
        with _pg_locked_state(profile, clock) as store:
            yield store
        return
    lock = RunLock(lock_file(profile), profile.name)
    lock.acquire(clock())
    try:
        event("lock-acquired", f"lock of profile {profile.name} taken", profile=profile.name)
        with open_state(profile) as store:
            yield store
    finally:
        lock.release()


@contextmanager
def _pg_locked_state(profile: Profile, clock: Clock) -> Iterator[StateStore]:
    from roleSync.sync.pg_lock import PgRunLock
    from roleSync.sync.pg_store import PgDb

    with open_state(profile) as store:
        assert isinstance(store.db, PgDb)
        lock = PgRunLock(store.db, profile.name)
        lock.acquire(clock())
        try:
            event("lock-acquired", f"lock of profile {profile.name} taken", profile=profile.name)
            yield store
        finally:
            lock.release()

"""The tables and indexes of a local book (and of each CRM mirror, which is one).

Its own module so that the statements that define the file read in one place; opening,
checking and writing the file is `roleSync.adapters.local_store`'s.
"""

from __future__ import annotations

SCHEMA_VERSION = 1

_CORE_TABLES = (
    """CREATE TABLE owners (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        active INTEGER NOT NULL DEFAULT 1,
        fields TEXT NOT NULL DEFAULT '{}'     -- JSON object of extra owner fields
    )""",
    """CREATE TABLE accounts (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL DEFAULT '',
        owner_id TEXT,
        lifecycle TEXT NOT NULL DEFAULT '',   -- raw CRM value; the profile maps it
        segment TEXT NOT NULL DEFAULT '',
        region TEXT NOT NULL DEFAULT '',
        tier TEXT NOT NULL DEFAULT '',
        locked INTEGER NOT NULL DEFAULT 0,
        fields TEXT NOT NULL DEFAULT '{}',    -- JSON object of extra fields
        created TEXT,                         -- ISO datetime
        updated TEXT                          -- ISO datetime
    )""",
    """CREATE TABLE deals (
        id TEXT PRIMARY KEY,
        account_id TEXT NOT NULL,
        owner_id TEXT,
        kind TEXT,                            -- raw CRM value or NULL; the profile maps it
        stage TEXT NOT NULL DEFAULT '',
        closed INTEGER NOT NULL DEFAULT 0,
        won INTEGER NOT NULL DEFAULT 0,
        amount REAL,
        created TEXT NOT NULL,                -- ISO date
        close_date TEXT                       -- ISO date
    )""",
    """CREATE TABLE owner_fields (
        owner_id TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,                  -- JSON scalar
        PRIMARY KEY (owner_id, name)
    ) WITHOUT ROWID""",
)
# The records that belong to an account (what a handoff can carry). Added after the
# first books were written: a book without them is still a book of SCHEMA_VERSION 1
# (readers take a missing table as an empty one, and older roleSync versions ignore
# tables they do not know), and writers add them with `add_related_tables`.
_RELATED_TABLES = (
    """CREATE TABLE contacts (
        id TEXT PRIMARY KEY,
        account_id TEXT,                      -- NULL: a contact without a company
        owner_id TEXT,
        name TEXT NOT NULL DEFAULT '',
        email TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE tasks (
        id TEXT PRIMARY KEY,
        account_id TEXT,                      -- what the task is about; NULL: none
        owner_id TEXT,
        subject TEXT NOT NULL DEFAULT '',
        closed INTEGER NOT NULL DEFAULT 0,
        due TEXT,                             -- ISO date
        body TEXT NOT NULL DEFAULT '',
        rolesync_key TEXT                     -- HandoffTask.key; NULL: not roleSync's
    )""",
)
# Columns of `tasks` added after books with a tasks table were written, as ALTER TABLE
# takes them: `add_related_tables` adds those a book lacks. No SCHEMA_VERSION bump: every
# reader and writer names its columns (an older roleSync never sees these two, and its
# inserts leave them blank), and a NULL key is never a duplicate for the unique index.
TASK_COLUMNS_ADDED = (
    ("body", "TEXT NOT NULL DEFAULT ''"),
    ("rolesync_key", "TEXT"),
)
# Columns of `owners` added after books were written, likewise: extra owner fields
# (territory). Readers take a book without the column as owners without extra fields.
OWNER_COLUMNS_ADDED = (("fields", "TEXT NOT NULL DEFAULT '{}'"),)
_RELATED_INDEXES = (
    "CREATE INDEX contacts_by_account ON contacts (account_id)",
    "CREATE INDEX contacts_by_owner ON contacts (owner_id)",
    "CREATE INDEX tasks_by_account ON tasks (account_id)",
    "CREATE INDEX tasks_by_owner ON tasks (owner_id)",
    # At most one task per handoff task key: what makes a handoff task exactly-once.
    "CREATE UNIQUE INDEX tasks_by_key ON tasks (rolesync_key)",
)
RELATED_TABLES = ("contacts", "tasks")
TABLES = _CORE_TABLES + _RELATED_TABLES
_CORE_INDEXES = (
    # Pull reads whole tables (no index helps a full scan); these serve the lookups
    # by owner and by account that rollback, explain and apply's diagnosis make.
    "CREATE INDEX accounts_by_owner ON accounts (owner_id)",
    "CREATE INDEX deals_by_account ON deals (account_id)",
    "CREATE INDEX deals_by_owner ON deals (owner_id)",
)
INDEXES = _CORE_INDEXES + _RELATED_INDEXES
SCHEMA = TABLES + INDEXES
# The tables and indexes of owners, accounts and deals, for benchmarks/import_scale.py's
# like-for-like sqlite3 reference (its files fill no contacts or tasks).
BOOK_TABLES, BOOK_INDEXES = _CORE_TABLES, _CORE_INDEXES

RELATED_TABLES_SQL, RELATED_INDEXES = _RELATED_TABLES, _RELATED_INDEXES

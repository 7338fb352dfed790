"""Pure pieces on bare values: SOQL building, cursor arithmetic, the write rounds."""

from __future__ import annotations

from datetime import UTC, datetime

from roleSync.adapters.mirror import Cursor
from roleSync.adapters.rounds import Outcome, RecordResult
from roleSync.adapters.salesforce.rounds import Rounds, RoundSettings, record_result
from roleSync.adapters.salesforce.soql import (
    ObjectQuery,
    advance,
    check_fields,
    parse_stamp,
    pull_soql,
    unseen,
)

QUERY = ObjectQuery("Account", ("Id", "Name", "SystemModstamp"), deletable=True)


def test_pull_soql_full_and_incremental() -> None:
    assert pull_soql(QUERY, None) == (
        "SELECT Id, Name, SystemModstamp FROM Account ORDER BY SystemModstamp, Id"
    )
    since = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert pull_soql(QUERY, since) == (
        "SELECT Id, Name, SystemModstamp FROM Account "
        "WHERE SystemModstamp >= 2026-01-02T03:04:05+00:00 ORDER BY SystemModstamp, Id"
    )


def test_check_reads_ask_for_the_id_first_and_each_field_once() -> None:
    assert check_fields(("OwnerId", "Do_Not_Route__c")) == ("Id", "OwnerId", "Do_Not_Route__c")
    assert check_fields(("OwnerId", None)) == ("Id", "OwnerId")
    assert check_fields(("id", "Win_Rate__c", "win_rate__c")) == ("Id", "Win_Rate__c")


def test_stamps_parse_in_every_spelling() -> None:
    expected = datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)
    assert parse_stamp("2026-01-02T03:04:05.120+0000") == expected
    assert parse_stamp("2026-01-02T03:04:05.12Z") == expected
    assert parse_stamp("2026-01-02T04:04:05.120+01:00") == expected


def record(record_id: str, stamp: str) -> dict[str, str]:
    return {"Id": record_id, "SystemModstamp": stamp}


def test_cursor_keeps_every_id_at_the_latest_stamp() -> None:
    t1, t2 = "2026-01-01T00:00:01.000+0000", "2026-01-01T00:00:02.000+0000"
    cursor = advance(None, [record("a", t1), record("b", t2), record("c", t2)])
    assert cursor == Cursor(t2, frozenset({"b", "c"}))
    # Next pull (>= t2): b and c again (skipped), d new at the same instant.
    assert not unseen(cursor, record("b", t2))
    assert unseen(cursor, record("d", t2))
    assert advance(cursor, [record("d", t2)]) == Cursor(t2, frozenset({"b", "c", "d"}))
    # An edit of b later moves the cursor on.
    later = "2026-01-01T00:00:03.000+0000"
    assert unseen(cursor, record("b", later))
    assert advance(cursor, [record("b", later)]) == Cursor(later, frozenset({"b"}))
    assert advance(cursor, []) == cursor


def test_collection_results_become_outcomes() -> None:
    assert record_result({"id": "1", "success": True, "errors": []}).outcome is Outcome.APPLIED
    locked = record_result(
        {"success": False, "errors": [{"statusCode": "UNABLE_TO_LOCK_ROW", "message": "busy"}]}
    )
    assert locked == RecordResult(Outcome.LOCKED, "UNABLE_TO_LOCK_ROW: busy")
    deleted = record_result({"success": False, "errors": [{"statusCode": "ENTITY_IS_DELETED"}]})
    assert deleted == RecordResult(Outcome.FAILED, "deleted in Salesforce")
    assert record_result({"success": False}).outcome is Outcome.FAILED


class FakeOrg:
    """Records ids written; some lock a number of times; some writes go unanswered."""

    def __init__(self, locks: dict[str, int], unanswered: set[str], lands: bool) -> None:
        self.locks = locks
        self.unanswered = unanswered
        self.lands = lands
        self.written: dict[str, int] = {}
        self.batches: list[int] = []
        self.decided: dict[str, RecordResult] = {}

    def check(self, ids: list[str], unknown: set[str]) -> list[str]:
        to_write = []
        for i in ids:
            if self.written.get(i):
                self.decided[i] = RecordResult(Outcome.APPLIED, "found written")
            else:
                to_write.append(i)
        return to_write

    def write(self, ids: list[str]) -> dict[str, RecordResult]:
        self.batches.append(len(ids))
        results = {}
        for i in ids:
            if self.locks.get(i, 0) > 0:
                self.locks[i] -= 1
                results[i] = RecordResult(Outcome.LOCKED, "UNABLE_TO_LOCK_ROW: busy")
            elif i in self.unanswered:
                self.unanswered.discard(i)
                if self.lands:
                    self.written[i] = self.written.get(i, 0) + 1
                results[i] = RecordResult(Outcome.UNKNOWN, "connection dropped")
            else:
                self.written[i] = self.written.get(i, 0) + 1
                results[i] = RecordResult(Outcome.APPLIED)
        return results

    def decide(self, record_id: str, result: RecordResult) -> None:
        self.decided[record_id] = result


def run(org: FakeOrg, ids: list[str]) -> None:
    Rounds(
        RoundSettings(batch_size=200, lock_batch_sizes=(50, 10, 1), lock_pause=0),
        check=org.check,
        write=org.write,
        decide=org.decide,
        sleep=lambda seconds: None,
    ).run(ids)


def test_rounds_retry_locks_smaller_and_verify_unanswered_writes() -> None:
    ids = [f"a{n}" for n in range(300)]
    locks = {i: 2 for i in ids[:60]} | {"a299": 9}
    org = FakeOrg(locks, unanswered={"a100", "a101"}, lands=True)
    run(org, ids)
    assert set(org.decided) == set(ids)
    assert all(count == 1 for count in org.written.values())  # nothing written twice
    assert org.decided["a100"].reason == "found written"
    assert org.decided["a299"].outcome is Outcome.FAILED
    assert org.decided["a299"].reason.startswith("UNABLE_TO_LOCK_ROW: busy (after 4 attempts")
    assert org.batches[:2] == [200, 100]
    assert 50 in org.batches and 10 in org.batches and 1 in org.batches


def test_rounds_resend_unanswered_writes_that_did_not_land() -> None:
    org = FakeOrg({}, unanswered={"a1"}, lands=False)
    run(org, ["a0", "a1"])
    assert org.written == {"a0": 1, "a1": 1}
    assert org.decided["a1"].outcome is Outcome.APPLIED

"""The rule-file reference's section on out-of-office windows (reference.py renders it,
after checking the example against the models like every other)."""

from __future__ import annotations

AVAILABILITY_EXAMPLE = """\
version: 1
kind: routing
routes:
  - id: key-accounts            # the account waits for its key-account manager
    when: {field: account.tier, op: eq, value: Key}
    when_unavailable: wait
    assign: {pool: [ana@example.com]}
  - id: everyone-else           # away members are passed over (skip, the default)
    assign: {pool: {role: farmer}, strategy: round_robin}
availability:                   # both days included; back the day after `until`
  - {owner: ana@example.com, from: 2026-07-01, until: 2026-07-21, reason: parental leave}
  - {owner: ben@example.com, from: 2026-08-03, until: 2026-08-14, reason: holiday}
  - {owner: ben@example.com, from: 2026-12-21, until: 2027-01-01}
"""


def availability_section(example: str) -> list[str]:
    return [
        "### Out of office",
        "",
        "An owner inside an out-of-office window (from its first to its last day, both "
        "included, as of the plan's date) receives no handoff. Windows come from the "
        "routing file's `availability` list (owners by email or id, as in pools) and, when "
        "the connector profile has an `availability` section, from two owner fields holding "
        "each owner's first and last day away (ISO dates; blank: not away; a value that is "
        "not a date gives no window and a warning in the run's log, never a guess). Windows "
        "that follow on without a day between count as one absence.",
        "",
        "A route's `when_unavailable` says what happens when the member its strategy would "
        "pick is away. `skip` (the default): they are passed over like an inactive member, "
        "with the reason `away until 2026-07-21 (parental leave)` in the plan and in "
        "`explain`; if nobody else can take the account it is skipped as "
        "`no-eligible-farmer` (and `when_full: next_route` passes it on). `wait`: the "
        "account stays with its owner, skipped as `waiting-for-return` with the return "
        "date, and the first run after the window routes it again: the turn is still "
        "theirs, so with round robin or weighted it goes to them. The route's later "
        "accounts queue behind it meanwhile: use `wait` where the account "
        "should go to that person (a pool of one, a named key-account manager), `skip` "
        "for a team. A waiting account is not full: it is never passed to the next route.",
        "",
        "Back from leave, an owner gets their turn back without a burst of catch-up "
        "accounts: round robin goes on from where it stands, and a weighted rotation adds "
        "nothing to an away member's running score (they come back with the score they "
        "left with). least_loaded evens out books by design: a member who was away and "
        "owns fewer accounts receives more until the loads are even (cap them with "
        "`capacity` if that is not wanted). Skips are counted by reason in the run's "
        "`skipped_by_reason`; `waiting-for-return` is not a stuck handoff unless "
        "`--fail-on` (or the profile's `alerts.fail_on`) names it.",
        "",
        "`check` refuses a window ending before it starts, two windows of one owner that "
        "overlap (make them one), an owner that is neither an email nor an id, and unknown "
        "keys, with a did-you-mean; it warns about an owner close to, but not in, a pool "
        "of the file, and with `check -c PROFILE` names owners not in the book.",
        "",
        "```yaml",
        example.rstrip(),
        "```",
        "",
    ]

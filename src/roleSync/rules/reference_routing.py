"""The routing file's prose in the rule-file reference: handoff triggers, carried records,
handoff tasks, owner_left and territory. Examples come from `checked_example` (reference.py),
which validates each against the schema, so a stale one fails the generation."""

from __future__ import annotations

from collections.abc import Callable

from roleSync.rules.schema import DEFAULT_MAX_AGE_DAYS
from roleSync.rules.task_template import PLACEHOLDERS

TRIGGER_HELP = {
    "first_won_new_business": "the account's first won new-business deal; dated by its close date",
    "stage_reached": "a deal of `kinds` (default new_business) stands at `stage` now; dated "
    "by its close date when closed, else by its creation date (the book holds each deal's "
    "current stage, not when it got there: creation is the earliest it can have). Several "
    "such deals: the earliest",
    "lifecycle_became": "the account's lifecycle (customer, prospect or other, after the "
    "profile's `lifecycle` mapping) is `lifecycle` now; dated by the account's last update, "
    "else its creation. An account with neither date does not fire. The book holds no "
    "lifecycle history, so any later edit of the account re-dates it: keep `from_roles` "
    "narrow and the age limit short",
    "owner_left": "the account's owner is in the book and deactivated (Salesforce `IsActive` "
    "false, HubSpot archived owner, local book `active` false), whatever their role: their "
    "whole book moves. The book holds no deactivation date, so it is dated by the plan's "
    "date and takes no `delay_days`, `max_age_days`, `since`, `from_roles` or "
    "`from_inactive_owners` (check rejects them)",
}


def table(headers: tuple[str, str], rows: list[tuple[str, str]]) -> list[str]:
    return [
        f"| {headers[0]} | {headers[1]} |",
        "|---|---|",
        *(f"| `{a}` | {b} |" for a, b in rows),
        "",
    ]


def handoffs_section(checked_example: Callable[[str], str]) -> list[str]:
    return [
        "### Handoff triggers",
        "",
        "`handoff:` is one block; `handoffs:` a list of them, each with its own `id`. For "
        "each account the blocks are tried in order: the first whose trigger fired on or "
        "before the plan's date, within its age limit, and whose `from_roles` (or "
        "`from_inactive_owners`) take the account's owner decides; its `delay_days` count "
        "from the trigger's date. Each ownership change in the plan names its `trigger` and "
        "`handoff_id`, and `rolesync explain ACCOUNT` shows them.",
        "",
        *table(("trigger", "fires when"), list(TRIGGER_HELP.items())),
        f"Age limit: a trigger older than `max_age_days` (default {DEFAULT_MAX_AGE_DAYS}) "
        "before the plan's date, or before `since`, does not move the account (the plan "
        "counts it as `too_old`): a first sync never hands off a whole historic book. To "
        "backfill older accounts on purpose, raise `max_age_days` or set an early `since`, "
        "plan, review, and apply.",
        "",
        "`carry` lists the records that follow a handed-off account to its new owner: "
        "open deals of the given `kinds`, contacts, open tasks (`all`, or `previous_owner`: "
        "only those the previous owner owns). Closed deals never move: a won deal stays "
        "with whoever won it. Each carried record is an entry of the plan's "
        "`related_changes` with its reason, counted in the summary as `carried` and by "
        "the profile's guardrail `max_related_changes`. Apply writes each after its "
        "account moved, only while its owner is still the one the plan saw "
        "(compare-and-set; a record closed since stays too), journaled and audited; the "
        "records of an account that did not move stay (audited `skipped`), and a "
        "rollback sends each back to its owner before the run. From Salesforce or "
        "HubSpot, contacts and tasks are carried only when the profile pulls them "
        "(`pull: {contacts: true, tasks: true}`; `check -c` warns otherwise).",
        "",
        "`tasks` creates a CRM task for each handed-off account's new owner (and, if given, "
        "one for its previous owner while they are still active), due `due_in_days` after "
        "the plan's date. Subject and body are filled when the plan is made, from these "
        "placeholders only (`{{` and `}}` are literal braces; no other template syntax):",
        "",
        *table(("placeholder", "becomes"), [(f"{{{k}}}", v) for k, v in PLACEHOLDERS.items()]),
        "Each is an entry of the plan's `task_creates` with a `key` derived from the handoff "
        "(block, account, new owner, trigger date, whom it is for), the same on every re-plan, "
        "which the CRM task stores so that it is created once; counted as `tasks` in the "
        "summary (`tasks_owner_left`: previous-owner tasks not created, that owner left) "
        "and by the profile's guardrail `max_handoff_tasks`. Salesforce: a Task with "
        "WhatId the account, OwnerId, ActivityDate and the key in `RoleSync_Key__c` (the "
        "profile's `salesforce.task_key_field`, a unique external-id text field you "
        "create); HubSpot: a task associated with the company, the key in the unique task "
        "property `rolesync_key` (`rolesync setup` creates it); the local book: a row of "
        "its `tasks` table. Only for accounts the run moved; a rollback leaves them.",
        "",
        "```yaml",
        checked_example("handoffs").rstrip(),
        "```",
        "",
        "owner_left redistributes a deactivated owner's whole book by the block's own "
        "`routes` (without them, by the file's `routes`): a `when` on `account.lifecycle` "
        "sends customers to farmers and the rest to hunters (`pool: {role: hunter}`). "
        "`capacity` caps hold: an account no pool member can take is skipped as "
        "`no-eligible-farmer` with the reason (the pool's members at capacity) and stays "
        "with its departed owner until there is room. Put the owner_left block first: the "
        "first block that fires decides. `from_inactive_owners` on the other blocks still "
        "hands off an inactive owner's accounts whose trigger fired, by the file's routes; "
        "with an owner_left block first, owner_left takes them all.",
        "",
        "```yaml",
        checked_example("owner_left").rstrip(),
        "```",
        "",
    ]


def territory_section(checked_example: Callable[[str], str]) -> list[str]:
    return [
        "### Territory",
        "",
        "A route's `assign.match` keeps each account among the pool members whose own "
        "fields match it: the account's region equals the owner's (`op: eq`), or is one of "
        "the owner's regions (`op: in`). Owner fields are the extra fields the connector "
        "profile maps (`import.owners.fields`, `salesforce.owner_fields`, "
        "`hubspot.owner_properties`), named `owner.fields.<name>`; a list is one text "
        "separated by `;` (`EMEA;APAC`, as Salesforce multi-select picklists and HubSpot "
        "checkboxes send it). Text compares case-insensitively with surrounding blanks "
        "ignored, and a blank value on either side never matches: an account without a "
        "region goes to nobody, an owner without regions covers none. Members outside the "
        "territory are passed over with a reason such as `outside territory (region EMEA "
        "not in AMER, LATAM)`, shown by `rolesync explain ACCOUNT`; when nobody is left "
        "the account is skipped as `no-eligible-farmer`, the reason counting them (`4 "
        "outside territory (region MEA)`), or with `when_full: next_route` it goes on to "
        "the next route. Round robin keeps one rotation per territory (the state is kept "
        "as `<route id>@<territory>`), so members of one region share its accounts in "
        "turn whatever the other regions receive. Capacity, weights and least_loaded count "
        "as usual among the members inside. Territory routes pick by a scan of the pool. "
        "`apply` re-checks each change: a target that no longer covers the account (its "
        "regions or the account's region edited since the plan) is not written. "
        "`check` refuses a name that is no account field or not `owner.fields.<name>`, and "
        "with `-c PROFILE` an extra name the profile does not map, each with a "
        "did-you-mean.",
        "",
        "```yaml",
        checked_example("territory").rstrip(),
        "```",
        "",
    ]

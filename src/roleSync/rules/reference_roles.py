"""Prose of the rule-file reference about the roles file: stable roles (`hysteresis`).

Kept apart from `roleSync.rules.reference`, which generates the reference from the
models; this is text only.
"""

from __future__ import annotations


def hysteresis_section() -> list[str]:
    return [
        "### Stable roles",
        "",
        "Without `hysteresis`, roles are recomputed from scratch every run: an owner whose "
        "share sits at a threshold flips role day after day (0.7998, 0.8014, 0.7998 against "
        "`gte 0.80`: unclassified, hunter, unclassified). `hysteresis` keeps each owner's "
        "role of the previous run until the rules give another one by a `margin`, or on "
        "a number of consecutive `days`, or (both given) either.",
        "",
        "With `hysteresis: {margin: 0.05}` the rules are re-read in the owner's favour: "
        "every ordering comparison (lt, lte, gt, gte) with a number is moved by the margin, "
        "towards matching in rules giving the current role and away from it in the others "
        "(under `not`, the other way round); eq, ne, in, not_in and contains never move. If "
        "the first rule matching then still gives the current role, it is kept, with a "
        "reason such as `held hunter: new_business_share 0.7998 within the 0.05 margin of "
        "0.8 (without the margin: unclassified, no rule matched)`, shown in the plan and by "
        "`rolesync explain OWNER`. So with `gte 0.80` a new hunter needs 0.85 and a hunter "
        "stays one down to 0.75; in an `all` of two numeric comparisons each must clear its "
        "threshold by the margin for a new role. One margin suits metrics of one scale: "
        "`metrics: [new_business_share]` moves only the comparisons on the metrics named "
        "(a count such as `won_deals` then keeps its threshold). Overrides are never held.",
        "",
        "With `hysteresis: {days: 3}` the rules are read as they are, and a role they give "
        "instead of the current one is taken only once they have given it for 3 calendar "
        "days, counted from the date of the first run that gave it to this run's date, both "
        "included: first given by the run of June 1, it is taken by the run of June 3 (or "
        "by the first run after, when there is none that day). Until then the plan holds "
        "the current role with a reason such as `held hunter: the rules have given farmer "
        "for 2 of 3 days (since 2026-06-01); farmer from 2026-06-03 if they still give it "
        "(without hysteresis: farmer by rule farmer)`, and `explain` says when the role "
        "changes. A run whose rules give the current role again, or a third role, breaks "
        "the streak: the next one starts from its own first day. Each plan records the "
        "streak per owner (`pending: {role: farmer, since: 2026-06-01}` in `owners`; "
        "plans from before have none), and the next run goes on from the last finished "
        "sync or apply's plan. A plan made for a date before a streak's first day starts "
        "a new one on its date; a second run on the same day counts that day once. With "
        "`margin` and `days` both, a change past the margin is taken at once and one "
        "within it after the days. `days` is 2 to 365 (1 would hold nothing).",
        "",
        "The previous role is the CRM's role field when the profile writes roles back "
        "(`metrics.fields.role`), else the owner's role in the plan of the profile's last "
        "finished sync or apply. With neither (a first run, a new owner) the role is "
        "decided from scratch. The count of `days` comes only from that plan, and only "
        "while the previous role is the one that plan held: taking roles from the CRM's "
        "field with no plan yet, or after a person set another role there, starts the count "
        "afresh. `apply` re-checks a saved plan's targets with the same held roles and "
        "counts, as of the plan's date. `check` refuses a margin that is not a positive "
        "number, `days` that are not a whole number from 2 to 365, `metrics` without a "
        "margin, an owner field (such as `owner.title`, text) in `metrics`, and a "
        "`hysteresis` with neither key; it warns when no classify rule has an ordering "
        "comparison with a number (or with a metric `metrics` names): the margin would "
        "never apply. An unknown name in `metrics` is an error with a did-you-mean.",
        "",
    ]

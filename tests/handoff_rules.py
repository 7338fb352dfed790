"""The rule files the end-to-end handoff-trigger tests share (one test per trigger on the
Salesforce and on the HubSpot emulator): roles by deal mix, one handoff block per test
(`ROUTING.format(block=...)`) routed to farmers, and owner_left's own routes."""

from __future__ import annotations

from datetime import date, timedelta

AS_OF = date(2026, 6, 30)
RECENT = AS_OF - timedelta(days=100)

ROLES = """\
version: 1
kind: roles
window_days: 365
classify:
  - {id: hunter, role: hunter, when: {metric: new_business_share, op: gte, value: 0.6}}
  - {id: farmer, role: farmer, when: {metric: new_business_share, op: lte, value: 0.4}}
"""

ROUTING = """\
version: 1
kind: routing
handoffs:
  - {block}
routes:
  - id: farmers
    assign: {{pool: {{role: farmer}}}}
"""

OWNER_LEFT = """\
{id: owner-left, trigger: owner_left, routes: [
      {id: left-customers, when: {field: account.lifecycle, op: eq, value: customer},
       assign: {pool: {role: farmer}}},
      {id: left-prospects, assign: {pool: {role: hunter}}}]}"""

# A first win handed over with what it carries (the carry end-to-end tests): open
# renewals and expansions, every contact, the hunter's open tasks; and a task for each
# side, filled from the placeholders when planning.
CARRY = """\
{id: first-win, trigger: first_won_new_business, delay_days: 14,
    carry: [{deals: {kinds: [renewal, expansion]}}, {contacts: all}, {tasks: previous_owner}],
    tasks: {
      new_owner: {subject: "Welcome {account} from {previous_owner}",
                  body: "Handed over by {trigger} on {trigger_date}.", due_in_days: 3},
      previous_owner: {subject: "Introduce {new_owner} to {account}", due_in_days: 5}}}"""

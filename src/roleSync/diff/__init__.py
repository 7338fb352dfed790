"""`rolesync diff`: the effect of a rule change on the same book and date (pure core).

compare: two plans -> RuleDiff; verdict: the guardrails; document, text, markdown: the
three ways to show it. Pulling the book and reading rules at a git ref are elsewhere
(sync.planning, git_rules).
"""

from roleSync.diff.compare import RuleDiff, compare_plans
from roleSync.diff.document import DIFF_FORMAT, diff_exit_code, to_json
from roleSync.diff.verdict import Measured, Verdict, guardrail_verdict

__all__ = [
    "DIFF_FORMAT",
    "Measured",
    "RuleDiff",
    "Verdict",
    "compare_plans",
    "diff_exit_code",
    "guardrail_verdict",
    "to_json",
]

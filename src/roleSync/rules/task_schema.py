"""routing.yaml `tasks`: the CRM tasks a handoff creates for the new (and previous) owner.

Kept apart from rules.schema, like carry_schema; the same strict, closed models. A text
with an unknown placeholder or a stray brace is refused here, at its key, and the
loader points at the offending text inside the value (`offset` in the error).
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, StrictInt, StrictStr, field_validator
from pydantic_core import PydanticCustomError

from roleSync.rules.field_docs import DescribedModel
from roleSync.rules.task_template import (
    BODY_LIMIT,
    SUBJECT_LIMIT,
    Part,
    TemplateError,
    parse_template,
)

MAX_DUE_IN_DAYS = 365


class _Strict(DescribedModel):
    # As rules.schema._Strict (which imports this module, so cannot be imported here).
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class TaskSpec(_Strict):
    """One task a handoff creates: its text, with placeholders, and when it is due."""

    subject: StrictStr = Field(min_length=1, max_length=SUBJECT_LIMIT)
    """The task's subject, one line, e.g. "Welcome {account} ({trigger})". Placeholders:
    {account} {account_id} {previous_owner} {new_owner} {trigger} {trigger_date} {route}
    {due_date}; `{{` and `}}` for literal braces. Cut with an ellipsis past 255 characters
    once filled (Salesforce's limit)."""
    body: StrictStr = Field(default="", max_length=BODY_LIMIT)
    """The task's body (the same placeholders); cut past 32,000 characters once filled."""
    due_in_days: StrictInt = Field(default=0, ge=0, le=MAX_DUE_IN_DAYS)
    """Days from the plan's date to the task's due date: 0 (that day) to 365."""

    @field_validator("subject", "body")
    @classmethod
    def _placeholders(cls, text: str) -> str:
        template_parts(text)
        return text


def template_parts(text: str) -> tuple[Part, ...]:
    """The parsed text, or the pydantic error the loader positions inside the value:
    `offset` and `token` say where, `occurrence` which of the token's repeats it is."""
    try:
        return parse_template(text)
    except TemplateError as exc:
        # "{message}" is the whole template and the last context key: a message quoting
        # the user's braces ("{offset}") is never formatted again.
        context = {
            "offset": exc.offset,
            "token": exc.token,
            "occurrence": text[: exc.offset].count(exc.token),
            "message": exc.message,
        }
        raise PydanticCustomError(exc.code, "{message}", context) from None


class HandoffTasks(_Strict):
    """CRM tasks created, exactly once, for each account the block hands off."""

    new_owner: TaskSpec
    """The task for the account's new owner, e.g. a welcome and a first call."""
    previous_owner: TaskSpec | None = None
    """Optional: a task for the previous owner ("introduce {new_owner} to {account}"). Not
    created when the previous owner is inactive or not in the book (the plan counts those
    as `tasks_owner_left`); refused with trigger owner_left, whose previous owner left."""

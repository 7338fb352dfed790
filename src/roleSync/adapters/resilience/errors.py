"""The errors every remote adapter raises for retries, limits and credentials."""

from __future__ import annotations

from roleSync.errors import CRMError, ExitCode


class StopRunError(CRMError):
    """The run must stop now, cleanly: going on would hit the CRM's limits."""

    exit_code = ExitCode.GUARDRAIL


class BudgetExhaustedError(StopRunError):
    """The run used (or would use) more than its share of the daily API requests."""


class DailyLimitError(StopRunError):
    """The CRM refused a request because the org's daily request limit is used up."""


class AuthenticationError(CRMError):
    """The CRM rejected the credentials and a refresh did not help."""


class RequestError(CRMError):
    """A request failed for good (a refusal, or retries exhausted)."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class OutcomeUnknownError(RequestError):
    """A write was sent but no answer came back: it may or may not have been applied."""


class RefusedError(RequestError):
    """The CRM refused a request as a whole (bad input, missing scope or permission):
    it acted on nothing, so the caller may report every record of it as failed."""

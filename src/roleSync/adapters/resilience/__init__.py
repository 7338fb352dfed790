"""Retries, backoff, rate limiting and API budgets: the one place every remote adapter
uses for them.

The pieces, from pure to effectful:

- `Decision` and a per-CRM decision function `(status, headers, body) -> Decision`
  (airbyte style): what to do with a response, decided on bare values, unit-testable
  without a network. `decide_salesforce` and `decide_hubspot` are the CRMs' ones;
  `decide_transport` (requests) and `decide_urllib3_transport` (urllib3) classify
  connection errors and timeouts.
- `ApiBudget`: the run's share of the CRM's daily request allowance, fed from response
  headers; raises `BudgetExhaustedError` before a request would cross the ceiling.
- Rate limiters with injectable clocks: `TokenBucket`, `RollingWindow`, and
  `HubSpotLimiter` (HubSpot's burst and search windows, kept from its rate-limit
  headers).
- `RetryingSession`: a `requests.Session` that runs every request through the policy
  (dlt style): the SDK gets this session, so no SDK call escapes it (simple-salesforce).
- `CallRunner`: the same for SDKs not built on requests (hubspot-api-client): every SDK
  call is a function the runner sends, waits for, retries or stops.

Writes are the delicate part: a write whose connection dropped after it was sent may
have been applied. Re-sending it could write a record twice, so a non-idempotent
request is only sent again when the decision says the server cannot have acted on it
(`replay_safe`); otherwise `OutcomeUnknownError`, and the caller verifies by reading
before it writes again.

Modules: errors, decisions, budget, limits, session (requests), calls (other SDKs).
"""

from roleSync.adapters.resilience.budget import ApiBudget, parse_limit_info
from roleSync.adapters.resilience.calls import CallLimiter, CallRunner
from roleSync.adapters.resilience.decisions import (
    Action,
    Decide,
    Decision,
    decide_hubspot,
    decide_salesforce,
    decide_transport,
    decide_urllib3_transport,
    hubspot_error,
    rate_limit_headers,
    retry_after_seconds,
    salesforce_errors,
)
from roleSync.adapters.resilience.errors import (
    AuthenticationError,
    BudgetExhaustedError,
    DailyLimitError,
    OutcomeUnknownError,
    RefusedError,
    RequestError,
    StopRunError,
)
from roleSync.adapters.resilience.limits import (
    Clock,
    HubSpotLimiter,
    RollingWindow,
    Sleep,
    TokenBucket,
)
from roleSync.adapters.resilience.session import (
    IDEMPOTENT_METHODS,
    RetryingSession,
    RetryPolicy,
    TokenSource,
)

__all__ = [
    "IDEMPOTENT_METHODS",
    "Action",
    "ApiBudget",
    "AuthenticationError",
    "BudgetExhaustedError",
    "CallLimiter",
    "CallRunner",
    "Clock",
    "DailyLimitError",
    "Decide",
    "Decision",
    "HubSpotLimiter",
    "OutcomeUnknownError",
    "RefusedError",
    "RequestError",
    "RetryPolicy",
    "RetryingSession",
    "RollingWindow",
    "Sleep",
    "StopRunError",
    "TokenBucket",
    "TokenSource",
    "decide_hubspot",
    "decide_salesforce",
    "decide_transport",
    "decide_urllib3_transport",
    "hubspot_error",
    "parse_limit_info",
    "rate_limit_headers",
    "retry_after_seconds",
    "salesforce_errors",
]

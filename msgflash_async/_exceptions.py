"""The error tree of msgflash_async.

Every failure the SDK raises is a :class:`MsgFlashError`. The tree follows the
phase in which a call failed, then the HTTP status and MsgFlash ``error.code``
of the answer::

    MsgFlashError
    ├── ConfigurationError            bad client set-up (key format, base URL, ...)
    ├── ValidationError               bad argument, refused before any request
    ├── ClientClosedError             the client was used after aclose()
    ├── TransportError                no usable HTTP answer (.request_sent tells
    │   │                             whether the request may have reached the server)
    │   ├── ConnectError              could not connect: the request never left
    │   ├── RequestTimeoutError       no answer within the per-attempt timeout
    │   ├── ConnectionLostError       the connection dropped, or the body was cut
    │   ├── DeadlineExceededError     the overall deadline of a call (retries included)
    │   ├── RateLimiterUnavailableError  the shared rate limiter (Redis) did not
    │   │                             answer: the request was not sent
    │   └── ResponseTooLargeError     a body past the client's max_response_bytes
    ├── DecodeError                   an answer that does not fit the expected model
    ├── PaginationError               a list the server never ends (cursor repeated,
    │                                 empty pages promising more)
    ├── APIError                      the server answered with an error envelope
    │   ├── BadRequestError           400 (BAD_REQUEST)
    │   │   ├── CampaignStateError    400 BAD_REQUEST to a campaign pause/resume (wrong status)
    │   │   ├── ServerValidationError 400 VALIDATION_ERROR
    │   │   └── TemplateError         400 TEMPLATE_INVALID, _VARIABLES_MISSING, _CONTEXT_UNAVAILABLE
    │   ├── AuthenticationError       401 UNAUTHORIZED
    │   ├── PermissionDeniedError     403 FORBIDDEN, TEAM_*, INSTANCE_NOT_ASSIGNED
    │   │   ├── PlanLimitError        403 MAX_*, SUBSCRIPTION_INACTIVE, TEAM_*_LIMIT_*
    │   │   │   └── FeatureNotAvailableError 403 *_NOT_AVAILABLE_ON_PLAN (.feature)
    │   │   └── TeamKeyNotAllowedError 403 TEAM_KEY_NOT_ALLOWED (personal-key-only route)
    │   ├── NotFoundError             404 NOT_FOUND, TEAM_NOT_FOUND
    │   ├── ConflictError             409 CONFLICT
    │   ├── UnprocessableError        422 INVALID_DESTINATION
    │   ├── RateLimitError            429 API_RATE_LIMIT_EXCEEDED (transient)
    │   ├── QuotaExceededError        429 MONTHLY_*_QUOTA_EXCEEDED (not transient)
    │   └── ServerError               5xx INTERNAL_ERROR
    │       └── ProviderError         502 PROVIDER_ERROR / _TIMEOUT / _UNAVAILABLE
    ├── InsufficientQuotaError        a quota preflight refused work that cannot fit
    ├── JobError                      a job ended badly or stalled (.job carries it)
    │   ├── JobFailedError
    │   ├── JobCancelledError
    │   └── JobStalledError           no progress for the stall window (job still running)
    ├── CampaignError                 a campaign wait ended without completion (.campaign)
    │   ├── CampaignFailedError
    │   ├── CampaignCancelledError
    │   └── CampaignStalledError      an unknown status and no progress: it may never end
    ├── MessageError                  a message ended before the awaited status (.msg)
    │   ├── MessageFailedError
    │   └── MessageCancelledError
    ├── BotError                      a bot conversation could not go on
    │   ├── ConversationTimeoutError  no answer (or status) within the timeout; a TimeoutError
    │   ├── ConversationCancelledError an answer was handed to a conversation that was cancelled
    │   └── BotBusyError              too many events or conversations waiting at once
    └── WebhookVerificationError      a webhook delivery whose signature does not hold

Unknown codes fall back by HTTP status; unknown statuses fall back to
:class:`APIError`. Only the standard library is imported here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # names for the annotations only: this module imports no models
    from .models.campaigns import Campaign
    from .models.jobs import BulkJob
    from .models.lookups import NumberLookup
    from .models.messages import Message

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "BotBusyError",
    "BotError",
    "CampaignCancelledError",
    "CampaignError",
    "CampaignFailedError",
    "CampaignStalledError",
    "CampaignStateError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionLostError",
    "ConversationCancelledError",
    "ConversationTimeoutError",
    "DeadlineExceededError",
    "DecodeError",
    "FeatureNotAvailableError",
    "InsufficientQuotaError",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobStalledError",
    "MessageCancelledError",
    "MessageError",
    "MessageFailedError",
    "MsgFlashError",
    "NotFoundError",
    "PaginationError",
    "PermissionDeniedError",
    "PlanLimitError",
    "ProviderError",
    "QuotaExceededError",
    "RateLimitError",
    "RateLimiterUnavailableError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "ServerError",
    "ServerValidationError",
    "TeamKeyNotAllowedError",
    "TemplateError",
    "TransportError",
    "UnprocessableError",
    "ValidationError",
    "WebhookVerificationError",
    "error_class_for",
]


class MsgFlashError(Exception):
    """Base class of every error raised by msgflash_async.

    Every error pickles and copies (``pickle``, ``copy.copy``,
    ``copy.deepcopy``) with its attributes, for error trackers, process
    pools and multiprocessing queues. The chained cause, context and
    traceback stay behind, as for any pickled exception.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's own reduce replays ``cls(*args)``, which fails for
        # every subclass taking keyword-only arguments (status=, job=, msg=):
        # rebuild without calling __init__, then restore the attributes.
        return (_rebuild, (type(self), self.args, dict(vars(self))))


def _rebuild(cls: type[MsgFlashError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    """An error of ``cls`` with ``args`` and the attributes in ``state``, not re-initialised."""
    error = cls.__new__(cls, *args)
    error.args = args
    vars(error).update(state)
    return error


class ConfigurationError(MsgFlashError, ValueError):
    """The client was set up in a way that cannot work; the message says how to fix it."""


class ValidationError(MsgFlashError, ValueError):
    """An argument breaks a documented rule; raised before any request is sent."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.message = message


class ClientClosedError(MsgFlashError, RuntimeError):
    """The client was used after ``aclose()``."""


class TransportError(MsgFlashError):
    """No usable HTTP answer came back.

    ``request_sent`` is False only when the request provably never reached the
    server (so it is safe to send again); otherwise the outcome is unknown.
    """

    request_sent: bool = True

    def __init__(self, message: str, *, method: str = "", path: str = "") -> None:
        super().__init__(f"{message} ({method} {path})" if method else message)
        self.method = method
        self.path = path


class ConnectError(TransportError):
    """The connection could not be made; the request never left this process."""

    request_sent = False


class RequestTimeoutError(TransportError):
    """No answer within the per-attempt timeout; the request may have been processed."""


class ConnectionLostError(TransportError):
    """The connection dropped after the request was sent, or the body was cut short."""


class DeadlineExceededError(TransportError):
    """The overall deadline of a logical call (all retries included) passed."""


class RateLimiterUnavailableError(TransportError):
    """The shared rate limiter (e.g. Redis) could not be asked: nothing was sent.

    Raised instead of sending without a limit, which would overrun the budget
    the other processes hold to. The limiter's ``fallback_rate`` opts into a
    conservative local limit instead.
    """

    request_sent = False


class ResponseTooLargeError(TransportError):
    """The answer's body passed the client's ``max_response_bytes``; reading stopped there.

    The request was processed (``request_sent`` is True) but its answer is
    unusable. Not retried: the same call would get the same body.
    """

    def __init__(self, message: str, *, method: str = "", path: str = "", limit: int = 0) -> None:
        super().__init__(message, method=method, path=path)
        self.limit = limit


class DecodeError(MsgFlashError):
    """A response body does not fit the model the SDK expected."""

    def __init__(self, message: str, *, model: str = "", field: str = "") -> None:
        super().__init__(message)
        self.model = model
        self.field = field


class PaginationError(MsgFlashError):
    """The server would never end a list: it sent a cursor again, or too many empty pages.

    ``endpoint`` names the list (``GET /api/v1/contacts``); ``cursor`` is the
    repeated cursor, if that was the reason. No more requests are sent.
    """

    def __init__(self, message: str, *, endpoint: str = "", cursor: str | None = None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.cursor = cursor


class APIError(MsgFlashError):
    """The API answered with an error; carries everything the server said."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        details: Any = None,
        method: str = "",
        path: str = "",
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.details = details
        self.method = method
        self.path = path
        self.headers: Mapping[str, str] = dict(headers or {})

    def __str__(self) -> str:
        code = f" {self.code}" if self.code else ""
        return f"{self.status}{code}: {self.message} ({self.method} {self.path})"

    def __repr__(self) -> str:
        # getattr: safe on an error whose __init__ did not finish (a traceback
        # printed with locals may show one).
        fields = ("status", "code", "message", "method", "path")
        shown = ", ".join(f"{name}={getattr(self, name, None)!r}" for name in fields)
        return f"{type(self).__name__}({shown})"


class BadRequestError(APIError):
    """400: the request is invalid."""


class ServerValidationError(BadRequestError):
    """400 VALIDATION_ERROR: the body failed the server's schema; see ``details``."""


class TemplateError(BadRequestError):
    """400 TEMPLATE_*: the template or its variables could not be rendered."""


class AuthenticationError(APIError):
    """401: the key is missing, invalid, revoked, or a team key lacks its team id."""


class PermissionDeniedError(APIError):
    """403: the key is valid but may not do this."""


class PlanLimitError(PermissionDeniedError):
    """403: the plan forbids this or a plan cap is reached."""


class FeatureNotAvailableError(PlanLimitError):
    """403 ``<FEATURE>_NOT_AVAILABLE_ON_PLAN``: the plan does not include this feature.

    ``feature`` names it in lower case (``"campaigns"``, ``"statuses"``,
    ``"webhooks"``, ...; ``"feature"`` for the generic code). Plans change:
    read the plan's ``features`` from billing usage instead of assuming.
    """

    @property
    def feature(self) -> str:
        code = self.code or ""
        return code.removesuffix("_NOT_AVAILABLE_ON_PLAN").lower() or "feature"


class CampaignStateError(BadRequestError):
    """400 BAD_REQUEST to a pause or resume: the campaign's status does not allow it now.

    Pause works on a ``scheduled`` or ``running`` campaign, resume on a
    ``paused`` one; read the campaign again to see where it is.
    """


class TeamKeyNotAllowedError(PermissionDeniedError):
    """403 TEAM_KEY_NOT_ALLOWED: this route needs a personal key (``msgf_live_``).

    Account and billing reads (``/me``, usage, subscription, payments) are
    personal; a team key may read only the plans.
    """


class NotFoundError(APIError):
    """404: missing, or outside your account or workspace."""


class ConflictError(APIError):
    """409: a uniqueness conflict (e.g. a duplicate group name)."""


class UnprocessableError(APIError):
    """422: e.g. INVALID_DESTINATION, a recipient number WhatsApp cannot reach."""


class RateLimitError(APIError):
    """429 API_RATE_LIMIT_EXCEEDED: more than the per-second limit; transient."""


class QuotaExceededError(APIError):
    """429 MONTHLY_*_QUOTA_EXCEEDED: will not clear until the period ends."""


class ServerError(APIError):
    """5xx: the server failed."""


class ProviderError(ServerError):
    """502 PROVIDER_*: the WhatsApp provider behind MsgFlash failed."""


class InsufficientQuotaError(MsgFlashError):
    """A preflight found that the work cannot fit the remaining monthly outbound quota.

    Raised before anything is sent. ``requested`` is how many messages the
    work needs, ``fits`` how many the quota still allows this period (send
    at most that many, or wait for ``period_end``).
    """

    def __init__(self, message: str, *, requested: int, fits: int, period_end: Any = None) -> None:
        super().__init__(message)
        self.requested = requested
        self.fits = fits
        self.period_end = period_end


class JobError(MsgFlashError):
    """A job ended in ``failed`` or ``cancelled``, or stalled; ``job`` is its last state."""

    def __init__(self, message: str, *, job: BulkJob | NumberLookup | None) -> None:
        super().__init__(message)
        self.job = job


class JobFailedError(JobError):
    """The job ended with status ``failed``."""


class JobCancelledError(JobError):
    """The job ended with status ``cancelled``."""


class JobStalledError(JobError):
    """A polled job made no progress for the stall window; ``job`` is its last state.

    The job goes on on the server and the handle stays usable: await it again
    for one more window, or cancel it. ``stalled_for`` is the window in seconds.
    """

    def __init__(
        self, message: str, *, job: BulkJob | NumberLookup | None = None, stalled_for: float = 0.0
    ) -> None:
        super().__init__(message, job=job)
        self.stalled_for = stalled_for


class CampaignError(MsgFlashError):
    """A campaign wait ended without the campaign completing; ``campaign`` is its last state."""

    def __init__(self, message: str, *, campaign: Campaign) -> None:
        super().__init__(message)
        self.campaign = campaign


class CampaignFailedError(CampaignError):
    """The campaign ended with status ``failed``."""


class CampaignCancelledError(CampaignError):
    """The campaign ended with status ``cancelled``."""


class CampaignStalledError(CampaignError):
    """The campaign shows a status the SDK does not know and its counts stopped moving.

    Waiting on could last forever, so the wait ends here; ``campaign.status``
    is the server's value. Read the campaign later to see how it ended.
    """


class MessageError(MsgFlashError):
    """A message ended without reaching the awaited status; ``msg`` is its last state."""

    def __init__(self, text: str, *, msg: Message) -> None:
        super().__init__(text)
        self.msg = msg
        self.error: Any = getattr(msg, "error", None)
        """The server's ``error`` field (its shape is not documented)."""


class MessageFailedError(MessageError):
    """The message ended with status ``failed``."""


class MessageCancelledError(MessageError):
    """The message ended with status ``cancelled`` (a scheduled or campaign message)."""


class BotError(MsgFlashError):
    """A bot could not go on with a conversation (see ``msgflash_async.bot``)."""


class ConversationTimeoutError(BotError, TimeoutError):
    """No answer, or no awaited message status, came within the timeout."""


class ConversationCancelledError(BotError):
    """An answer reached a conversation that was cancelled before it could handle it.

    The delivery of that answer is refused, so MsgFlash delivers it again and
    it is routed like any other message.
    """


class BotBusyError(BotError):
    """Too many events or conversations are waiting at once; the delivery is retried later."""


class WebhookVerificationError(MsgFlashError):
    """A webhook delivery is missing its signature or the signature does not match."""


_BY_CODE: dict[str, type[APIError]] = {
    "BAD_REQUEST": BadRequestError,
    "VALIDATION_ERROR": ServerValidationError,
    "TEMPLATE_INVALID": TemplateError,
    "TEMPLATE_VARIABLES_MISSING": TemplateError,
    "TEMPLATE_CONTEXT_UNAVAILABLE": TemplateError,
    "UNAUTHORIZED": AuthenticationError,
    "FORBIDDEN": PermissionDeniedError,
    "TEAM_KEY_REQUIRED": PermissionDeniedError,
    "TEAM_KEY_NOT_ALLOWED": TeamKeyNotAllowedError,
    "TEAM_ACCESS_DENIED": PermissionDeniedError,
    "INSTANCE_NOT_ASSIGNED": PermissionDeniedError,
    "BILLING_TEAM_MUTATION_FORBIDDEN": PermissionDeniedError,
    "BILLING_PAYMENTS_TEAM_OWNER_ONLY": PermissionDeniedError,
    "SUBSCRIPTION_INACTIVE": PlanLimitError,
    "MAX_INSTANCES_REACHED": PlanLimitError,
    "MAX_API_KEYS_REACHED": PlanLimitError,
    "MAX_WEBHOOK_ENDPOINTS_REACHED": PlanLimitError,
    "MAX_CONTACT_GROUPS_REACHED": PlanLimitError,
    "API_KEYS_NOT_AVAILABLE_ON_PLAN": FeatureNotAvailableError,
    "WEBHOOKS_NOT_AVAILABLE_ON_PLAN": FeatureNotAvailableError,
    "CAMPAIGNS_NOT_AVAILABLE_ON_PLAN": FeatureNotAvailableError,
    "STATUSES_NOT_AVAILABLE_ON_PLAN": FeatureNotAvailableError,
    "FEATURE_NOT_AVAILABLE_ON_PLAN": FeatureNotAvailableError,
    "TEAM_FEATURE_UNAVAILABLE": PlanLimitError,
    "TEAM_LIMIT_REACHED": PlanLimitError,
    "TEAM_SEAT_LIMIT_REACHED": PlanLimitError,
    "NOT_FOUND": NotFoundError,
    "TEAM_NOT_FOUND": NotFoundError,
    "CONFLICT": ConflictError,
    "INVALID_DESTINATION": UnprocessableError,
    "API_RATE_LIMIT_EXCEEDED": RateLimitError,
    "MONTHLY_API_REQUEST_QUOTA_EXCEEDED": QuotaExceededError,
    "MONTHLY_OUTBOUND_QUOTA_EXCEEDED": QuotaExceededError,
    "INTERNAL_ERROR": ServerError,
    "PROVIDER_ERROR": ProviderError,
    "PROVIDER_TIMEOUT": ProviderError,
    "PROVIDER_UNAVAILABLE": ProviderError,
}

_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableError,
    429: RateLimitError,
}


def error_class_for(status: int, code: str | None) -> type[APIError]:
    """The exception class for an error answer: by code first, then by status."""
    if code is not None:
        by_code = _BY_CODE.get(code)
        if by_code is not None:
            return by_code
        if code.startswith("MONTHLY_") and code.endswith("_QUOTA_EXCEEDED"):
            return QuotaExceededError
        if code.endswith("_NOT_AVAILABLE_ON_PLAN") and status == 403:
            return FeatureNotAvailableError
        if code.startswith(("MAX_", "TEAM_")) or code.endswith("_NOT_AVAILABLE_ON_PLAN"):
            return PlanLimitError if status == 403 else _BY_STATUS.get(status, APIError)
        if code.startswith("TEMPLATE_"):
            return TemplateError
        if code.startswith("PROVIDER_"):
            return ProviderError
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, APIError)

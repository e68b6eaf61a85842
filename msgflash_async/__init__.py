"""msgflash_async: the asyncio SDK for the MsgFlash WhatsApp messaging API.

Start with :class:`MsgFlashClient`; errors derive from :class:`MsgFlashError`
(the tree is drawn in ``msgflash_async/_exceptions.py``). Webhook
verification and receivers live in :mod:`msgflash_async.webhooks`, the
emulator in :mod:`msgflash_async.testing`.
"""

from ._batch import BatchSender, BatchStream
from ._batch_outcomes import BatchProgress, BatchReport, OutcomeStatus, SendOutcome, UnknownInput
from ._client import MsgFlashClient
from ._config import ClientConfig, RetryPolicy, Timeouts
from ._converter import configure_converter, make_converter
from ._exceptions import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ClientClosedError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ConnectionLostError,
    DeadlineExceededError,
    DecodeError,
    JobCancelledError,
    JobError,
    JobFailedError,
    MessageCancelledError,
    MessageError,
    MessageFailedError,
    MsgFlashError,
    NotFoundError,
    PermissionDeniedError,
    PlanLimitError,
    ProviderError,
    QuotaExceededError,
    RateLimitError,
    RequestTimeoutError,
    ServerError,
    ServerValidationError,
    TemplateError,
    TransportError,
    UnprocessableError,
    ValidationError,
    WebhookVerificationError,
)
from ._jobs import BulkOperation, JobHandle
from ._pagination import AsyncPaginator, Page, ResumeToken
from ._ratelimit import NoRateLimit, RateLimiter, SlidingWindowLimiter
from ._secret import Secret
from ._version import __version__
from .models.contacts import (
    AddMembersResult,
    BulkDeleteResult,
    Contact,
    ContactGroup,
    ContactSort,
    RemoveMembersResult,
)
from .models.instances import Instance, InstanceState, InstanceStatus
from .models.jobs import BulkJob, BulkJobOperation, BulkJobStatus, BulkProgress
from .models.messages import (
    Button,
    ButtonType,
    Message,
    MessageDirection,
    MessageMeta,
    MessageStatus,
    MessageType,
    OutgoingMessage,
    WorkerSafety,
)
from .models.templates import Template, TemplatePreview, TemplateType
from .models.webhooks import WebhookEndpoint, WebhookEvent, WebhookEventType
from .templating import TemplateCheck, check_variables

__all__ = [
    "APIError",
    "AddMembersResult",
    "AsyncPaginator",
    "AuthenticationError",
    "BadRequestError",
    "BatchProgress",
    "BatchReport",
    "BatchSender",
    "BatchStream",
    "BulkDeleteResult",
    "BulkJob",
    "BulkJobOperation",
    "BulkJobStatus",
    "BulkOperation",
    "BulkProgress",
    "Button",
    "ButtonType",
    "ClientClosedError",
    "ClientConfig",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionLostError",
    "Contact",
    "ContactGroup",
    "ContactSort",
    "DeadlineExceededError",
    "DecodeError",
    "Instance",
    "InstanceState",
    "InstanceStatus",
    "JobCancelledError",
    "JobError",
    "JobFailedError",
    "JobHandle",
    "Message",
    "MessageCancelledError",
    "MessageDirection",
    "MessageError",
    "MessageFailedError",
    "MessageMeta",
    "MessageStatus",
    "MessageType",
    "MsgFlashClient",
    "MsgFlashError",
    "NoRateLimit",
    "NotFoundError",
    "OutcomeStatus",
    "OutgoingMessage",
    "Page",
    "PermissionDeniedError",
    "PlanLimitError",
    "ProviderError",
    "QuotaExceededError",
    "RateLimitError",
    "RateLimiter",
    "RemoveMembersResult",
    "RequestTimeoutError",
    "ResumeToken",
    "RetryPolicy",
    "Secret",
    "SendOutcome",
    "ServerError",
    "ServerValidationError",
    "SlidingWindowLimiter",
    "Template",
    "TemplateCheck",
    "TemplateError",
    "TemplatePreview",
    "TemplateType",
    "Timeouts",
    "TransportError",
    "UnknownInput",
    "UnprocessableError",
    "ValidationError",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookEventType",
    "WebhookVerificationError",
    "WorkerSafety",
    "__version__",
    "check_variables",
    "configure_converter",
    "make_converter",
]

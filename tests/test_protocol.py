"""Sans-I/O protocol rules: headers, paths, deciphering, retry decisions."""

from __future__ import annotations

import pytest

from msgflash_async import _exceptions as exc
from msgflash_async._protocol import (
    api_path,
    build_headers,
    decipher,
    error_from_response,
    parse_retry_after,
    should_retry,
    user_agent,
)
from msgflash_async._secret import Secret

KEY = Secret("msgf_live_" + "ab" * 32)

# Every code of section 13 (and the codes found on other pages) with its status.
SECTION_13 = {
    "UNAUTHORIZED": (401, exc.AuthenticationError),
    "FORBIDDEN": (403, exc.PermissionDeniedError),
    "SUBSCRIPTION_INACTIVE": (403, exc.PlanLimitError),
    "API_RATE_LIMIT_EXCEEDED": (429, exc.RateLimitError),
    "MONTHLY_API_REQUEST_QUOTA_EXCEEDED": (429, exc.QuotaExceededError),
    "MAX_INSTANCES_REACHED": (403, exc.PlanLimitError),
    "API_KEYS_NOT_AVAILABLE_ON_PLAN": (403, exc.FeatureNotAvailableError),
    "MAX_API_KEYS_REACHED": (403, exc.PlanLimitError),
    "WEBHOOKS_NOT_AVAILABLE_ON_PLAN": (403, exc.FeatureNotAvailableError),
    "MAX_WEBHOOK_ENDPOINTS_REACHED": (403, exc.PlanLimitError),
    "CAMPAIGNS_NOT_AVAILABLE_ON_PLAN": (403, exc.FeatureNotAvailableError),
    "STATUSES_NOT_AVAILABLE_ON_PLAN": (403, exc.FeatureNotAvailableError),
    "MAX_CONTACT_GROUPS_REACHED": (403, exc.PlanLimitError),
    "FEATURE_NOT_AVAILABLE_ON_PLAN": (403, exc.FeatureNotAvailableError),
    "VALIDATION_ERROR": (400, exc.ServerValidationError),
    "BAD_REQUEST": (400, exc.BadRequestError),
    "TEMPLATE_INVALID": (400, exc.TemplateError),
    "TEMPLATE_VARIABLES_MISSING": (400, exc.TemplateError),
    "TEMPLATE_CONTEXT_UNAVAILABLE": (400, exc.TemplateError),
    "INVALID_DESTINATION": (422, exc.UnprocessableError),
    "NOT_FOUND": (404, exc.NotFoundError),
    "CONFLICT": (409, exc.ConflictError),
    "INTERNAL_ERROR": (500, exc.ServerError),
    "PROVIDER_TIMEOUT": (502, exc.ProviderError),
    "PROVIDER_UNAVAILABLE": (502, exc.ProviderError),
    "PROVIDER_ERROR": (502, exc.ProviderError),
    "MONTHLY_OUTBOUND_QUOTA_EXCEEDED": (429, exc.QuotaExceededError),
    "TEAM_KEY_REQUIRED": (403, exc.PermissionDeniedError),
    "TEAM_KEY_NOT_ALLOWED": (403, exc.TeamKeyNotAllowedError),
    "TEAM_NOT_FOUND": (404, exc.NotFoundError),
    "INSTANCE_NOT_ASSIGNED": (403, exc.PermissionDeniedError),
}


def _body(code: str, message: str = "boom", details: object = None) -> bytes:
    import json

    error: dict[str, object] = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return json.dumps({"error": error}).encode()


@pytest.mark.parametrize(("code", "expected"), sorted(SECTION_13.items()))
def test_every_documented_code_maps_to_its_class(
    code: str, expected: tuple[int, type[exc.APIError]]
) -> None:
    status, cls = expected
    error = error_from_response(status, {}, _body(code), method="GET", path="/api/v1/x")
    assert type(error) is cls
    assert (error.status, error.code, error.message) == (status, code, "boom")
    assert (error.method, error.path) == ("GET", "/api/v1/x")


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, exc.BadRequestError),
        (401, exc.AuthenticationError),
        (403, exc.PermissionDeniedError),
        (404, exc.NotFoundError),
        (409, exc.ConflictError),
        (418, exc.APIError),
        (429, exc.RateLimitError),
        (503, exc.ServerError),
    ],
)
def test_unknown_codes_fall_back_by_status(status: int, cls: type[exc.APIError]) -> None:
    error = error_from_response(status, {}, _body("SOMETHING_NEW"), method="GET", path="/p")
    assert type(error) is cls
    assert error.code == "SOMETHING_NEW"


def test_unknown_plan_and_quota_codes_fall_into_their_family() -> None:
    quota = error_from_response(
        429, {}, _body("MONTHLY_STATUS_QUOTA_EXCEEDED"), method="POST", path="/p"
    )
    assert isinstance(quota, exc.QuotaExceededError)
    cap = error_from_response(403, {}, _body("MAX_TEAMS_REACHED"), method="POST", path="/p")
    assert isinstance(cap, exc.PlanLimitError)


def test_validation_details_are_kept() -> None:
    details = [{"field": "phone", "message": "must be E.164"}]
    error = error_from_response(
        400, {}, _body("VALIDATION_ERROR", details=details), method="POST", path="/api/v1/contacts"
    )
    assert isinstance(error, exc.ServerValidationError)
    assert error.details == details


def test_non_json_error_body_gives_typed_error_with_snippet() -> None:
    html = b"<html><body><h1>502 Bad Gateway</h1></body></html>" + b" " * 5000
    error = error_from_response(502, {}, html, method="GET", path="/api/v1/contacts")
    assert type(error) is exc.ServerError
    assert error.status == 502 and error.code is None
    assert "502 Bad Gateway" in error.message
    assert len(error.message) < 300


def test_decipher_returns_data_and_rejects_missing_envelope() -> None:
    assert decipher(200, {}, b'{"data": {"id": "x"}}', method="GET", path="/p") == {"id": "x"}
    with pytest.raises(exc.DecodeError):
        decipher(200, {}, b'{"id": "x"}', method="GET", path="/p")
    with pytest.raises(exc.DecodeError):
        decipher(200, {}, b"<html>", method="GET", path="/p")


def test_headers_use_x_api_key_never_authorization() -> None:
    headers = build_headers(KEY, None, user_agent("3.10.0"))
    assert headers["x-api-key"] == KEY.reveal()
    assert "Authorization" not in headers and "X-Team-Id" not in headers
    assert headers["User-Agent"].startswith("msgflash-async/")
    assert "Python/" in headers["User-Agent"] and "aiohttp/3.10.0" in headers["User-Agent"]
    team = build_headers(Secret("msgf_team_x"), Secret("team-1"), "ua")
    assert team["X-Team-Id"] == "team-1"


@pytest.mark.parametrize("hostile", ["../contacts", "a?b=c", "a#frag", "a b", "a/b", "%2e%2e"])
def test_ids_are_quoted_into_one_segment(hostile: str) -> None:
    path = api_path("contacts", hostile)
    assert path.startswith("/api/v1/contacts/")
    segment = path.removeprefix("/api/v1/contacts/")
    assert "/" not in segment and "?" not in segment and "#" not in segment and " " not in segment


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_empty_and_dot_ids_are_refused(bad: str) -> None:
    with pytest.raises(exc.ValidationError):
        api_path("contacts", bad)


def test_retry_after_seconds_and_dates() -> None:
    assert parse_retry_after({"Retry-After": "2"}) == 2.0
    assert parse_retry_after({}) is None
    assert parse_retry_after({"Retry-After": "soon"}) is None
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert parse_retry_after({"Retry-After": date}, now=1445412470.0) == 10.0


def _api(status: int, code: str | None) -> exc.APIError:
    return exc.error_class_for(status, code)("m", status=status, code=code)


@pytest.mark.parametrize(
    ("error", "idempotent", "expected"),
    [
        (_api(502, None), True, True),
        (_api(500, "INTERNAL_ERROR"), True, True),
        (_api(503, None), True, True),
        (_api(504, None), True, True),
        (_api(502, None), False, False),
        (_api(429, "API_RATE_LIMIT_EXCEEDED"), False, True),
        (_api(429, "MONTHLY_API_REQUEST_QUOTA_EXCEEDED"), True, False),
        (_api(429, "MONTHLY_OUTBOUND_QUOTA_EXCEEDED"), True, False),
        (_api(400, "VALIDATION_ERROR"), True, False),
        (_api(404, "NOT_FOUND"), True, False),
        (exc.ConnectError("refused"), False, True),
        (exc.ConnectionLostError("dropped"), True, True),
        (exc.ConnectionLostError("dropped"), False, False),
        (exc.RequestTimeoutError("slow"), False, False),
        (exc.DeadlineExceededError("late"), True, False),
    ],
)
def test_retry_decisions(error: exc.MsgFlashError, idempotent: bool, expected: bool) -> None:
    assert should_retry(error, idempotent=idempotent) is expected

"""Every documented example payload of the contacts, groups, bulk-job, number-lookup
and billing pages structures.

The payloads are copied from the API reference (sections 5, 6.1, 6.2, 7.4,
7.5, 7.9); placeholders like ``cnt_uuid`` stand for ids as the docs print them.
"""

from __future__ import annotations

import datetime as dt

from msgflash_async import (
    AddMembersResult,
    BulkJob,
    BulkJobOperation,
    BulkJobStatus,
    Contact,
    ContactGroup,
)
from msgflash_async._bulk import delete_result, job_or_result
from msgflash_async._converter import numbered_page, structure, structure_page, unstructure
from msgflash_async._exceptions import (
    ProviderError,
    RateLimitError,
    ServerValidationError,
    TeamKeyNotAllowedError,
)
from msgflash_async._protocol import decipher, error_from_response
from msgflash_async._session import Response
from msgflash_async.models.billing import (
    BillingUsage,
    Payment,
    PaymentStatus,
    Plan,
    SubscriptionInfo,
)
from msgflash_async.models.campaigns import (
    Campaign,
    CampaignContent,
    CampaignRepeat,
    CampaignStatus,
    NewCampaign,
    Recipients,
    RecipientType,
)
from msgflash_async.models.contacts import ContactCreate, RemoveMembersResult
from msgflash_async.models.jobs import BulkJobAccepted
from msgflash_async.models.lookups import LookupAccepted, LookupStatus, NumberLookup
from msgflash_async.models.statuses import OutgoingStatus, PublishedStatus, StatusType

APRIL_FIRST = dt.datetime(2026, 4, 1, 10, 0, tzinfo=dt.timezone.utc)


def test_contact_list_page() -> None:
    data = {
        "contacts": [
            {
                "id": "cnt_uuid",
                "name": "Awa Diop",
                "phone": "+221771234567",
                "tags": ["vip"],
                "temperature": None,
                "createdAt": "2026-04-01T10:00:00.000Z",
                "updatedAt": "2026-04-01T10:00:00.000Z",
            }
        ],
        "total": 1,
        "limit": 50,
        "sort": "createdAt_desc",
        "nextCursor": "MjAyNi0wNC0wMVQxMDowMDowMC4wMDBafGNudF91dWlk",
        "hasMore": True,
    }
    page = structure_page(data, Contact, ("contacts",))
    assert page.total == 1 and page.has_more
    assert page.next_cursor == "MjAyNi0wNC0wMVQxMDowMDowMC4wMDBafGNudF91dWlk"
    contact = page.items[0]
    assert (contact.id, contact.name, contact.phone, contact.tags) == (
        "cnt_uuid",
        "Awa Diop",
        "+221771234567",
        ("vip",),
    )
    assert contact.created_at == APRIL_FIRST


def test_contact_create_reply_with_only_three_fields() -> None:
    contact = structure({"id": "cnt_uuid", "name": "Awa", "phone": "+221771234567"}, Contact)
    assert contact.tags == () and contact.meta == {} and contact.created_at is None


def test_contact_create_body_omits_optional_fields() -> None:
    assert unstructure(ContactCreate(name="Awa", phone="+221771234567")) == {
        "name": "Awa",
        "phone": "+221771234567",
    }


def test_group_create_reply_and_list_page() -> None:
    group = structure(
        {
            "id": "grp_uuid",
            "name": "VIP",
            "description": "best",
            "color": "#FF5733",
            "contactCount": 0,
        },
        ContactGroup,
    )
    assert (group.contact_count, group.color) == (0, "#FF5733")
    page = structure_page(
        {
            "groups": [
                {
                    "id": "grp_uuid",
                    "name": "VIP",
                    "description": None,
                    "color": None,
                    "contactCount": 12,
                    "createdAt": "2026-04-01T10:00:00.000Z",
                }
            ],
            "total": 1,
            "limit": 50,
            "nextCursor": None,
            "hasMore": False,
        },
        ContactGroup,
        ("groups",),
    )
    assert page.is_last and page.items[0].created_at == APRIL_FIRST


def test_sync_bulk_results() -> None:
    deleted = delete_result({"requested": 3, "deleted": 2, "notFound": ["cnt_x"]})
    assert (deleted.requested, deleted.deleted, deleted.not_found) == (3, 2, 1)
    assert deleted.not_found_ids == ("cnt_x",)
    added = structure(
        {"added": 2, "alreadyInGroup": 1, "notFound": 0, "total": 3}, AddMembersResult
    )
    assert (added.added, added.already_in_group, added.not_found, added.total) == (2, 1, 0, 3)
    removed = structure({"removed": 4, "notInGroup": 1}, RemoveMembersResult)
    assert (removed.removed, removed.not_in_group) == (4, 1)


def test_async_202_reply_becomes_a_job() -> None:
    data = {
        "mode": "async",
        "jobId": "job_abc123",
        "status": "pending",
        "operation": "add_to_group",
        "requestedCount": 4900,
        "groupId": "uuid-group",
        "progress": 0,
        "message": "Bulk operation queued. Check status via GET /api/contacts/bulk-jobs/job_abc123",
    }
    accepted = structure(data, BulkJobAccepted)
    assert accepted.job_id == "job_abc123" and accepted.requested_count == 4900
    job = job_or_result(Response(202, data), delete_result)
    assert isinstance(job, BulkJob)
    assert job.operation is BulkJobOperation.ADD_TO_GROUP and job.status is BulkJobStatus.PENDING


def test_job_object_and_unknown_status_is_kept() -> None:
    job = structure(
        {
            "id": "job_abc123",
            "operation": "add_to_group",
            "status": "done",
            "requestedCount": 4900,
            "processedCount": 4900,
            "progress": 100,
            "groupId": "uuid-group",
            "summary": {"added": 4800, "alreadyInGroup": 90, "notFound": 10},
            "error": None,
            "createdAt": "2026-05-07T10:00:00.000Z",
            "updatedAt": "2026-05-07T10:00:30.000Z",
            "completedAt": "2026-05-07T10:00:30.000Z",
        },
        BulkJob,
    )
    assert job.is_terminal and job.summary == {"added": 4800, "alreadyInGroup": 90, "notFound": 10}
    odd = structure({"id": "j", "status": "archived", "operation": "merge_contacts"}, BulkJob)
    assert odd.status.value == "archived" and not odd.status.known
    assert odd.operation is not None and odd.operation.value == "merge_contacts"


# -- section 3: the documented envelopes, through the response decoder ---------------


def test_documented_error_envelopes() -> None:
    body = (
        b'{"error": {"code": "VALIDATION_ERROR", "message": "Invalid request data", "details": []}}'
    )
    error = error_from_response(400, {}, body, method="POST", path="/api/v1/contacts")
    assert isinstance(error, ServerValidationError)
    assert (error.status, error.code, error.message, error.details) == (
        400,
        "VALIDATION_ERROR",
        "Invalid request data",
        [],
    )
    assert (error.method, error.path) == ("POST", "/api/v1/contacts")

    body = b'{"error": {"code": "API_RATE_LIMIT_EXCEEDED", "message": "Too many API requests"}}'
    error = error_from_response(429, {}, body, method="GET", path="/api/v1/contacts")
    assert isinstance(error, RateLimitError)
    assert (error.code, error.message, error.details) == (
        "API_RATE_LIMIT_EXCEEDED",
        "Too many API requests",
        None,
    )


def test_documented_success_envelopes() -> None:
    single = decipher(200, {}, b'{"data": {"id": "c1"}}', method="GET", path="/x")
    simple = decipher(200, {}, b'{"data": [{"id": "a"}, {"id": "b"}]}', method="GET", path="/x")
    paged = decipher(
        200,
        {},
        b'{"data": {"contacts": [], "nextCursor": null, "hasMore": false}}',
        method="GET",
        path="/x",
    )
    assert single == {"id": "c1"}
    assert simple == [{"id": "a"}, {"id": "b"}]
    assert paged == {"contacts": [], "nextCursor": None, "hasMore": False}


def test_status_create_body_and_reply() -> None:
    # Section 7.2: body {instanceId, type, content, caption?, backgroundColor?};
    # 201 -> {"data": {"instanceId", "providerMessageId"}}.
    body = unstructure(
        OutgoingStatus.text_status("inst_uuid", "Open today", background_color="#25D366")
    )
    assert body == {
        "instanceId": "inst_uuid",
        "type": "text",
        "content": "Open today",
        "backgroundColor": "#25D366",
    }
    image = unstructure(
        OutgoingStatus.image_status("inst_uuid", "https://e.com/a.jpg", caption="Hi")
    )
    assert image == {
        "instanceId": "inst_uuid",
        "type": "image",
        "content": "https://e.com/a.jpg",
        "caption": "Hi",
    }
    reply = structure(
        decipher(
            201,
            {},
            b'{"data": {"instanceId": "inst_uuid", "providerMessageId": "BAE5D1A2B3C4D5E6"}}',
            method="POST",
            path="/api/v1/statuses",
        ),
        PublishedStatus,
    )
    assert (reply.instance_id, reply.provider_message_id) == ("inst_uuid", "BAE5D1A2B3C4D5E6")
    assert OutgoingStatus("i", "image", "https://e.com/a.jpg").type is StatusType.IMAGE


# -- section 6.2: number lookups ----------------------------------------------


def test_lookup_sync_reply() -> None:
    data = {
        "mode": "sync",
        "lookupId": "lookup_uuid",
        "status": "done",
        "requested": 3,
        "normalized": 2,
        "checked": 2,
        "onWhatsAppCount": 0,
        "notOnWhatsAppCount": 0,
        "invalidCount": 1,
        "result": {"onWhatsApp": [], "notOnWhatsApp": [], "invalid": []},
    }
    answer = structure(data, LookupAccepted)
    assert not answer.is_job and answer.status is LookupStatus.DONE
    result = answer.to_result()
    assert result.lookup_ids == ("lookup_uuid",)
    assert (result.requested, result.normalized, result.checked, result.invalid_count) == (
        3,
        2,
        2,
        1,
    )
    assert result.on_whatsapp == () and result.invalid == ()  # counts stand without lists


def test_lookup_result_elements_as_numbers_or_objects() -> None:
    # The element shape is not documented: both a number and an object are read.
    data = {
        "mode": "sync",
        "lookupId": "lookup_uuid",
        "status": "done",
        "requested": 2,
        "result": {
            "onWhatsApp": ["+33612345678"],
            "notOnWhatsApp": [{"number": "+33612345679", "exists": False}],
            "invalid": [],
        },
    }
    result = structure(data, LookupAccepted).to_result()
    assert result.on_whatsapp == ("+33612345678",)
    assert result.not_on_whatsapp == ("+33612345679",)
    assert (result.on_whatsapp_count, result.not_on_whatsapp_count) == (1, 1)


def test_lookup_async_reply() -> None:
    data = {
        "mode": "async",
        "lookupId": "lookup_uuid",
        "status": "pending",
        "requested": 4900,
        "message": "Lookup in progress. Check status later.",
    }
    answer = structure(data, LookupAccepted)
    assert answer.is_job and answer.lookup_id == "lookup_uuid" and answer.requested == 4900


def test_lookup_progress_reply() -> None:
    data = {
        "id": "lookup_uuid",
        "status": "processing",
        "progress": 40,
        "requestedCount": 4900,
        "normalizedCount": 4890,
        "checkedCount": 1960,
        "onWhatsAppCount": 1500,
        "notOnWhatsAppCount": 460,
        "invalidCount": 10,
        "error": None,
        "createdAt": "2026-04-01T10:00:00.000Z",
        "updatedAt": "2026-04-01T10:00:00.000Z",
        "completedAt": None,
    }
    lookup = structure(data, NumberLookup)
    assert lookup.status is LookupStatus.PROCESSING and not lookup.is_terminal
    assert (lookup.requested_count, lookup.normalized_count, lookup.checked_count) == (
        4900,
        4890,
        1960,
    )
    assert (lookup.on_whatsapp_count, lookup.not_on_whatsapp_count) == (1500, 460)
    assert lookup.created_at == APRIL_FIRST and lookup.completed_at is None


def test_provider_error_and_team_key_envelopes() -> None:
    body = b'{"error": {"code": "PROVIDER_ERROR", "message": "Provider error"}}'
    error = error_from_response(502, {}, body, method="POST", path="/api/v1/number-lookups")
    assert isinstance(error, ProviderError) and error.status == 502
    body = b'{"error": {"code": "TEAM_KEY_NOT_ALLOWED", "message": "Personal key required"}}'
    error = error_from_response(403, {}, body, method="GET", path="/api/v1/billing/usage")
    assert isinstance(error, TeamKeyNotAllowedError)


# -- section 7.9: billing, usage, account -------------------------------------

LIMITS = {
    "maxInstances": 5,
    "maxApiKeys": 5,
    "maxWebhookEndpoints": 10,
    "monthlyOutboundQuota": 5000,
    "monthlyApiRequestQuota": 100000,
}
FEATURES = {"campaigns": True, "statuses": True, "voiceNotes": True, "webhooks": True}
USAGE = {
    "messagesCount": 1200,
    "statusesCount": 30,
    "effectiveOutboundUsage": 1230,
    "apiRequestsCount": 4200,
    "activeInstancesCount": 2,
    "activeApiKeysCount": 1,
}
PERIOD = {"start": "2026-04-01T00:00:00.000Z", "end": "2026-04-30T23:59:59.999Z"}


def test_plans_in_every_documented_price_shape() -> None:
    monthly = {"code": "pro", "name": "Pro", "priceMonthly": 19, "currency": "EUR"}
    eur = {"code": "pro", "name": "Pro", "priceEur": 19}
    fcfa = {"code": "pro", "name": "Pro", "priceEur": 19, "priceFcfa": 12500}
    plans = structure(
        [
            {**monthly, "limits": LIMITS, "features": FEATURES},
            {**eur, "limits": LIMITS},
            fcfa,
        ],
        list[Plan],
    )
    assert [(p.price.amount, p.price.currency) for p in plans if p.price] == [
        (19, "EUR"),
        (19, "EUR"),
        (19, "EUR"),
    ]
    assert [(p.amount, p.currency) for p in plans[2].prices] == [(19, "EUR"), (12500, "XOF")]
    assert plans[0].limits.monthly_outbound_quota == 5000 and plans[0].features.voice_notes
    assert plans[2].limits.max_instances is None  # not given: unknown, never guessed


def test_subscription_reply() -> None:
    data = {
        "subscription": {
            "plan": {"code": "pro", "name": "Pro", "limits": LIMITS, "features": FEATURES},
            "scheduledPlan": None,
            "scheduledPlanAt": None,
            "scheduledAction": None,
        },
        "usage": USAGE,
        "period": PERIOD,
    }
    info = structure(data, SubscriptionInfo)
    assert info.limits.monthly_api_request_quota == 100000  # from subscription.plan.limits
    assert info.subscription.plan.features.statuses is True
    assert info.usage.effective_outbound_usage == 1230
    assert info.period.start == dt.datetime(2026, 4, 1, tzinfo=dt.timezone.utc)


def test_usage_reply_and_its_quota() -> None:
    data = {
        "plan": {"code": "pro", "name": "Pro"},
        "limits": LIMITS,
        "features": FEATURES,
        "usage": USAGE,
        "period": PERIOD,
    }
    usage = structure(data, BillingUsage)
    assert usage.plan.code == "pro" and usage.usage.statuses_count == 30
    quota = usage.quota()
    assert (quota.outbound_remaining, quota.api_remaining) == (5000 - 1230, 100000 - 4200)
    assert quota.period.end is not None and quota.period.end.day == 30


def test_payments_page() -> None:
    payment = {
        "id": "pay_uuid",
        "provider": "dodo",
        "planCode": "starter",
        "planName": "Starter",
        "amount": 900,
        "currency": "EUR",
        "status": "succeeded",
        "periodStart": "2026-04-01T00:00:00.000Z",
        "periodEnd": "2026-04-30T23:59:59.999Z",
        "createdAt": "2026-04-01T10:00:00.000Z",
    }
    data = {"payments": [payment], "total": 1, "page": 1, "totalPages": 1}
    page = numbered_page(data, Payment, ("payments",), 1, 20)
    assert page.total == 1 and page.is_last
    (paid,) = page.items
    assert paid.status is PaymentStatus.SUCCEEDED and str(paid.major_amount) == "9.00"
    assert (paid.plan_code, paid.provider, paid.created_at) == ("starter", "dodo", APRIL_FIRST)


def _campaign_payload(**changes: object) -> dict[str, object]:
    # Section 7.8: {id, userId, instanceId, name, status, templateId, type, body,
    # mediaUrl, schedule, repeat, recipients, templateVariables, stats, safety?,
    # createdAt, updatedAt}; "noe" is how every page prints the no-repeat value.
    payload: dict[str, object] = {
        "id": "cmp_uuid",
        "userId": "user_uuid",
        "instanceId": "inst_uuid",
        "name": "Spring promo",
        "status": "scheduled",
        "templateId": "tmpl_uuid",
        "type": None,
        "body": None,
        "mediaUrl": None,
        "schedule": "2026-04-01T10:00:00.000Z",
        "repeat": "noe",
        "recipients": {"type": "tags", "value": ["vip"]},
        "templateVariables": {"campaignName": "Spring"},
        "stats": {
            "planned": 120,
            "queued": 0,
            "sent": 0,
            "delivered": 0,
            "read": 0,
            "failed": 0,
            "cancelled": 0,
        },
        "createdAt": "2026-04-01T10:00:00.000Z",
        "updatedAt": "2026-04-01T10:00:00.000Z",
    }
    payload.update(changes)
    return payload


def test_campaign_create_reply_in_template_mode() -> None:
    campaign = structure(_campaign_payload(safety={"decision": "allow"}), Campaign)
    assert campaign.status is CampaignStatus.SCHEDULED and campaign.mode == "template"
    assert campaign.repeat is CampaignRepeat.NONE  # "noe" read as none
    assert campaign.recipients == Recipients.tags(["vip"])
    assert campaign.template_variables == {"campaignName": "Spring"}
    assert campaign.stats.planned == 120 and campaign.stats.completed_at is None
    assert campaign.schedule == APRIL_FIRST and campaign.created_at == APRIL_FIRST
    assert campaign.safety is not None and campaign.safety.decision == "allow"


def test_campaign_get_with_stats_timestamps_in_direct_mode() -> None:
    stats = {
        "planned": 3,
        "queued": 3,
        "sent": 3,
        "delivered": 2,
        "read": 1,
        "failed": 0,
        "cancelled": 0,
        "processingStartedAt": "2026-04-01T10:00:00.000Z",
        "lastEnqueuedAt": "2026-04-01T10:00:00.000Z",
        "completedAt": "2026-04-01T10:00:00.000Z",
        "cancelledAt": None,
    }
    campaign = structure(
        _campaign_payload(
            templateId=None,
            type="image",
            body="New in",
            mediaUrl="https://example.com/a.jpg",
            status="running",
            repeat="daily",
            recipients={"type": "group", "groupId": "grp_uuid"},
            templateVariables=None,
            stats=stats,
        ),
        Campaign,
    )
    assert campaign.mode == "direct" and campaign.type == "image"
    assert campaign.repeat is CampaignRepeat.DAILY
    assert campaign.recipients is not None
    assert campaign.recipients.type is RecipientType.GROUP
    assert campaign.recipients.group_id == "grp_uuid"
    got = campaign.stats
    assert (got.sent, got.delivered, got.read, got.settled, got.percent) == (3, 2, 1, 3, 100)
    assert got.processing_started_at == got.completed_at == APRIL_FIRST


def test_campaign_pause_and_resume_replies() -> None:
    paused = structure(_campaign_payload(status="paused"), Campaign)
    assert paused.status is CampaignStatus.PAUSED and paused.safety is None
    safety = {"decision": "warn", "riskLevel": "medium", "state": "warming", "hint": "slow down"}
    resumed = structure(_campaign_payload(status="running", safety=safety), Campaign)
    assert resumed.status is CampaignStatus.RUNNING
    assert resumed.safety is not None and resumed.safety.is_warning
    assert (resumed.safety.risk_level, resumed.safety.state) == ("medium", "warming")
    assert resumed.safety.raw["hint"] == "slow down"  # undocumented keys are kept
    odd = structure(_campaign_payload(status="archived", repeat="monthly"), Campaign)
    assert not odd.status.known and odd.repeat == "monthly"  # type: ignore[union-attr]


def test_campaign_create_bodies() -> None:
    # Template mode: templateId + global variables; recipients {type, value | groupId}.
    template = NewCampaign(
        "inst_uuid",
        "Spring promo",
        APRIL_FIRST,
        Recipients.tags(["vip"]),
        CampaignContent.template("tmpl_uuid", variables={"campaignName": "Spring"}),
        repeat="daily",
    )
    assert unstructure(template) == {
        "instanceId": "inst_uuid",
        "name": "Spring promo",
        "schedule": "2026-04-01T10:00:00.000Z",
        "repeat": "daily",
        "recipients": {"type": "tags", "value": ["vip"]},
        "templateId": "tmpl_uuid",
        "variables": {"campaignName": "Spring"},
    }
    direct = NewCampaign(
        "inst_uuid",
        "Hello",
        APRIL_FIRST,
        Recipients.contacts(["cnt_uuid"]),
        CampaignContent.text("Hello"),
        repeat="none",
    )
    assert unstructure(direct) == {
        "instanceId": "inst_uuid",
        "name": "Hello",
        "schedule": "2026-04-01T10:00:00.000Z",
        "recipients": {"type": "explicit", "value": ["cnt_uuid"]},
        "type": "text",
        "body": "Hello",
    }

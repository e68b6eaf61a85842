"""Message, template and instance models: builders, send rules, wire form (no sockets)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import attrs
import pytest

from msgflash_async._converter import structure, unstructure
from msgflash_async._exceptions import DecodeError, ValidationError
from msgflash_async.models.instances import Instance, InstanceState, InstanceStatus
from msgflash_async.models.messages import (
    Button,
    ButtonType,
    Message,
    MessageDirection,
    MessageStatus,
    MessageType,
    OutgoingMessage,
    SafetyDecision,
    status_reached,
)
from msgflash_async.models.templates import Template, TemplatePreview, TemplateType

INST = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
TO = "+33612345678"


def wire(value: Any) -> Any:
    """What actually goes on the wire: JSON text, read back."""
    return json.loads(json.dumps(unstructure(value)))


# -- builders and their wire form ------------------------------------------


def test_text_message_wire_form() -> None:
    message = OutgoingMessage.text_message(instance_id=INST, to=TO, text="Hello")
    assert wire(message) == {"instanceId": INST, "to": TO, "type": "text", "text": "Hello"}


@pytest.mark.parametrize(
    ("builder", "kind"),
    [
        (OutgoingMessage.image_message, "image"),
        (OutgoingMessage.video_message, "video"),
        (OutgoingMessage.document_message, "document"),
    ],
)
def test_captioned_media_wire_form(builder: Any, kind: str) -> None:
    message = builder(instance_id=INST, to=TO, media_url="https://cdn.example/f", caption="Look")
    assert wire(message) == {
        "instanceId": INST,
        "to": TO,
        "type": kind,
        "mediaUrl": "https://cdn.example/f",
        "text": "Look",
    }
    assert "text" not in wire(builder(instance_id=INST, to=TO, media_url="https://cdn.example/f"))


@pytest.mark.parametrize(
    ("builder", "kind"),
    [(OutgoingMessage.audio_message, "audio"), (OutgoingMessage.voice_note_message, "voice_note")],
)
def test_audio_wire_form(builder: Any, kind: str) -> None:
    assert wire(builder(instance_id=INST, to=TO, media_url="https://cdn.example/a.ogg")) == {
        "instanceId": INST,
        "to": TO,
        "type": kind,
        "mediaUrl": "https://cdn.example/a.ogg",
    }


def test_location_wire_form() -> None:
    message = OutgoingMessage.location_message(
        instance_id=INST,
        to=TO,
        latitude=5.316667,
        longitude=-4.033333,
        name="Plateau",
        address="Abidjan",
    )
    assert wire(message) == {
        "instanceId": INST,
        "to": TO,
        "type": "location",
        "latitude": 5.316667,
        "longitude": -4.033333,
        "locationName": "Plateau",
        "locationAddress": "Abidjan",
    }
    bare = wire(OutgoingMessage.location_message(instance_id=INST, to=TO, latitude=0, longitude=0))
    assert bare == {"instanceId": INST, "to": TO, "type": "location", "latitude": 0, "longitude": 0}


def test_contact_wire_form() -> None:
    assert wire(OutgoingMessage.contact_message(instance_id=INST, to=TO, contact_id="cnt_1")) == {
        "instanceId": INST,
        "to": TO,
        "type": "contact",
        "contactId": "cnt_1",
    }


def test_buttons_wire_form_covers_every_kind() -> None:
    buttons = [Button.reply("Yes", id="yes"), Button.link("Site", "https://x.example")]
    message = OutgoingMessage.buttons_message(
        instance_id=INST, to=TO, title="Hi", description="Pick", buttons=buttons, footer="f"
    )
    assert wire(message) == {
        "instanceId": INST,
        "to": TO,
        "type": "buttons",
        "title": "Hi",
        "description": "Pick",
        "footer": "f",
        "buttons": [
            {"type": "reply", "displayText": "Yes", "id": "yes"},
            {"type": "url", "displayText": "Site", "url": "https://x.example"},
        ],
    }
    assert wire(Button.call("Call", "+2250700000000")) == {
        "type": "call",
        "displayText": "Call",
        "phoneNumber": "+2250700000000",
    }
    assert wire(Button.copy("Copy", "dGV4dA==")) == {
        "type": "copy",
        "displayText": "Copy",
        "copyCode": "dGV4dA==",
    }
    assert wire(Button.pix("Pay", key="k@x", key_type="email", name="Shop")) == {
        "type": "pix",
        "displayText": "Pay",
        "currency": "BRL",
        "name": "Shop",
        "keyType": "email",
        "key": "k@x",
    }


def test_template_wire_form_and_variables_are_copied() -> None:
    variables = {"app": "Acme"}
    message = OutgoingMessage.template_message(
        instance_id=INST, to=TO, template_id="tmpl_1", contact_id="cnt_1", variables=variables
    )
    variables["app"] = "changed"
    assert wire(message) == {
        "instanceId": INST,
        "to": TO,
        "templateId": "tmpl_1",
        "contactId": "cnt_1",
        "variables": {"app": "Acme"},
    }
    assert "type" not in wire(message)


def test_scheduled_at_is_sent_as_utc_milliseconds() -> None:
    paris = dt.timezone(dt.timedelta(hours=2))
    message = attrs.evolve(
        OutgoingMessage.text_message(instance_id=INST, to=TO, text="Hi"),
        scheduled_at=dt.datetime(2026, 4, 1, 12, 0, tzinfo=paris),
    )
    assert wire(message)["scheduledAt"] == "2026-04-01T10:00:00.000Z"


def test_messages_are_hashable_values() -> None:
    one = OutgoingMessage.template_message(
        instance_id=INST, to=TO, template_id="t", variables={"a": "1"}
    )
    two = OutgoingMessage.template_message(
        instance_id=INST, to=TO, template_id="t", variables={"a": "1"}
    )
    assert one == two and hash(one) == hash(two)
    assert OutgoingMessage(INST, TO, "text", text="x").type is MessageType.TEXT


# -- validation rules ----------------------------------------------------------


def refused(field: str, build: Any) -> None:
    with pytest.raises(ValidationError) as info:
        build()
    assert info.value.field == field, info.value


def test_needs_type_or_template_but_not_both() -> None:
    refused("type", lambda: OutgoingMessage(INST, TO).validate())
    refused(
        "template_id",
        lambda: OutgoingMessage(INST, TO, "text", text="x", template_id="t").validate(),
    )


@pytest.mark.parametrize(
    "to",
    [
        "0612345678",
        "33612345678",
        "+33 6 12 34 56 78",
        "+0612345678",
        "+123456",
        "+1234567890123456",
        "",
        None,
    ],
)
def test_to_must_be_e164(to: Any) -> None:
    refused("to", lambda: OutgoingMessage.text_message(instance_id=INST, to=to, text="x"))


def test_instance_id_required() -> None:
    refused("instance_id", lambda: OutgoingMessage.text_message(instance_id="", to=TO, text="x"))


def test_text_needs_text() -> None:
    refused("text", lambda: OutgoingMessage.text_message(instance_id=INST, to=TO, text=""))
    refused("text", lambda: OutgoingMessage(INST, TO, "text").validate())


@pytest.mark.parametrize("kind", ["image", "video", "audio", "voice_note", "document"])
def test_media_needs_media_url(kind: str) -> None:
    refused("media_url", lambda: OutgoingMessage(INST, TO, kind).validate())
    refused("media_url", lambda: OutgoingMessage(INST, TO, kind, media_url="").validate())


MEDIA_KINDS = ["image", "video", "audio", "voice_note", "document"]
BAD_URLS = [
    "ftp://x/a.png",
    "hello",
    "/a.png",
    "cdn.example/a.png",
    "//cdn.example/a.png",
    "file:///etc/passwd",
    "mailto:a@example.com",
    "javascript:alert(1)",
    "https://",
    "https:///a.png",
    "http://:80/a.png",
    "https://[::1/a.png",
    "https://x.example:99999/a",
    " https://x.example/a.png",
    "https://x.example/a b.png",
    "https://x.example/a\n.png",
]
GOOD_URLS = [
    "https://cdn.example/a.png",
    "http://cdn.example/a.png",
    "HTTPS://CDN.EXAMPLE/A.PNG",
    "https://cdn.example:8443/f.ogg?sig=a%20b&x=1#frag",
    "https://127.0.0.1/a.png",
    "https://[2001:db8::1]/a.png",
    "https://user@cdn.example/a.pdf",
]


@pytest.mark.parametrize("kind", MEDIA_KINDS)
@pytest.mark.parametrize("url", BAD_URLS)
def test_media_url_must_be_absolute_http_or_https(kind: str, url: str) -> None:
    refused("media_url", lambda: OutgoingMessage(INST, TO, kind, media_url=url).validate())


@pytest.mark.parametrize("url", BAD_URLS)
def test_builders_refuse_a_media_url_that_is_not_http(url: str) -> None:
    refused(
        "media_url", lambda: OutgoingMessage.image_message(instance_id=INST, to=TO, media_url=url)
    )
    refused(
        "media_url",
        lambda: OutgoingMessage.voice_note_message(instance_id=INST, to=TO, media_url=url),
    )


@pytest.mark.parametrize("kind", MEDIA_KINDS)
@pytest.mark.parametrize("url", GOOD_URLS)
def test_media_url_accepts_http_and_https(kind: str, url: str) -> None:
    message = OutgoingMessage(INST, TO, kind, media_url=url).validate()
    assert wire(message)["mediaUrl"] == url


@pytest.mark.parametrize("url", BAD_URLS)
def test_link_button_url_must_be_absolute_http_or_https(url: str) -> None:
    refused(
        "buttons[1].url",
        lambda: OutgoingMessage.buttons_message(
            instance_id=INST,
            to=TO,
            title="T",
            description="D",
            buttons=[Button.reply("Ok"), Button.link("Go", url)],
        ),
    )


@pytest.mark.parametrize("url", GOOD_URLS)
def test_link_button_accepts_http_and_https(url: str) -> None:
    message = OutgoingMessage.buttons_message(
        instance_id=INST, to=TO, title="T", description="D", buttons=[Button.link("Go", url)]
    )
    assert wire(message)["buttons"][0]["url"] == url


def test_only_link_buttons_carry_a_checked_url() -> None:
    # A url set on another kind is not the server's business either way: not checked.
    button = Button(ButtonType.REPLY, "Ok", url="hello")
    OutgoingMessage.buttons_message(
        instance_id=INST, to=TO, title="T", description="D", buttons=[button]
    )


@pytest.mark.parametrize(
    ("lat", "lon", "field"),
    [
        (None, 1.0, "latitude"),
        (1.0, None, "longitude"),
        (90.5, 0, "latitude"),
        (-91, 0, "latitude"),
        (0, 180.1, "longitude"),
        (0, -181, "longitude"),
        (float("nan"), 0, "latitude"),
        (True, 0, "latitude"),
        ("1", 0, "latitude"),
    ],
)
def test_location_needs_coordinates_in_range(lat: Any, lon: Any, field: str) -> None:
    refused(
        field, lambda: OutgoingMessage(INST, TO, "location", latitude=lat, longitude=lon).validate()
    )


def test_location_bounds_are_inclusive() -> None:
    OutgoingMessage.location_message(instance_id=INST, to=TO, latitude=90, longitude=-180)
    OutgoingMessage.location_message(instance_id=INST, to=TO, latitude=-90, longitude=180)


def test_contact_needs_contact_id() -> None:
    refused(
        "contact_id",
        lambda: OutgoingMessage.contact_message(instance_id=INST, to=TO, contact_id=""),
    )


def test_buttons_need_title_description_and_one_or_two_buttons() -> None:
    reply = Button.reply("Ok")

    def build(**kwargs: Any) -> OutgoingMessage:
        given = {"title": "T", "description": "D", "buttons": [reply], **kwargs}
        return OutgoingMessage.buttons_message(instance_id=INST, to=TO, **given)

    build()
    build(buttons=[reply, reply])
    refused("title", lambda: build(title=""))
    refused("description", lambda: build(description=" "))
    refused("buttons", lambda: build(buttons=[]))
    refused("buttons", lambda: build(buttons=[reply, reply, reply]))
    refused(
        "buttons",
        lambda: OutgoingMessage(INST, TO, "buttons", title="T", description="D").validate(),
    )


@pytest.mark.parametrize(
    ("button", "field"),
    [
        (Button(ButtonType.URL, "Go"), "buttons[0].url"),
        (Button(ButtonType.CALL, "Call"), "buttons[0].phone_number"),
        (Button(ButtonType.COPY, "Copy"), "buttons[0].copy_code"),
        (Button(ButtonType.PIX, "Pay", key="k", key_type="cpf"), "buttons[0].currency"),
        (Button(ButtonType.PIX, "Pay", currency="BRL", key_type="cpf", key="k"), "buttons[0].name"),
        (Button("reply", ""), "buttons[0].display_text"),
    ],
)
def test_each_button_kind_needs_its_field(button: Button, field: str) -> None:
    refused(
        field,
        lambda: OutgoingMessage.buttons_message(
            instance_id=INST, to=TO, title="T", description="D", buttons=[button]
        ),
    )


def test_unknown_button_kind_needs_only_display_text() -> None:
    button = Button("poll", "Vote")
    assert button.type.known is False
    OutgoingMessage.buttons_message(
        instance_id=INST, to=TO, title="T", description="D", buttons=[button]
    )


@pytest.mark.parametrize(
    ("kind", "extra", "field"),
    [
        ("text", {"media_url": "https://x"}, "media_url"),
        ("image", {"media_url": "https://x", "latitude": 1.0}, "latitude"),
        (
            "location",
            {"latitude": 1.0, "longitude": 1.0, "buttons": [Button.reply("a")]},
            "buttons",
        ),
        ("contact", {"contact_id": "c", "title": "T"}, "title"),
    ],
)
def test_fields_of_another_type_are_refused(kind: str, extra: dict[str, Any], field: str) -> None:
    refused(field, lambda: OutgoingMessage(INST, TO, kind, **extra).validate())


def test_template_mode_refuses_content_and_direct_mode_refuses_variables() -> None:
    refused("text", lambda: OutgoingMessage(INST, TO, template_id="t", text="x").validate())
    refused(
        "media_url",
        lambda: OutgoingMessage(INST, TO, template_id="t", media_url="https://x").validate(),
    )
    refused(
        "variables",
        lambda: OutgoingMessage(INST, TO, "text", text="x", variables={"a": 1}).validate(),
    )
    refused(
        "variables",
        lambda: OutgoingMessage.template_message(
            instance_id=INST, to=TO, template_id="t", variables={"": 1}
        ),
    )


def test_unknown_type_passes_with_common_checks_only() -> None:
    message = OutgoingMessage(INST, TO, "sticker", media_url="https://x").validate()
    assert message.type is not None and not message.type.known
    assert wire(message)["type"] == "sticker"
    refused("to", lambda: OutgoingMessage(INST, "nope", "sticker").validate())


# -- structuring answers -------------------------------------------------------


DOC_MESSAGE = {
    "id": "msg_uuid",
    "userId": "user_uuid",
    "instanceId": "inst_uuid",
    "contactId": None,
    "campaignId": None,
    "direction": "outbound",
    "type": "text",
    "from": None,
    "to": "+33612345678",
    "body": "Hello",
    "mediaUrl": None,
    "status": "delivered",
    "error": None,
    "meta": {
        "providerResult": {},
        "workerSafety": {"decision": "allow", "riskLevel": "low", "state": "stable", "score": 72},
    },
    "providerMessageId": "BAE5D1A2B3C4D5E6",
    "createdAt": "2026-04-01T10:00:00.000Z",
    "updatedAt": "2026-04-01T10:01:10.000Z",
}


def test_documented_message_example() -> None:
    message = structure(DOC_MESSAGE, Message)
    assert message.id == "msg_uuid" and message.user_id == "user_uuid"
    assert message.status is MessageStatus.DELIVERED
    assert message.type is MessageType.TEXT
    assert message.direction is MessageDirection.OUTBOUND
    assert message.provider_message_id == "BAE5D1A2B3C4D5E6"
    assert message.created_at == dt.datetime(2026, 4, 1, 10, tzinfo=dt.timezone.utc)
    safety = message.worker_safety
    assert safety is not None and safety.decision is SafetyDecision.ALLOW
    assert (safety.risk_level, safety.state, safety.score) == ("low", "stable", 72)
    assert message.meta is not None and message.meta.provider_result == {}


def test_minimal_send_reply_and_unknown_values_are_kept() -> None:
    message = structure({"id": "m1", "status": "queued"}, Message)
    assert message.status is MessageStatus.QUEUED and message.worker_safety is None
    odd = structure(
        {
            "id": "m2",
            "status": "bounced",
            "type": "sticker",
            "meta": {},
            "error": {"code": "X"},
            "from": "+2250700000000",
            "extra": 1,
        },
        Message,
    )
    assert odd.status == "bounced" and odd.status is not None and not odd.status.known
    assert odd.type == "sticker" and odd.error == {"code": "X"}
    assert odd.from_ == "+2250700000000" and odd.meta is not None
    with pytest.raises(DecodeError):
        structure({"status": "queued"}, Message)


def test_status_lifecycle() -> None:
    assert status_reached("read", "delivered")
    assert status_reached("delivered", "delivered")
    assert not status_reached("sent", "delivered")
    assert not status_reached("failed", "delivered")
    assert status_reached("failed", "failed")
    assert not status_reached(None, "queued")
    assert status_reached("bounced", "bounced") and not status_reached("bounced", "sent")
    assert MessageStatus.READ.is_final and not MessageStatus.SENT.is_final


def test_template_and_preview_models() -> None:
    template = structure(
        {
            "id": "tmpl_uuid",
            "name": "welcome",
            "type": "text",
            "body": "Hi {{contact.firstName}}",
            "mediaUrl": None,
            "variables": ["contact.firstName", {"key": "custom.code"}, 3],
            "createdAt": "2026-04-01T10:00:00.000Z",
        },
        Template,
    )
    assert template.type is TemplateType.TEXT
    assert template.variable_names == ("contact.firstName", "custom.code")
    preview = structure(
        {
            "rendered": "Hi",
            "variables": ["custom.code"],
            "missingVariables": ["contact.firstName"],
            "valid": False,
        },
        TemplatePreview,
    )
    assert preview.missing_names == ("contact.firstName",) and preview.valid is False
    assert structure({}, TemplatePreview).valid is None


def test_instance_models() -> None:
    instance = structure(
        {
            "id": "inst_uuid",
            "name": "Sales",
            "waNumber": 2250715516311,
            "status": "connected",
            "webhook": None,
            "meta": {"a": 1},
            "deletedAt": None,
            "createdAt": "2026-04-01T10:00:00.000Z",
            "updatedAt": "2026-04-01T10:00:00.000Z",
        },
        Instance,
    )
    assert instance.wa_number == "2250715516311" and instance.connected
    assert instance.status is InstanceStatus.CONNECTED
    state = structure(
        {"instanceId": "inst_uuid", "status": "connected", "providerState": "open"}, InstanceState
    )
    assert state.connected and state.provider_state == "open"
    assert structure({"id": "i", "status": "banned"}, Instance).status == "banned"

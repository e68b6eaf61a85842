"""Template placeholders: parsing, the client-side variable check, local render."""

from __future__ import annotations

import pytest

from msgflash_async._exceptions import ValidationError
from msgflash_async.templating import (
    Placeholder,
    check_variables,
    custom_key,
    parse_placeholders,
    render,
    require_variables,
)

BODY = "Hi {{contact.firstName}}, your {{custom.app}} code is {{ custom.code }} ({{instance.name}})"


def test_parse_in_order_each_once() -> None:
    found = parse_placeholders(BODY + " {{custom.code}} {{custom.app}}")
    assert [p.key for p in found] == [
        "contact.firstName",
        "custom.app",
        "custom.code",
        "instance.name",
    ]
    assert [p.raw for p in found][2] == "{{ custom.code }}"
    assert all(p.valid for p in found)


def test_parse_dotted_names_and_bad_placeholders() -> None:
    found = {
        p.raw: p
        for p in parse_placeholders(
            "{{custom.order.id}} {{code}} {{foo.bar}} {{}} {{custom.}} {{custom.a b}}"
        )
    }
    assert found["{{custom.order.id}}"] == Placeholder("{{custom.order.id}}", "custom", "order.id")
    assert found["{{custom.order.id}}"].valid
    for raw in ("{{code}}", "{{foo.bar}}", "{{}}", "{{custom.}}", "{{custom.a b}}"):
        assert not found[raw].valid, raw


def test_stray_braces_are_invalid() -> None:
    assert [p.raw for p in parse_placeholders("Hi {{custom.x")] == ["{{"]
    assert [p.raw for p in parse_placeholders("a }} b")] == ["}}"]
    assert parse_placeholders("no placeholders here") == ()


def test_custom_variables_with_or_without_prefix() -> None:
    assert custom_key("custom.code") == "code" and custom_key("code") == "code"
    check = check_variables(BODY, {"app": "Acme", "custom.code": "1"}, has_contact=True)
    assert check.ok and check.missing == () and check.unused == ()


def test_missing_custom_and_contact_context() -> None:
    check = check_variables(BODY, {"app": "Acme", "typo": 1}, has_contact=False)
    assert not check.ok
    assert check.missing == ("code",)
    assert check.needs_contact == ("firstName",)
    assert check.needs_instance == ()
    assert check.unused == ("typo",)
    problems = " | ".join(check.problems())
    assert "custom.code" in problems and "contact.firstName" in problems


def test_instance_context_and_user_namespace() -> None:
    check = check_variables(
        "{{instance.name}} {{user.email}}", None, has_contact=False, has_instance=False
    )
    assert check.needs_instance == ("name",) and not check.ok
    assert check_variables("{{user.email}}", None, has_contact=False).ok


def test_invalid_placeholders_fail_the_check() -> None:
    check = check_variables("{{foo.bar}} {{custom.x}}", {"x": 1}, has_contact=True)
    assert check.invalid == ("{{foo.bar}}",) and not check.ok


def test_no_body_means_nothing_to_fill() -> None:
    assert check_variables(None, None, has_contact=False).ok


def test_require_variables_lists_every_missing_custom_variable() -> None:
    with pytest.raises(ValidationError) as info:
        require_variables("{{custom.a}} {{custom.b}} {{custom.c}}", {"b": 1}, has_contact=False)
    assert info.value.field == "variables"
    assert "custom.a" in str(info.value) and "custom.c" in str(info.value)
    assert "custom.b" not in str(info.value)
    with pytest.raises(ValidationError) as context:
        require_variables("{{contact.name}}", {}, has_contact=False)
    assert context.value.field == "template"
    assert require_variables("{{custom.a}}", {"a": 1}, has_contact=False).ok


def test_render() -> None:
    text, missing = render(
        BODY, {"contact.firstName": "Awa", "custom.app": "Acme", "custom.code": 1234}
    )
    assert text == "Hi Awa, your Acme code is 1234 ({{instance.name}})"
    assert missing == ("instance.name",)

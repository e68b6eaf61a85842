"""Client-side argument checks: pure functions, no sockets."""

from __future__ import annotations

import pytest

from msgflash_async._exceptions import ValidationError
from msgflash_async._pagination import ResumeToken, resolve_resume
from msgflash_async._validation import (
    MAX_IDS_PER_CALL,
    check_color,
    check_ids,
    check_limit,
    check_phone,
    check_positive,
    check_search,
    check_text,
    is_loopback,
)


@pytest.mark.parametrize(
    "phone", ["+33612345678", "+12025550123", "+22507155163", "+49301234", "+2901234"]
)
def test_phone_accepts_e164(phone: str) -> None:
    assert check_phone(phone) == phone


@pytest.mark.parametrize(
    "phone",
    [
        "33612345678",  # no plus
        "+033612345678",  # country code starts with 0
        "+336123",  # 6 digits (the shortest numbers, Saint Helena's, have 7)
        "+33612345678\n",  # a trailing newline
        "+1234567890123456",  # 16 digits
        "+33 6 12 34 56 78",  # spaces
        "+33-612345678",
        "",
        None,
        33612345678,
    ],
)
def test_phone_refuses_the_rest(phone: object) -> None:
    with pytest.raises(ValidationError) as info:
        check_phone(phone)
    assert info.value.field == "phone"


def test_phone_names_the_field_it_checks() -> None:
    with pytest.raises(ValidationError) as info:
        check_phone("0612345678", field="to")
    assert info.value.field == "to"
    assert str(info.value).startswith("to: ")


@pytest.mark.parametrize("color", ["#25D366", "#abc", "#ABCDEF", "#000"])
def test_color_accepts_hex(color: str) -> None:
    assert check_color(color) == color


@pytest.mark.parametrize("color", ["25D366", "#25D36", "#GGGGGG", "#abcd", "red", "", None])
def test_color_refuses_the_rest(color: object) -> None:
    with pytest.raises(ValidationError, match="color"):
        check_color(color)


def test_search_length() -> None:
    assert check_search(None) is None
    assert check_search("a") == "a"
    assert check_search("x" * 100) == "x" * 100
    for bad in ("", "x" * 101):
        with pytest.raises(ValidationError, match="search"):
            check_search(bad)


def test_text_must_be_a_non_empty_string() -> None:
    assert check_text("Awa", "name") == "Awa"
    for bad in ("", None, 3):
        with pytest.raises(ValidationError, match="name"):
            check_text(bad, "name")


@pytest.mark.parametrize("limit", [1, 50, 100])
def test_limit_in_range(limit: int) -> None:
    assert check_limit(limit, 100) == limit


@pytest.mark.parametrize("limit", [0, -1, 101, True, 2.5, "10"])
def test_limit_out_of_range(limit: object) -> None:
    with pytest.raises(ValidationError, match="limit"):
        check_limit(limit, 100)  # type: ignore[arg-type]


def test_limit_none_means_server_default() -> None:
    assert check_limit(None, 100) is None


def test_ids_are_a_non_empty_list_of_strings() -> None:
    assert check_ids(["a", "b"]) == ("a", "b")
    assert check_ids(iter(["a"])) == ("a",)
    for bad in ([], "abc", b"ab", None, ["a", ""], ["a", 3]):
        with pytest.raises(ValidationError) as info:
            check_ids(bad)  # type: ignore[arg-type]
        assert info.value.field == "contact_ids"


def test_ids_per_call_cap() -> None:
    ids = [str(i) for i in range(MAX_IDS_PER_CALL)]
    assert len(check_ids(ids, max_items=MAX_IDS_PER_CALL)) == MAX_IDS_PER_CALL
    with pytest.raises(ValidationError, match="at most 10000"):
        check_ids([*ids, "x"], max_items=MAX_IDS_PER_CALL)


def test_resolve_resume_without_token_drops_unset_arguments() -> None:
    cursor, query = resolve_resume(None, "c1", {"search": None, "sort": "name_asc"})
    assert (cursor, query) == ("c1", {"sort": "name_asc"})


def test_resolve_resume_restores_the_query() -> None:
    token = ResumeToken("c9", {"sort": "name_asc", "search": "awa", "limit": 100}).encode()
    start, query = resolve_resume(token, None, {"sort": None, "search": None, "limit": None})
    assert isinstance(start, ResumeToken) and (start.page, start.skip) == ("c9", 0)
    assert query == {"sort": "name_asc", "search": "awa", "limit": 100}


def test_resolve_resume_accepts_the_same_sort_and_a_new_limit() -> None:
    token = ResumeToken("c9", {"sort": "name_asc", "limit": 100}).encode()
    _, query = resolve_resume(token, None, {"sort": "name_asc", "limit": 10})
    assert query == {"sort": "name_asc", "limit": 10}


@pytest.mark.parametrize("given", [{"sort": "createdAt_desc"}, {"search": "bob"}])
def test_resolve_resume_refuses_a_changed_query(given: dict[str, str]) -> None:
    token = ResumeToken("c9", {"sort": "name_asc"}).encode()
    with pytest.raises(ValidationError) as info:
        resolve_resume(token, None, given)
    assert info.value.field in given


def test_resolve_resume_refuses_cursor_and_token_together() -> None:
    token = ResumeToken("c9", {}).encode()
    with pytest.raises(ValidationError, match="either cursor or resume"):
        resolve_resume(token, "c1", {})


def test_resolve_resume_refuses_garbage() -> None:
    with pytest.raises(ValidationError, match="resume"):
        resolve_resume("not-a-token!!", None, {})


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("LocalHost", True),
        ("127.0.0.1", True),
        ("::1", True),
        ("example.com", False),
        ("10.0.0.1", False),
    ],
)
def test_is_loopback(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_check_limit_without_maximum_takes_any_positive_integer() -> None:
    assert check_limit(5000, maximum=None) == 5000
    for bad in (0, -1, True, 1.5):
        with pytest.raises(ValidationError, match="positive integer"):
            check_limit(bad, maximum=None)  # type: ignore[arg-type]


def test_check_positive_names_the_argument() -> None:
    assert check_positive(0.5, "poll_interval") == 0.5
    for bad in (0, -1.0):
        with pytest.raises(ValidationError, match="must be > 0") as caught:
            check_positive(bad, "poll_interval")
        assert caught.value.field == "poll_interval"

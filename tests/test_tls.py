"""TLS: certificates are verified unless the caller says otherwise, out loud.

tests/test_config.py covers the https-only rule for base URLs; this file adds
the connector's settings, the warning, URL tricks around the loopback
exception, and a real handshake against a self-signed certificate.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import ssl
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web

from msgflash_async import _exceptions as exc
from msgflash_async._client import MsgFlashClient
from msgflash_async._config import RetryPolicy

PERSONAL = "msgf_live_" + "0123456789abcdef" * 4
FAST_RETRY = RetryPolicy(max_retries=2, backoff_base=0.01, backoff_max=0.02)
WARNING = "TLS certificate verification is disabled"


def connector_ssl(client: MsgFlashClient) -> object:
    http = client._session._client()  # the pool is built lazily: build it now
    return http.connector._ssl  # type: ignore[union-attr]


@pytest.mark.anyio
async def test_verification_is_on_by_default(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No environment variable turns it off either.
    for name in ("MSGFLASH_VERIFY_SSL", "PYTHONHTTPSVERIFY", "AIOHTTP_NO_VERIFY"):
        monkeypatch.setenv(name, "0")
    async with MsgFlashClient(PERSONAL) as client:
        assert client.config.verify_ssl is True
        assert connector_ssl(client) is not False
    assert WARNING not in caplog.text


@pytest.mark.anyio
async def test_turning_verification_off_takes_the_argument_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="msgflash_async"):
        async with MsgFlashClient(PERSONAL, verify_ssl=False) as client:
            assert connector_ssl(client) is False
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and WARNING in warnings[0].getMessage()
    assert "srv.msgflash.com" in warnings[0].getMessage()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:80@evil.example/",  # userinfo: the host is evil.example
        "http://localhost@evil.example",
        "http://evil.example#@127.0.0.1",
        "http://localhost.evil.example",
        "http://0.0.0.0:8080",
        "http://[::ffff:7f00:1]:8080",  # v4-mapped: not reported loopback, refused
        "https://",
        "//srv.msgflash.com",
    ],
)
def test_plain_http_loopback_exception_cannot_be_tricked(url: str) -> None:
    with pytest.raises(exc.ConfigurationError):
        MsgFlashClient(PERSONAL, base_url=url)


@pytest.mark.parametrize("url", ["http://127.0.0.2:9", "HTTP://LOCALHOST:9", "https://[::1]:9"])
def test_other_loopback_spellings_are_allowed(url: str) -> None:
    MsgFlashClient(PERSONAL, base_url=url)


# -- a real handshake ---------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path]]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    yield cert_file, key_file


@pytest.fixture
async def https_url(self_signed: tuple[Path, Path]) -> AsyncIterator[tuple[str, list[str]]]:
    """An https server with a self-signed certificate; the paths it was asked for."""
    seen: list[str] = []

    async def answer(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.json_response({"data": {"contacts": [], "hasMore": False, "total": 0}})

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*self_signed)
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context).start()
    try:
        yield f"https://127.0.0.1:{runner.addresses[0][1]}", seen
    finally:
        await runner.cleanup()


@pytest.mark.anyio
async def test_self_signed_certificate_is_refused_and_not_retried(
    https_url: tuple[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    url, seen = https_url
    caplog.set_level(logging.DEBUG, logger="msgflash_async")
    async with MsgFlashClient(
        PERSONAL, base_url=url, rate_limit=None, max_retries=FAST_RETRY
    ) as client:
        with pytest.raises(exc.ConnectError) as info:
            await client.contacts.list()
    assert not info.value.request_sent
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    assert not seen  # no request got through
    attempts = [r for r in caplog.records if "GET /api/v1/contacts" in r.getMessage()]
    assert len(attempts) == 1  # a certificate that fails now fails again: no retry


@pytest.mark.anyio
async def test_verification_off_reaches_the_self_signed_server(
    https_url: tuple[str, list[str]], caplog: pytest.LogCaptureFixture
) -> None:
    url, seen = https_url
    with caplog.at_level(logging.WARNING, logger="msgflash_async"):
        async with MsgFlashClient(
            PERSONAL, base_url=url, rate_limit=None, verify_ssl=False
        ) as client:
            assert (await client.contacts.list()).total == 0
    assert seen == ["/api/v1/contacts"]
    assert WARNING in caplog.text

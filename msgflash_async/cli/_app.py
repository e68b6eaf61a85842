"""The ``msgflash`` command: root group, shared options, output and exit codes.

Built on click (options, help, ``CliRunner`` for tests) and rich (tables,
bars). Each command is a small ``async`` function run with ``asyncio.run``;
SDK errors become one line on stderr (or a JSON object with ``--json``) and
a documented exit code, never a traceback and never the key:

====  ====================================================================
code  meaning
====  ====================================================================
0     done
1     the API or the network failed (the message says which)
2     bad usage: unknown option, unreadable file, input the SDK refuses
3     done, but some rows or sends were rejected, failed or are unknown
4     no key, a bad key, or a feature or permission the plan lacks
130   interrupted (Ctrl-C); a resumable command can be run again
====  ====================================================================
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any, NoReturn, TypeVar

import attrs
import click
from rich.console import Console
from rich.text import Text

from .._client import MsgFlashClient
from .._exceptions import (
    AuthenticationError,
    ConfigurationError,
    MsgFlashError,
    PermissionDeniedError,
    ValidationError,
)
from .._secret import Secret
from .._version import __version__

__all__ = [
    "EXIT_API",
    "EXIT_AUTH",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_USAGE",
    "Cli",
    "Failure",
    "cli",
    "pass_cli",
    "run",
]

EXIT_OK = 0
EXIT_API = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_AUTH = 4
EXIT_INTERRUPTED = 130

T = TypeVar("T")

CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 100}


class Failure(Exception):
    """A command's own error: shown as one line, exits with ``code``."""

    def __init__(self, message: str, code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.code = code


@attrs.define
class Cli:
    """What every command shares: connection options and the output mode."""

    api_key: Secret | None
    base_url: str | None
    team_id: Secret | None
    rate_limit: float
    json: bool
    out: Console = attrs.field(factory=Console)
    err: Console = attrs.field(factory=lambda: Console(stderr=True))

    def client(self) -> MsgFlashClient:
        return MsgFlashClient(
            self.api_key,
            base_url=self.base_url,
            team_id=self.team_id,
            rate_limit=self.rate_limit or None,
        )

    def emit(self, payload: Any, human: Callable[[], None]) -> None:
        """``payload`` as one JSON document with ``--json``, else what ``human`` prints."""
        if self.json:
            click.echo(json.dumps(payload, ensure_ascii=False, default=str))
        else:
            human()

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` to its end, turning SDK errors into a line and an exit code."""
        try:
            return asyncio.run(work)
        except KeyboardInterrupt:
            self.fail("interrupted; run the same command again to resume", EXIT_INTERRUPTED)
        except Failure as failure:
            self.fail(str(failure), failure.code)
        except MsgFlashError as error:
            self.fail(f"{type(error).__name__}: {error}", _exit_code(error))

    def fail(self, message: str, code: int) -> NoReturn:
        if self.json:
            click.echo(json.dumps({"error": message, "exit_code": code}), err=True)
        else:
            self.err.print(Text.assemble(("error: ", "red"), message), soft_wrap=True)
        sys.exit(code)


def _exit_code(error: MsgFlashError) -> int:
    if isinstance(error, ValidationError):
        return EXIT_USAGE  # refused before any request: the input is wrong
    if isinstance(error, (ConfigurationError, AuthenticationError, PermissionDeniedError)):
        return EXIT_AUTH
    return EXIT_API


pass_cli = click.make_pass_decorator(Cli)


def _secret(ctx: click.Context, param: click.Parameter, value: str | None) -> Secret | None:
    # Wrapped at once so no repr, error or debug dump of the context shows it.
    return Secret(value) if value else None


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, "--version", "-V", prog_name="msgflash")
@click.option(
    "--api-key",
    envvar="MSGFLASH_API_KEY",
    show_envvar=True,
    callback=_secret,
    help="API key (never printed).",
)
@click.option("--base-url", envvar="MSGFLASH_BASE_URL", show_envvar=True, help="API base URL.")
@click.option(
    "--team-id",
    envvar="MSGFLASH_TEAM_ID",
    show_envvar=True,
    callback=_secret,
    help="Team id, with a team key.",
)
@click.option(
    "--rate-limit",
    type=click.FloatRange(min=0),
    default=10.0,
    help="Client-side requests per second (0: off).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Machine-readable output (one JSON document)."
)
@click.pass_context
def cli(
    ctx: click.Context,
    api_key: Secret | None,
    base_url: str | None,
    team_id: Secret | None,
    rate_limit: float,
    as_json: bool,
) -> None:
    """msgflash: the MsgFlash WhatsApp API from the command line.

    Exit codes: 0 done; 1 API or network failure; 2 bad usage or input;
    3 done, but some rows or sends were rejected, failed or unknown; 4 no key,
    bad key, or a feature the plan lacks; 130 interrupted (run it again to
    resume).
    """
    ctx.obj = Cli(api_key, base_url, team_id, rate_limit, as_json)


def run(argv: list[str] | None = None) -> int:
    """Run the command line; return its exit code (``SystemExit`` is caught)."""
    from . import commands  # noqa: F401  registers the sub-commands on ``cli``

    try:
        cli.main(args=argv, prog_name="msgflash", standalone_mode=True)
    except SystemExit as exit_:
        code = exit_.code
        return code if isinstance(code, int) else (0 if code is None else 1)

"""``smsgw web``: gunicorn serving the Flask app over HTTPS, with the box's own certificate.

The API is HTTPS from the first start: there is no plain-HTTP mode to forget to turn off.
Access logs carry the method, the path without its query string, the status and the
duration: query strings may hold API keys or phone numbers.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import re
import signal
import sys
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import click
from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from gateway.cli.context import gateway_for, load
from gateway.cli.setup import tls_lines
from gateway.config import Config
from gateway.tls import TlsError, ensure_certificates, tls_files

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

logger = logging.getLogger(__name__)

ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(M)sms"
# A request whose line cannot be parsed is logged by gunicorn as it came, query included.
_QUERY = re.compile(r"\?[^\s'\"]+")
_PR_SET_PDEATHSIG = 1
# An upload refused early is read to its end, so its client gets the answer, up to this.
DRAIN_LIMIT = 16 << 20
DRAIN_SECONDS = 10.0


def parse_bind(value: str) -> tuple[str, int]:
    """HOST:PORT (or [v6]:PORT) into the host, without brackets, and the port."""
    host, sep, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise click.BadParameter(f"{value!r} is not HOST:PORT, such as 0.0.0.0:8443 or [::]:8443")
    return host, int(port)


def _check_bind(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    if value is not None:
        parse_bind(value)
    return value


bind_option = click.option(
    "--bind",
    metavar="HOST:PORT",
    callback=_check_bind,
    help="Address to listen on (default: web.bind from the config, 0.0.0.0:8443).",
)


@click.command()
@bind_option
@click.option("--workers", type=click.IntRange(1, 32), help="Web worker processes (web.workers).")
@click.option("--parent-pid", type=int, hidden=True, help="Stop when this process ends.")
@click.pass_context
def web(ctx: click.Context, bind: str | None, workers: int | None, parent_pid: int | None) -> None:
    """Serve the LAN API over HTTPS (gunicorn) with the certificate `smsgw init` made."""
    if parent_pid is not None:
        _stop_with_parent(parent_pid)
    config = load(ctx)
    files = tls_files(config)
    if not files.servable():
        raise click.ClickException(
            f"no TLS certificate in {files.directory}: run `smsgw init` first "
            "(it makes the local CA and the server certificate)"
        )
    try:
        # The box's address may have changed since init (DHCP): name the current ones.
        report = ensure_certificates(config, create_ca=False)
        if report.server_action != "kept":
            for line in tls_lines(report):
                click.echo(line, err=True)
    except TlsError as exc:
        logger.warning("serving the current certificate: %s", exc)
    with gateway_for(config):
        pass  # the master key and the database, checked here once rather than per worker
    options = server_options(config, bind or config.web.bind, workers or config.web.workers)
    WebServer(config, options).run()


def server_options(config: Config, bind: str, workers: int) -> dict[str, Any]:
    files = tls_files(config)
    return {
        "bind": [bind],
        "workers": workers,
        # Threads wait on slow or idle clients (a TLS handshake, a keep-alive connection)
        # without holding a whole worker process.
        "worker_class": "gthread",
        "threads": 4,
        "certfile": str(files.server_cert),
        "keyfile": str(files.server_key),
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": "-",
        "access_log_format": ACCESS_LOG_FORMAT,
        "errorlog": "-",
        "loglevel": "info",
        "logger_class": QueryFreeLogger,
        "proc_name": "smsgw-web",
        # Gunicorn's control socket sits in $HOME, shared by every instance: not needed.
        "control_socket_disable": True,
        # SQLite's journal and anything else the app writes stay private to the service user.
        "umask": 0o077,
    }


class WebServer(BaseApplication):  # type: ignore[misc]
    """Gunicorn run in this process; each worker builds its own app (and database engine)."""

    def __init__(self, config: Config, options: dict[str, Any]) -> None:
        self.smsgw_config = config
        self.options = options
        super().__init__(prog="smsgw web")

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        # Import the app's code (not the app: no engine or file is opened) in the master,
        # so the workers it forks share those pages instead of each importing its own.
        import web.api
        import web.metrics
        import web.panel.pages
        import web.twilio  # noqa: F401

    def load(self) -> DrainUnreadBody:
        from web import create_app

        return DrainUnreadBody(create_app(self.smsgw_config))


class DrainUnreadBody:
    """Before an answer goes out, read and discard what is left of a request body the app
    did not read (a 413 for a body too large, a 401 before the body): gunicorn closes a
    connection with unread bytes on it, the kernel then resets it, and a client still
    uploading sees "connection reset" instead of the answer. Bounded in bytes and time: a
    larger or slower upload is cut off as before."""

    def __init__(
        self, app: WSGIApplication, limit: int = DRAIN_LIMIT, seconds: float = DRAIN_SECONDS
    ) -> None:
        self.app = app
        self.limit = limit
        self.seconds = seconds

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        result = self.app(environ, start_response)
        self._drain(environ)
        return result

    def _drain(self, environ: WSGIEnvironment) -> None:
        body, connection = environ.get("wsgi.input"), environ.get("gunicorn.socket")
        if body is None or connection is None:
            return
        before = connection.gettimeout()
        deadline = time.monotonic() + self.seconds
        drained = 0
        try:
            while drained < self.limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                connection.settimeout(left)
                chunk = body.read(min(65536, self.limit - drained))
                if not chunk:
                    return
                drained += len(chunk)
        # Whatever goes wrong reading garbage (a timeout, a reset, a malformed chunk), the
        # connection is closed after the answer, as it would have been without the drain.
        except Exception as exc:
            logger.debug("left a request body undrained: %s", type(exc).__name__)
        finally:
            with contextlib.suppress(OSError):
                connection.settimeout(before)


class _NoQueryStrings(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        scrubbed = _QUERY.sub("?…", message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, ()
        return True


class QueryFreeLogger(glogging.Logger):  # type: ignore[misc]
    """Gunicorn's logger, with query strings cut out of its error log too."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        if not any(isinstance(f, _NoQueryStrings) for f in self.error_log.filters):
            self.error_log.addFilter(_NoQueryStrings())


def _stop_with_parent(parent_pid: int) -> None:
    """`smsgw run` starts this as a child: if run dies without stopping it, the kernel sends
    SIGTERM, so no orphan keeps the port."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent_pid:  # it died before prctl took effect
        raise SystemExit(0)

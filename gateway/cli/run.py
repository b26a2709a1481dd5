"""``smsgw run``: the worker and the web server together, with emulated modems for a first
try. The worker runs in this process; the web server (gunicorn, which wants a process of its
own for its signals and workers) runs as a child ``smsgw web`` and stops with it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import click

from gateway.cli.context import config_path, load
from gateway.cli.service import exit_on_sigterm, run_worker
from gateway.cli.setup import data_dir_option, initialise, tls_lines
from gateway.cli.web import bind_option, parse_bind
from gateway.config import Config, ModemConfig
from gateway.tls import TlsError, ensure_certificates, tls_files
from modem.sim import SimBank

# A Raspberry Pi takes a few seconds to import Flask and open the database in each worker.
WEB_START_SECONDS = 60.0
WEB_STOP_SECONDS = 30.0  # gunicorn's graceful timeout is 10 s


@click.command()
@click.option(
    "--simulate",
    type=click.IntRange(0, 16),
    default=0,
    help="Also start N emulated modems and use them instead of the configured ones.",
)
@click.option(
    "--send-delay",
    type=click.FloatRange(0, 60),
    default=0.5,
    show_default=True,
    help="Seconds an emulated modem takes per message.",
)
@bind_option
@click.option("--no-web", is_flag=True, help="Run the worker only, without the web server.")
@data_dir_option
@click.pass_context
def run(
    ctx: click.Context,
    simulate: int,
    send_delay: float,
    bind: str | None,
    no_web: bool,
    data_dir: Path | None,
) -> None:
    """The worker and the HTTPS web server together, with emulated modems if asked (no
    hardware). A web server that cannot start on the configured address is reported and the
    worker runs on; one that cannot start on an address given with --bind stops the run."""
    exit_on_sigterm()
    if not config_path(ctx, data_dir).exists():
        click.echo("first start: setting up")
        for line in initialise(ctx, data_dir):
            click.echo(f"  {line}")
    config = load(ctx, data_dir)
    if not simulate and not config.modems:
        raise click.ClickException("no [[modems]] in the config; try --simulate 2")
    address = bind or config.web.bind
    with ExitStack() as stack:
        web = None
        if not no_web:
            _ensure_certificates(config)
            problem = _bind_problem(address)
            if problem is None:
                web = stack.enter_context(_web_server(ctx, data_dir, address))
            else:
                _web_failed(f"cannot listen on {address}: {problem}", explicit=bind is not None)
        if simulate:
            bank = stack.enter_context(
                SimBank(config.data_dir / "sim", simulate, send_delay=send_delay)
            )
            modems = []
            for index, handle in enumerate(bank):
                modems.append(
                    ModemConfig(
                        device=handle.device_path,
                        line=f"Simulated {index + 1}",
                        number=handle.number,
                        rate_per_minute=600,
                    )
                )
                click.echo(
                    f"{handle.name}  line=Simulated {index + 1}  number={handle.number}  "
                    f"control={handle.control_path}"
                )
            config = config.with_modems(modems)
        if web is not None:
            _report_web(web, address, config, explicit=bind is not None)
        run_worker(config)


def _ensure_certificates(config: Config) -> None:
    # A data directory set up before HTTPS existed gets its certificates here too.
    try:
        report = ensure_certificates(config)
    except TlsError as exc:
        raise click.ClickException(str(exc)) from None
    if report.ca_created or report.server_action != "kept":
        for line in tls_lines(report):
            click.echo(f"  {line}")


@contextmanager
def _web_server(
    ctx: click.Context, data_dir: Path | None, address: str
) -> Iterator[subprocess.Popen[bytes]]:
    root = ctx.find_root().params
    command = [sys.executable, "-m", "gateway.cli"]
    command += ["-v"] * min(root.get("verbose") or 0, 2)
    path = config_path(ctx, data_dir)
    if path.exists():
        command += ["--config", str(path)]
    chosen = data_dir or root.get("data_dir")
    if chosen is not None:
        command += ["--data-dir", str(chosen)]
    command += ["web", "--bind", address, "--parent-pid", str(os.getpid())]
    # systemd's notify socket is the worker's (this process): gunicorn in the child would
    # otherwise report readiness for a process systemd does not watch.
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    process = subprocess.Popen(command, env=env)
    try:
        yield process
    finally:
        _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(WEB_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _report_web(
    process: subprocess.Popen[bytes], address: str, config: Config, *, explicit: bool
) -> None:
    ca = tls_files(config).ca_cert
    if wait_until_serving(process, address, ca, WEB_START_SECONDS):
        click.echo(f"web listening on https://{address} (CA: {ca})")
        return
    _stop(process)
    _web_failed(f"the web server did not start on {address} (see the messages above)", explicit)


def _web_failed(reason: str, explicit: bool) -> None:
    if explicit:
        raise click.ClickException(reason)
    click.echo(f"warning: {reason}; the worker runs without it (try --bind HOST:PORT)", err=True)


def _bind_problem(address: str) -> str | None:
    """Why nothing can listen on `address` (in use, not an address of this host), found
    at once rather than after gunicorn's five one-second retries."""
    host, port = parse_bind(address)
    try:
        family, kind, proto, _, sockaddr = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn does
            probe.bind(sockaddr)
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def wait_until_serving(
    process: subprocess.Popen[bytes], address: str, ca: Path, timeout: float
) -> bool:
    """True once a TLS handshake on `address` succeeds with a certificate from our CA (so it
    is our server, not whatever else holds the port); False if the process ends first or
    the deadline passes."""
    host, port = parse_bind(address)
    if host in ("0.0.0.0", "::", "*"):
        host = "::1" if ":" in host else "127.0.0.1"
    context = ssl.create_default_context(cafile=str(ca))
    # The chain proves the server is ours; which name it is reached by does not matter here.
    context.check_hostname = False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with (
                socket.create_connection((host, port), timeout=2) as raw,
                context.wrap_socket(raw),
            ):
                return True
        except OSError:  # not listening yet, or not our certificate (ssl.SSLError)
            pass
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(0.1)  # the pause between attempts, cut short if the server dies
    return False

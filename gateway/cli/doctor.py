"""``smsgw doctor``: check the box and print each finding with its fix.

Exit status: 0 all checks passed, 1 warnings only (look soon), 2 something is broken.
"""

from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import Engine

from gateway.cli.context import config_path
from gateway.cli.output import emit_json, terminal_safe
from gateway.config import DEFAULT_CONFIG_PATH, Config, ConfigError, load_config
from gateway.doctor import (
    Finding,
    Limits,
    check_certificates,
    check_clock,
    check_data_dir,
    check_database,
    check_disk,
    check_master_key,
    check_webhooks,
    exit_code,
    sqlite_path,
    worst,
)
from gateway.doctor_cluster import check_cluster
from gateway.doctor_modems import check_modems
from gateway.models import utcnow
from gateway.store import make_engine

MARKS = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object instead of text.")
@click.option(
    "--warn-free-mb",
    type=click.FloatRange(0),
    default=Limits.warn_free_mb,
    show_default=True,
    help="Warn when the data directory's disk has less free space than this.",
)
@click.option(
    "--min-free-mb",
    type=click.FloatRange(0),
    default=Limits.min_free_mb,
    show_default=True,
    help="Fail when the data directory's disk has less free space than this.",
)
@click.pass_context
def doctor(ctx: click.Context, as_json: bool, warn_free_mb: float, min_free_mb: float) -> None:
    """Check the config, keys, database, disk, clock, modems, certificates and webhooks.

    Exits 0 when all is well, 1 on warnings, 2 when something is broken.
    """
    limits = Limits(warn_free_mb=max(warn_free_mb, min_free_mb), min_free_mb=min_free_mb)
    findings = examine(ctx, limits)
    if as_json:
        emit_json({"status": worst(findings), "findings": [f.as_dict() for f in findings]})
    else:
        for finding in findings:
            line = f"[{MARKS[finding.status]}] {finding.check}: {finding.detail}"
            click.echo(terminal_safe(line))
            if finding.fix and finding.status != "ok":
                click.echo(terminal_safe(f"       fix: {finding.fix}"))
        click.echo(_summary(findings))
    ctx.exit(exit_code(findings))


def examine(ctx: click.Context, limits: Limits) -> list[Finding]:
    config, finding = _config(ctx)
    if config is None:
        return [finding]
    findings = [finding, check_data_dir(config), check_master_key(config)]
    engine = _engine(config, findings)
    now = utcnow()
    try:
        if engine is not None:
            findings += check_database(config, engine)
        findings.append(check_disk(config, limits))
        findings.append(check_clock(engine, now))
        findings += check_modems(config, engine, now)
        findings += check_certificates(config, now)
        if engine is not None:
            findings.append(check_webhooks(engine, now))
            findings += check_cluster(config, engine, now)
    finally:
        if engine is not None:
            engine.dispose()
    return findings


def _config(ctx: click.Context) -> tuple[Config | None, Finding]:
    data_dir = ctx.find_root().params.get("data_dir")
    path = config_path(ctx)
    try:
        config = load_config(
            path if path.exists() or path != DEFAULT_CONFIG_PATH else None,
            data_dir=Path(data_dir) if data_dir else None,
        )
    except ConfigError as exc:
        where = exc.where or str(path)
        return None, Finding("config", "fail", str(exc), f"edit {where}; then run doctor again")
    shown = str(config.source) if config.source else "built-in defaults (no config file)"
    return config, Finding("config", "ok", shown)


def _engine(config: Config, findings: list[Finding]) -> Engine | None:
    path = sqlite_path(config)
    if path is not None and not path.exists():
        # Connecting would create an empty database file: report it missing instead.
        findings.append(Finding("database", "fail", f"no database at {path}", "run `smsgw init`"))
        return None
    return make_engine(config.database_url)


def _summary(findings: list[Finding]) -> str:
    counts = {status: sum(f.status == status for f in findings) for status in MARKS}
    return f"{counts['fail']} failed, {counts['warn']} warnings, {counts['ok']} ok"

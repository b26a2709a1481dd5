"""Reads the smsgw configuration once at start-up: one TOML file, then SMSGW_* environment
variables over single settings. Strict on purpose: an unknown key, a wrong type or a value
out of range stops the start with a message naming the file and the key, because a typo that
silently falls back to a default (a retry limit, a region) shows up weeks later as lost or
duplicated texts. A few settings (the texts customers get, quiet hours, retention) can
also be changed in the panel, over this file's values: ``gateway.settings``."""

from __future__ import annotations

import dataclasses
import math
import os
import re
import stat
import tomllib
import typing
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.config_schema import (
    SECTIONS,
    Check,
    Config,
    ConfigError,
    ConsentConfig,
    DatabaseConfig,
    InboundConfig,
    InboxConfig,
    ModemConfig,
    NumbersConfig,
    QueueConfig,
    RetentionConfig,
    WebConfig,
    WebhooksConfig,
    WorkerConfig,
    check_absolute,
    render_default_config,
)

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "Config",
    "ConfigError",
    "ConsentConfig",
    "DatabaseConfig",
    "InboundConfig",
    "InboxConfig",
    "ModemConfig",
    "NumbersConfig",
    "QueueConfig",
    "RetentionConfig",
    "WebConfig",
    "WebhooksConfig",
    "WorkerConfig",
    "check_setting",
    "load_config",
    "render_default_config",
]

DEFAULT_CONFIG_PATH = Path("/etc/smsgw/smsgw.toml")
# A real file is a few KiB; anything this large is a mistake or an attack, not a config.
MAX_FILE_BYTES = 1 << 20
MAX_SECRET_BYTES = 64 << 10
# Linux PATH_MAX; no path, URL or name in the config is longer.
MAX_STRING = 4096
MAX_DOTS_PER_LINE = 16
_QUOTED = re.compile(r""""(?:[^"\\]|\\.)*"|'[^']*'""")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_TRUE, _FALSE = {"true", "1", "yes"}, {"false", "0", "no"}
_KIND_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


@dataclass(frozen=True)
class _Field:
    name: str
    kind: type  # int, float, bool, str or Path
    required: bool
    low: float | None = None
    high: float | None = None
    check: Check | None = None


@dataclass(frozen=True)
class _Raw:
    value: Any
    where: str  # the file or the "$SMSGW_…" variable it came from
    from_env: bool


class _Invalid(Exception):
    pass


def _schema(cls: type, only: set[str] | None = None) -> dict[str, _Field]:
    hints = typing.get_type_hints(cls)
    result = {}
    for spec in dataclasses.fields(cls):
        if only is not None and spec.name not in only:
            continue
        kinds = [k for k in typing.get_args(hints[spec.name]) if k is not type(None)]
        required = spec.default is dataclasses.MISSING
        meta = spec.metadata
        kind = kinds[0] if kinds else hints[spec.name]
        result[spec.name] = _Field(
            spec.name, kind, required, meta["low"], meta["high"], meta["check"]
        )
    return result


_TOP = _schema(Config, {"data_dir"})
_URL_FILE = _Field("url_file", Path, False, check=check_absolute)


def load_config(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
) -> Config:
    """The configuration from `path`, else $SMSGW_CONFIG, else DEFAULT_CONFIG_PATH (all
    defaults when that one is absent), with SMSGW_* variables over it. `data_dir` (from
    `smsgw init --data-dir`) wins over both."""
    environ = os.environ if environ is None else environ
    source = _config_path(path, environ)
    document = _read_document(source) if source is not None else {}
    raw, modem_tables = _file_layers(document, str(source))
    _apply_environment(raw, environ)
    _resolve_url_file(raw["database"])
    top = _values(_TOP, raw[""], "")
    sections = {
        name: cls(**_values(_schema(cls), raw[name], f"{name}.")) for name, cls in SECTIONS.items()
    }
    _check_backoff(sections["queue"], raw["queue"])
    config = Config(**top, **sections, modems=_modems(modem_tables, str(source)), source=source)
    if data_dir is not None:
        config = dataclasses.replace(config, data_dir=Path(data_dir).absolute())
    return config


# -- reading the file --------------------------------------------------------------------


def _config_path(path: str | Path | None, environ: Mapping[str, str]) -> Path | None:
    given = path if path is not None else environ.get("SMSGW_CONFIG") or None
    if given is not None:
        return Path(given)
    try:
        DEFAULT_CONFIG_PATH.stat()
    except FileNotFoundError:
        return None  # a first try without a config file runs on the defaults
    except OSError:
        pass  # exists but unreadable: reading it reports why
    return DEFAULT_CONFIG_PATH


def _read_limited(path: Path, limit: int, *, key: str | None, where: str | Path) -> bytes:
    # Errors about the config file itself need not repeat its name; a secret file's do.
    subject = "the file" if key is None else str(path)
    try:
        # A FIFO or a device would block or never end; only a regular file is read.
        if not stat.S_ISREG(path.stat().st_mode):
            raise ConfigError(f"{subject} is not a regular file", key=key, where=where)
        with path.open("rb") as handle:
            data = handle.read(limit + 1)
    except FileNotFoundError:
        raise ConfigError(f"{subject} does not exist", key=key, where=where) from None
    except OSError as exc:
        reason = f"{subject} cannot be read: {exc.strerror or type(exc).__name__}"
        raise ConfigError(reason, key=key, where=where) from None
    if len(data) > limit:
        reason = f"{subject} is larger than {limit:,} bytes; refusing to read it"
        raise ConfigError(reason, key=key, where=where)
    return data


def _read_document(path: Path) -> dict[str, Any]:
    data = _read_limited(path, MAX_FILE_BYTES, key=None, where=path)
    try:
        text = data.decode("utf-8-sig")  # tolerate the BOM some Windows editors write
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text (byte {exc.start})", where=path) from None
    _check_nesting(text, path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"not valid TOML: {exc}", where=path) from None
    except RecursionError:  # arrays or inline tables nested thousands deep
        raise ConfigError("not valid TOML: nested too deeply", where=path) from None


def _check_nesting(text: str, path: Path) -> None:
    # tomllib's time and memory grow with the square of a dotted key's depth: a 200 KB line
    # of "a.a.a…" takes gigabytes. No smsgw key is more than two levels deep, and a line
    # holds at most a float or two, so a line with many dots outside strings is hostile.
    for number, line in enumerate(text.splitlines(), 1):
        bare = _QUOTED.sub('""', line).split("#", 1)[0]
        if bare.count(".") > MAX_DOTS_PER_LINE:
            reason = f"line {number}: more than {MAX_DOTS_PER_LINE} dots outside strings"
            raise ConfigError(reason, where=path)


def _shown(name: str) -> str:
    """A key name from the file, made safe to print: a quoted TOML key may hold anything."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in name[:60])


def _reject_unknown(
    table: Mapping[str, Any], allowed: Collection[str], prefix: str, where: str, place: str
) -> None:
    for name in table:
        if name not in allowed:
            reason = f"unknown setting; valid keys {place}: {', '.join(sorted(allowed))}"
            raise ConfigError(reason, key=prefix + _shown(name), where=where)


def _file_layers(
    document: dict[str, Any], where: str
) -> tuple[dict[str, dict[str, _Raw]], list[dict[str, Any]]]:
    _reject_unknown(document, {*_TOP, *SECTIONS, "modems"}, "", where, "at the top level")
    raw = {"": {k: _Raw(v, where, False) for k, v in document.items() if k in _TOP}}
    for section, cls in SECTIONS.items():
        table = document.get(section, {})
        if not isinstance(table, dict):
            raise ConfigError(
                f"expected a table, got {_type_name(table)}", key=section, where=where
            )
        allowed = {*_schema(cls), *(["url_file"] if section == "database" else [])}
        _reject_unknown(table, allowed, f"{section}.", where, f"in [{section}]")
        raw[section] = {k: _Raw(v, where, False) for k, v in table.items()}
    modems = document.get("modems", [])
    if not isinstance(modems, list) or not all(isinstance(m, dict) for m in modems):
        reason = f"expected [[modems]] tables, got {_type_name(modems)}"
        raise ConfigError(reason, key="modems", where=where)
    return raw, modems


# -- the environment ---------------------------------------------------------------------


def _environment_names() -> dict[str, tuple[str, str]]:
    names = {
        "SMSGW_DATA_DIR": ("", "data_dir"),
        "SMSGW_DATABASE_URL_FILE": ("database", "url_file"),
    }
    for section, cls in SECTIONS.items():
        for name in _schema(cls):
            names[f"SMSGW_{section}_{name}".upper()] = (section, name)
    return names


def _apply_environment(raw: dict[str, dict[str, _Raw]], environ: Mapping[str, str]) -> None:
    known = _environment_names()
    for variable in sorted(environ):
        if not variable.startswith("SMSGW_") or variable == "SMSGW_CONFIG":
            continue
        where = "$" + _shown(variable)
        if variable not in known:
            if variable.startswith("SMSGW_MODEMS"):
                raise ConfigError("modems can only be configured in the file", where=where)
            valid = ", ".join(sorted([*known, "SMSGW_CONFIG"]))
            raise ConfigError(f"names no setting; valid variables: {valid}", where=where)
        section, key = known[variable]
        if section == "database" and key in ("url", "url_file"):
            # The environment replaces the file's choice between url and url_file.
            for name in ("url", "url_file"):
                if name in raw[section] and not raw[section][name].from_env:
                    del raw[section][name]
        raw[section][key] = _Raw(environ[variable], where, True)


# -- values ------------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    names = {bool: "boolean", int: "integer", float: "float", str: "string", list: "array"}
    return names.get(type(value), "table" if isinstance(value, dict) else "date/time")


def _typed(kind: type, value: Any) -> Any:
    """A value from the TOML file, which already has a type: it must be the right one."""
    if kind is bool:
        ok = isinstance(value, bool)
    elif kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise _Invalid(f"expected {_KIND_NAMES.get(kind, 'a string')}, got {_type_name(value)}")
    return value


def _parsed(kind: type, text: str) -> Any:
    """A value from an environment variable, which is always text."""
    shown = repr(text if len(text) <= 40 else text[:40] + "…")
    if kind is bool:
        if text.strip().lower() in _TRUE | _FALSE:
            return text.strip().lower() in _TRUE
        raise _Invalid(f"expected true/false/1/0/yes/no, got {shown}")
    if kind is int:
        if re.fullmatch(r"[+-]?[0-9]{1,18}", text.strip()):
            return int(text)
        raise _Invalid(f"expected an integer, got {shown}")
    if kind is float:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise _Invalid(f"expected a number, got {shown}")
        return number
    return text


def _convert(spec: _Field, raw: _Raw, key: str) -> Any:
    try:
        value = _parsed(spec.kind, raw.value) if raw.from_env else _typed(spec.kind, raw.value)
        reason = None
        if isinstance(value, str):
            if len(value) > MAX_STRING:
                reason = f"must be at most {MAX_STRING} characters long"
            elif _CONTROL.search(value):
                reason = "must not contain control characters (NUL, newline, escape…)"
        elif spec.low is not None and spec.high is not None and not spec.low <= value <= spec.high:
            reason = f"must be between {spec.low:g} and {spec.high:g}"
        reason = reason or (spec.check(value) if spec.check else None)
    except _Invalid as exc:
        reason = str(exc)
    if reason:
        raise ConfigError(reason, key=key, where=raw.where)
    return Path(value) if spec.kind is Path else value


def check_setting(section: str, key: str, value: Any, *, where: str, text: bool) -> Any:
    """One setting's value checked by the loader's own rules (type, length, range, check),
    for settings changed elsewhere than the file (``gateway.settings``). ``text`` values are
    read as an environment variable's are, which is what a form field is."""
    spec = _schema(SECTIONS[section])[key]
    return _convert(spec, _Raw(value, where, text), f"{section}.{key}")


def _values(schema: dict[str, _Field], layer: dict[str, _Raw], prefix: str) -> dict[str, Any]:
    # Settings left out are left to the dataclass defaults.
    return {name: _convert(schema[name], raw, prefix + name) for name, raw in layer.items()}


def _resolve_url_file(layer: dict[str, _Raw]) -> None:
    url_file = layer.pop("url_file", None)
    if url_file is None:
        return
    if "url" in layer:
        reason = "give database.url or database.url_file, not both"
        raise ConfigError(reason, key="database.url_file", where=url_file.where)
    path = _convert(_URL_FILE, url_file, "database.url_file")
    data = _read_limited(path, MAX_SECRET_BYTES, key="database.url_file", where=url_file.where)
    url = data.decode("utf-8", errors="replace").strip()
    if not url:
        raise ConfigError(f"{path} is empty", key="database.url_file", where=url_file.where)
    # The URL itself is then checked like any other, with errors naming the file it came from.
    layer["url"] = _Raw(url, str(path), False)


def _check_backoff(queue: QueueConfig, layer: dict[str, _Raw]) -> None:
    if queue.backoff_max >= queue.backoff_base:
        return
    if "backoff_max" in layer:
        reason = f"must be at least queue.backoff_base ({queue.backoff_base:g})"
        raise ConfigError(reason, key="queue.backoff_max", where=layer["backoff_max"].where)
    reason = f"must be at most queue.backoff_max ({queue.backoff_max:g})"
    raise ConfigError(reason, key="queue.backoff_base", where=layer["backoff_base"].where)


def _modems(tables: list[dict[str, Any]], where: str) -> tuple[ModemConfig, ...]:
    schema = _schema(ModemConfig)
    modems: list[ModemConfig] = []
    lines: dict[str, int] = {}
    devices: dict[str, int] = {}
    for index, table in enumerate(tables):
        prefix = f"modems[{index}]."
        _reject_unknown(table, schema, prefix, where, "in [[modems]]")
        values = _values(schema, {k: _Raw(v, where, False) for k, v in table.items()}, prefix)
        for name in schema:
            if schema[name].required and name not in values:
                raise ConfigError("is required", key=prefix + name, where=where)
        modem = ModemConfig(**values)
        # Two tables for one modem would have two threads fight over its port; two modems
        # with one name would make the inbox ambiguous ("Front desk" vs "front desk").
        for seen, name, value in (
            (lines, "line", modem.line.casefold()),
            (devices, "device", os.path.normpath(modem.device)),
        ):
            if value in seen:
                reason = f"the same {name} as modems[{seen[value]}]"
                raise ConfigError(reason, key=prefix + name, where=where)
            seen[value] = index
        modems.append(modem)
    return tuple(modems)

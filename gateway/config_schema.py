"""The settings of smsgw: one frozen dataclass per TOML table. Each field carries its default,
its allowed range, its extra check and the line of explanation `smsgw init` writes above it,
so the loader, the checks and the commented default file cannot drift apart."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import phonenumbers

# A SIM PIN file holds 4 to 8 digits; reading more than this would only read garbage.
PIN_FILE_LIMIT = 1024
# AF_UNIX socket addresses hold 108 bytes including the terminating NUL.
UNIX_SOCKET_PATH_LIMIT = 107


class ConfigError(Exception):
    """A setting that cannot be used. The message names where the value came from (the file
    or the environment variable) and the key, never a secret value."""

    def __init__(
        self, reason: str, *, key: str | None = None, where: str | Path | None = None
    ) -> None:
        self.reason = reason
        self.key = key
        self.where = None if where is None else str(where)
        super().__init__(": ".join(part for part in (self.where, key, reason) if part))


Check = Callable[[str], "str | None"]


def setting(
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    low: float | None = None,
    high: float | None = None,
    check: Check | None = None,
    example: Any = None,
) -> Any:
    """A dataclass field plus what the loader and the default file need to know about it."""
    metadata = {"doc": doc, "low": low, "high": high, "check": check, "example": example}
    return field(default=default, metadata=metadata)


# -- checks beyond type and range: each returns why a value is wrong, or None -------------


def _show(value: str) -> str:
    """A value quoted for an error message, cut short so a hostile value cannot flood it."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def check_absolute(value: str) -> str | None:
    # The services run with / as working directory, so a relative path would mean something
    # else there than in the shell where it was tried.
    return None if os.path.isabs(value) else "must be an absolute path"


def _check_device(value: str) -> str | None:
    return "must not be empty" if not value else check_absolute(value)


def _check_optional_path(value: str) -> str | None:
    return None if not value else check_absolute(value)


def _check_socket(value: str) -> str | None:
    if not value:
        return None
    if len(os.fsencode(value)) > UNIX_SOCKET_PATH_LIMIT:
        return f"must be at most {UNIX_SOCKET_PATH_LIMIT} bytes long (a Unix socket address)"
    return check_absolute(value)


def _check_database_url(value: str) -> str | None:
    # The URL may hold a password, so it is never quoted back.
    if value and not re.match(r"[A-Za-z][A-Za-z0-9+.\-]*://", value):
        return "must be a database URL such as postgresql://smsgw@db/smsgw (value not shown)"
    return None


def _check_region(value: str) -> str | None:
    if value in phonenumbers.SUPPORTED_REGIONS:
        return None
    if value.upper() in phonenumbers.SUPPORTED_REGIONS:
        return f"{_show(value)} must be upper-case: {value.upper()!r}"
    return f"{_show(value)} is not a known region (ISO 3166 alpha-2 such as US, GB, DE)"


def _check_line(value: str) -> str | None:
    if not 1 <= len(value) <= 64:
        return "must be 1 to 64 characters long"
    # isprintable() also refuses bidirectional overrides, which would garble the inbox.
    if not value.isprintable() or value != value.strip():
        return "must be printable characters, not starting or ending with a space"
    return None


def _check_e164(value: str) -> str | None:
    # Not quoted back: logs and messages never carry full phone numbers.
    reason = "must be a number in E.164 form, such as +15555550123"
    if not re.fullmatch(r"\+[1-9][0-9]{1,14}", value):
        return reason
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        return reason
    return None if phonenumbers.is_possible_number(number) else reason + " (not a possible number)"


def _check_bind(value: str) -> str | None:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535 or not host:
        return f"{_show(value)} must be HOST:PORT, such as 0.0.0.0:8443 or [::]:8443"
    return None


def _check_host_list(value: str) -> str | None:
    for item in (part.strip() for part in value.split(",")):
        if not item:
            continue
        if len(item) > 253 or not re.fullmatch(r"[A-Za-z0-9.:\-/\[\]*]+", item):
            return f"{_show(item)} is not a host name, an address or a network"
    return None


# -- the tables --------------------------------------------------------------------------

URL_FILE_DOC = (
    'Or read the URL from a file, e.g. a systemd credential: url_file = "/run/credentials/..."'
)


@dataclass(frozen=True)
class DatabaseConfig:
    """Where messages, contacts and events are stored."""

    url: str = setting(
        "",
        doc="SQLAlchemy URL; empty means SQLite at <data_dir>/smsgw.db. "
        "PostgreSQL when several boxes share one queue.",
        check=_check_database_url,
    )


@dataclass(frozen=True)
class NumbersConfig:
    """How phone numbers are read."""

    default_region: str = setting(
        "US",
        doc="Region of numbers written without +country code (ISO 3166 alpha-2: US, GB, DE).",
        check=_check_region,
    )


@dataclass(frozen=True)
class QueueConfig:
    """Outbound messages: size, retries and expiry."""

    max_segments: int = setting(
        10,
        doc="Longest message accepted, in SMS parts (153 GSM-7 or 67 UCS-2 characters each).",
        low=1,
        high=50,
    )
    max_attempts: int = setting(
        6, doc="Send attempts before a message fails (transient errors only).", low=1, high=50
    )
    backoff_base: float = setting(
        10.0,
        doc="Seconds before the first retry; each further retry waits twice as long, jittered.",
        low=0.1,
        high=3600,
    )
    backoff_max: float = setting(
        1800.0, doc="Longest wait between retries, in seconds (>= backoff_base).", low=1, high=86400
    )
    expiry_hours: float = setting(
        24.0,
        doc="Hours after which an unsent message fails rather than arrive stale.",
        low=0.01,
        high=720,
    )
    resend_unknown: bool = setting(
        False,
        doc="Resend messages whose outcome a crash left unknown. Off: a duplicate text is "
        "worse than a visible gap someone can resend.",
    )
    request_reports: bool = setting(True, doc="Ask the network for delivery reports.")


@dataclass(frozen=True)
class InboundConfig:
    """Received messages and delivery reports."""

    poll_seconds: float = setting(
        60.0,
        doc="How often messages stored on the modem are listed, in case a notice was missed.",
        low=1,
        high=3600,
    )
    part_timeout_seconds: float = setting(
        3600.0,
        doc="Seconds to wait for the missing parts of a long message before storing it as is.",
        low=10,
        high=604800,
    )
    report_window_hours: float = setting(
        72.0,
        doc="Hours after sending during which a delivery report is matched to its message.",
        low=1,
        high=720,
    )


def _check_worker_name(value: str) -> str | None:
    if value and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]{0,47}", value):
        return "must be 1 to 48 letters, digits, '.', '-' or '_' (empty: the host name)"
    return None


@dataclass(frozen=True)
class WorkerConfig:
    """The process that drives the modems."""

    wake_socket: str = setting(
        "",
        doc="Socket the web app uses to wake the worker; empty means <data_dir>/worker.sock.",
        check=_check_socket,
    )
    health_seconds: float = setting(
        30.0, doc="How often each modem's signal and registration are checked.", low=1, high=3600
    )
    name: str = setting(
        "",
        doc="This box's name among several sharing one PostgreSQL queue (letters, digits, "
        "'.', '-', '_'); empty means the host name.",
        check=_check_worker_name,
    )
    lease_seconds: float = setting(
        60.0,
        doc="A box whose heartbeat is older than this is taken over by the others: its "
        "claimed messages return to the queue, those in AT+CMGS become unknown.",
        low=15,
        high=3600,
    )


@dataclass(frozen=True)
class ModemConfig:
    """One USB modem and its SIM: a line, i.e. a business number."""

    device: str = setting(
        doc="Stable device path, so a re-enumerated USB modem keeps its line.",
        check=_check_device,
        example="/dev/serial/by-id/usb-HUAWEI_Mobile-if00-port0",
    )
    line: str = setting(
        doc="The line's name shown to staff (up to 64 characters).",
        check=_check_line,
        example="Front desk",
    )
    number: str | None = setting(
        None,
        doc="The SIM's own number, E.164 (optional).",
        check=_check_e164,
        example="+15555550123",
    )
    # setting() returns a dataclasses.field(), which RUF009 does not recognise.
    pin_file: Path | None = setting(  # noqa: RUF009
        None,
        doc="File holding the SIM PIN (optional); read only when the modem is opened.",
        check=check_absolute,
        example="/etc/smsgw/front-desk.pin",
    )
    rate_per_minute: int = setting(
        20,
        doc="Most messages sent per minute; operators bar SIMs that send faster.",
        low=1,
        high=600,
    )

    def read_pin(self) -> str | None:
        """The SIM PIN, read when the modem is opened rather than at start-up so the file can
        be a systemd credential that exists only for the worker."""
        if self.pin_file is None:
            return None
        key = f"line {self.line!r}: pin_file"
        try:
            with self.pin_file.open("rb") as handle:
                data = handle.read(PIN_FILE_LIMIT)
        except OSError as exc:
            reason = f"cannot read the SIM PIN file: {exc.strerror or type(exc).__name__}"
            raise ConfigError(reason, key=key, where=self.pin_file) from None
        pin = data.decode("ascii", errors="replace").strip()
        # isdigit() alone accepts "²" and Arabic-Indic digits, which AT+CPIN does not.
        if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 8):
            reason = "does not hold a SIM PIN (4 to 8 digits); its content is not shown"
            raise ConfigError(reason, key=key, where=self.pin_file)
        return pin


@dataclass(frozen=True)
class WebConfig:
    """The LAN API and the admin panel, served over HTTPS."""

    bind: str = setting(
        "0.0.0.0:8443", doc="Address and port to listen on (HOST:PORT).", check=_check_bind
    )
    workers: int = setting(2, doc="Web worker processes (gunicorn).", low=1, high=32)
    hostnames: str = setting(
        "",
        doc="Extra names or addresses the TLS certificate covers, comma-separated; the "
        "host's own name and addresses are always included.",
        check=_check_host_list,
    )
    max_body_kb: int = setting(
        1024, doc="Largest request body accepted, in KiB (larger: 413).", low=1, high=65536
    )
    rate_per_minute: int = setting(
        1200,
        doc="Requests per minute one API key may make across all web workers (then 429).",
        low=1,
        high=1_000_000,
    )
    session_idle_minutes: int = setting(
        30,
        doc="Minutes without a request after which a panel session ends (sign in again).",
        low=5,
        high=720,
    )
    metrics_token_file: str = setting(
        "",
        doc="File holding the token a Prometheus server sends (Authorization: Bearer …) to "
        "read /metrics from another machine; empty: /metrics answers on localhost only.",
        check=_check_optional_path,
    )


@dataclass(frozen=True)
class WebhooksConfig:
    """Signed HTTP callbacks to the office's own systems."""

    allow_hosts: str = setting(
        "",
        doc="Targets allowed besides the LAN (private ranges and loopback): host names, "
        "addresses or networks, comma-separated. Link-local and cloud metadata addresses "
        "are always refused.",
        check=_check_host_list,
    )
    timeout_seconds: float = setting(
        10.0, doc="Seconds to wait for a receiver to answer.", low=1, high=120
    )
    retry_hours: float = setting(
        24.0, doc="Hours a failing delivery is retried, with growing pauses.", low=0.1, high=168
    )


def _check_clock(value: str) -> str | None:
    match = re.fullmatch(r"([01][0-9]|2[0-3]):([0-5][0-9])", value)
    return None if match else f"{_show(value)} must be a time of day HH:MM, such as 08:00"


def _check_words(value: str) -> str | None:
    words = [word.strip() for word in value.split(",")]
    if not any(words):
        return "must list at least one word, comma-separated"
    for word in words:
        if not word or len(word) > 32 or not word.isprintable():
            return f"{_show(word)}: each word is 1 to 32 printable characters"
    return None


def _check_reply(value: str) -> str | None:
    if not value.strip() or len(value) > 320:
        return "must be 1 to 320 characters (at most two SMS)"
    if not value.isprintable():
        return "must be printable characters on one line"
    return None


def _check_zone(value: str) -> str | None:
    if not value:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        return f"{_show(value)} is not an IANA time zone such as Europe/Berlin"
    return None


@dataclass(frozen=True)
class ConsentConfig:
    """Consent: keywords, automatic replies, quiet hours for marketing."""

    transactional: str = setting(
        "recorded",
        doc='What a one-to-one service message needs: "recorded" (a consent event saying '
        'the customer gave their number, recorded before or with the send) or "on_send" '
        "(the sender attests it by sending; the first send records it in the ledger).",
        check=lambda value: (
            None if value in ("recorded", "on_send") else 'must be "recorded" or "on_send"'
        ),
    )
    business_name: str = setting(
        "our office", doc="How replies name the business ({business}).", check=_check_reply
    )
    opt_out_words: str = setting(
        "STOP, STOPALL, UNSUBSCRIBE, CANCEL, END, QUIT, REVOKE, OPTOUT, OPT OUT",
        doc="A message that is only one of these opts the sender out of every line.",
        check=_check_words,
    )
    opt_in_words: str = setting(
        "START, YES, UNSTOP",
        doc="A message that is only one of these undoes the sender's opt-out.",
        check=_check_words,
    )
    help_words: str = setting(
        "HELP, INFO",
        doc="A message that is only one of these gets the help reply.",
        check=_check_words,
    )
    opt_out_reply: str = setting(
        "{business}: you are unsubscribed and get no more messages. Reply START to undo.",
        doc="The one confirmation an opt-out gets.",
        check=_check_reply,
    )
    opt_in_reply: str = setting(
        "{business}: you are resubscribed. Reply STOP to opt out.",
        doc="The reply to an opt-in word that lifted an opt-out.",
        check=_check_reply,
    )
    help_reply: str = setting(
        "{business}: reply to this message and a person will answer. Reply STOP to opt out.",
        doc="The reply to a help word, sent even to contacts who opted out.",
        check=_check_reply,
    )
    opt_out_notice: str = setting(
        "Reply STOP to opt out",
        doc="Appended to the first marketing message a contact gets.",
        check=_check_reply,
    )
    quiet_start: str = setting(
        "08:00",
        doc="Marketing goes out from this local time of the recipient…",
        check=_check_clock,
    )
    quiet_end: str = setting(
        "21:00",
        doc="…until this one (HH:MM; a window may wrap past midnight).",
        check=_check_clock,
    )
    fallback_zone: str = setting(
        "",
        doc="Time zone for numbers whose zone is unknown; empty means the box's own.",
        check=_check_zone,
    )
    marketing_daily_cap: int = setting(
        0,
        doc="Most marketing messages one contact gets per local day; 0 means no cap.",
        low=0,
        high=100,
    )


def _check_signature(value: str) -> str | None:
    if len(value) > 160 or not value.isprintable():
        return "must be at most 160 printable characters on one line (empty: no signature)"
    return None


@dataclass(frozen=True)
class InboxConfig:
    """The team inbox: away replies, signatures, what inbound card numbers become."""

    away_reply: str = setting(
        "{business}: thanks for your message. We are away now and answer when we are back.",
        doc="Sent when nobody can take a conversation (outside business hours, all away).",
        check=_check_reply,
    )
    away_reply_hours: float = setting(
        12.0,
        doc="A contact gets the away reply at most once in this many hours; 0 never sends it.",
        low=0,
        high=720,
    )
    silence_minutes: float = setting(
        30.0,
        doc="No away reply when a person replied in the conversation this recently.",
        low=0,
        high=1440,
    )
    # A hyphen, not an em dash: "—" is outside the GSM 7-bit alphabet and would turn every
    # signed message into UCS-2, 70 characters a part instead of 160.
    signature: str = setting(
        "- {agent} @ {business}",
        doc="Appended to what staff send, unless a person set their own ({agent}, "
        "{business}, {line}); empty for none.",
        check=_check_signature,
    )
    mask_inbound_cards: bool = setting(
        True,
        doc="Store card numbers in received messages masked (all but the last 4 digits): "
        "such data should not sit in one more place than needed.",
    )
    snooze_max_days: int = setting(
        90, doc="The longest a conversation can be snoozed.", low=1, high=3650
    )


@dataclass(frozen=True)
class RetentionConfig:
    """How long records are kept; a daily job purges and records what it purged."""

    body_days: int = setting(
        730,
        doc="Days message bodies are kept (the rest of the record stays); 0 keeps them.",
        low=0,
        high=36500,
    )
    consent_years: int = setting(
        5,
        doc="Years superseded consent evidence is kept; opt-outs and the current state "
        "are never purged.",
        low=5,
        high=100,
    )


def _check_backup_directory(value: str) -> str | None:
    return None if not value else check_absolute(value)


@dataclass(frozen=True)
class BackupConfig:
    """Daily encrypted backups taken by the worker (SQLite only; never holding the master key)."""

    enabled: bool = setting(False, doc="Take a backup once a day.")
    directory: str = setting(
        "",
        doc="Where daily backups go; empty means <data_dir>/backups. Better on another disk.",
        check=_check_backup_directory,
    )
    keep: int = setting(
        7, doc="How many daily backups to keep; older ones are deleted.", low=1, high=366
    )
    hour: int = setting(
        3, doc="Local hour of the day after which the day's backup is taken.", low=0, high=23
    )


SECTIONS: dict[str, type] = {
    "database": DatabaseConfig,
    "numbers": NumbersConfig,
    "queue": QueueConfig,
    "inbound": InboundConfig,
    "worker": WorkerConfig,
    "web": WebConfig,
    "webhooks": WebhooksConfig,
    "consent": ConsentConfig,
    "inbox": InboxConfig,
    "retention": RetentionConfig,
    "backup": BackupConfig,
}


@dataclass(frozen=True)
class Config:
    data_dir: Path = setting(  # noqa: RUF009
        Path("/var/lib/smsgw"),
        doc="Where the database (SQLite by default), the keys and the TLS certificate live.",
        check=check_absolute,
    )
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    numbers: NumbersConfig = field(default_factory=NumbersConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    inbound: InboundConfig = field(default_factory=InboundConfig)
    worker: WorkerConfig = field(default_factory=WorkerConfig)
    web: WebConfig = field(default_factory=WebConfig)
    webhooks: WebhooksConfig = field(default_factory=WebhooksConfig)
    consent: ConsentConfig = field(default_factory=ConsentConfig)
    inbox: InboxConfig = field(default_factory=InboxConfig)
    retention: RetentionConfig = field(default_factory=RetentionConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)
    modems: tuple[ModemConfig, ...] = ()
    source: Path | None = None

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'smsgw.db'}"

    @property
    def wake_socket_path(self) -> Path:
        return Path(self.worker.wake_socket or self.data_dir / "worker.sock")

    @property
    def master_key_path(self) -> Path:
        return self.data_dir / "master.key"

    @property
    def tls_dir(self) -> Path:
        """The local certificate authority and the server certificate (``smsgw init``)."""
        return self.data_dir / "tls"

    def with_modems(self, modems: Sequence[ModemConfig]) -> Config:
        """This configuration with other modems, e.g. emulated ones for `smsgw run --simulate`."""
        return dataclasses.replace(self, modems=tuple(modems))


# -- the default file --------------------------------------------------------------------


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a TOML basic string


def _documented(cls: type, only: set[str] | None = None, *, example: bool = False) -> list[str]:
    lines: list[str] = []
    for spec in dataclasses.fields(cls):
        if only is not None and spec.name not in only:
            continue
        meta = spec.metadata
        bounds = f"  # {meta['low']:g} to {meta['high']:g}" if meta["low"] is not None else ""
        value = meta["example"] if example and meta["example"] is not None else spec.default
        lines += [f"# {text}" for text in textwrap.wrap(meta["doc"], 86)]
        lines.append(f"#{spec.name} = {_toml(value)}{bounds}")
    return lines


def render_default_config() -> str:
    """The commented file `smsgw init` writes: every setting with its default and why."""
    lines = [
        "# smsgw configuration. Every setting is shown with its default: remove the leading",
        '# "#" from a setting to change it. SMSGW_<TABLE>_<KEY> environment variables',
        "# override single settings, e.g. SMSGW_QUEUE_MAX_ATTEMPTS=8 or SMSGW_DATA_DIR=/srv/smsgw.",
        "",
        *_documented(Config, {"data_dir"}),
    ]
    for section, cls in SECTIONS.items():
        lines += ["", f"# {cls.__doc__}", f"[{section}]", *_documented(cls)]
        if cls is DatabaseConfig:
            lines.append(f"# {URL_FILE_DOC}")
    lines += [
        "",
        "# One [[modems]] table per modem (a line: one SIM, one business number).",
        '# Remove the leading "#" from the block below, and copy it for each further modem.',
        "#[[modems]]",
        *_documented(ModemConfig, example=True),
    ]
    return "\n".join(lines) + "\n"

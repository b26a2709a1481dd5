"""The configuration loader: strict TOML, SMSGW_* overrides, secrets from files, and the
commented default file `smsgw init` writes."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

import gateway.config
from gateway.config import (
    DEFAULT_CONFIG_PATH,
    Config,
    ConfigError,
    DatabaseConfig,
    InboundConfig,
    ModemConfig,
    NumbersConfig,
    QueueConfig,
    WorkerConfig,
    load_config,
    render_default_config,
)

MODEM = '[[modems]]\ndevice = "/dev/ttyUSB0"\nline = "Front desk"\n'


@pytest.fixture(autouse=True)
def no_default_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The box running the tests may have a real /etc/smsgw/smsgw.toml; never read it.
    monkeypatch.setattr(gateway.config, "DEFAULT_CONFIG_PATH", tmp_path / "absent" / "smsgw.toml")


def write(tmp_path: Path, text: str | bytes, name: str = "smsgw.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load(tmp_path: Path, text: str | bytes, environ: dict[str, str] | None = None) -> Config:
    return load_config(write(tmp_path, text), environ=environ or {})


def error(tmp_path: Path, text: str | bytes, environ: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, text, environ)
    return str(raised.value)


# -- where the file comes from -----------------------------------------------------------


def test_it_runs_on_defaults_without_a_file() -> None:
    config = load_config(environ={})
    assert config == Config()
    assert config.source is None
    assert config.database_url == "sqlite:////var/lib/smsgw/smsgw.db"
    assert config.wake_socket_path == Path("/var/lib/smsgw/worker.sock")
    assert config.master_key_path == Path("/var/lib/smsgw/master.key")
    assert config.modems == ()


def test_it_has_the_documented_default_path() -> None:
    assert Path("/etc/smsgw/smsgw.toml") == DEFAULT_CONFIG_PATH


def test_it_reads_the_default_path_when_it_exists(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = write(tmp_path, "[queue]\nmax_attempts = 3\n")
    monkeypatch.setattr(gateway.config, "DEFAULT_CONFIG_PATH", path)
    config = load_config(environ={})
    assert config.queue.max_attempts == 3
    assert config.source == path


def test_it_reads_the_file_named_by_smsgw_config(tmp_path: Path) -> None:
    path = write(tmp_path, "[queue]\nmax_attempts = 4\n")
    config = load_config(environ={"SMSGW_CONFIG": str(path)})
    assert config.queue.max_attempts == 4
    assert config.source == path


def test_it_prefers_the_path_argument_to_smsgw_config(tmp_path: Path) -> None:
    path = write(tmp_path, "[queue]\nmax_attempts = 5\n")
    other = write(tmp_path, "[queue]\nmax_attempts = 7\n", "other.toml")
    assert load_config(path, environ={"SMSGW_CONFIG": str(other)}).queue.max_attempts == 5


@pytest.mark.parametrize("via", ["argument", "SMSGW_CONFIG"])
def test_it_refuses_a_named_file_that_does_not_exist(tmp_path: Path, via: str) -> None:
    missing = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as raised:
        if via == "argument":
            load_config(missing, environ={})
        else:
            load_config(environ={"SMSGW_CONFIG": str(missing)})
    assert str(raised.value) == f"{missing}: the file does not exist"


def test_it_refuses_a_directory_as_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a regular file"):
        load_config(tmp_path, environ={})


def test_it_lets_the_data_dir_argument_win(tmp_path: Path) -> None:
    path = write(tmp_path, 'data_dir = "/srv/smsgw"\n')
    config = load_config(path, environ={"SMSGW_DATA_DIR": "/opt/smsgw"}, data_dir=tmp_path)
    assert config.data_dir == tmp_path
    assert config.database_url == f"sqlite:///{tmp_path}/smsgw.db"
    assert config.master_key_path == tmp_path / "master.key"


# -- every table -------------------------------------------------------------------------


def test_it_reads_every_table(tmp_path: Path) -> None:
    pin = write(tmp_path, "1234\n", "sim.pin")
    config = load(
        tmp_path,
        f"""
data_dir = "/srv/smsgw"

[database]
url = "postgresql://smsgw@db.local/smsgw"

[numbers]
default_region = "GB"

[queue]
max_segments = 5
max_attempts = 3
backoff_base = 2.5
backoff_max = 600
expiry_hours = 12
resend_unknown = true
request_reports = false

[inbound]
poll_seconds = 30
part_timeout_seconds = 600.0
report_window_hours = 48

[worker]
wake_socket = "/run/smsgw/worker.sock"
health_seconds = 15

[[modems]]
device = "/dev/serial/by-id/usb-HUAWEI_Mobile-if00-port0"
line = "Front desk"
number = "+447700900123"
pin_file = "{pin}"
rate_per_minute = 10

[[modems]]
device = "/dev/ttyUSB4"
line = "Service desk"
""",
    )
    assert config.data_dir == Path("/srv/smsgw")
    assert config.database == DatabaseConfig(url="postgresql://smsgw@db.local/smsgw")
    assert config.database_url == "postgresql://smsgw@db.local/smsgw"
    assert config.numbers == NumbersConfig(default_region="GB")
    assert config.queue == QueueConfig(
        max_segments=5,
        max_attempts=3,
        backoff_base=2.5,
        backoff_max=600.0,
        expiry_hours=12.0,
        resend_unknown=True,
        request_reports=False,
    )
    assert config.inbound == InboundConfig(
        poll_seconds=30.0, part_timeout_seconds=600.0, report_window_hours=48.0
    )
    assert config.worker == WorkerConfig(wake_socket="/run/smsgw/worker.sock", health_seconds=15.0)
    assert config.wake_socket_path == Path("/run/smsgw/worker.sock")
    assert config.modems == (
        ModemConfig(
            device="/dev/serial/by-id/usb-HUAWEI_Mobile-if00-port0",
            line="Front desk",
            number="+447700900123",
            pin_file=pin,
            rate_per_minute=10,
        ),
        ModemConfig(device="/dev/ttyUSB4", line="Service desk"),
    )


def test_it_accepts_integers_where_numbers_may_have_fractions(tmp_path: Path) -> None:
    config = load(tmp_path, "[queue]\nbackoff_base = 3\n")
    assert config.queue.backoff_base == 3.0
    assert isinstance(config.queue.backoff_base, float)


def test_it_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().queue.max_attempts = 1  # type: ignore[misc]


def test_it_replaces_the_modems_for_simulation() -> None:
    base = Config(modems=(ModemConfig(device="/dev/ttyUSB0", line="Real"),))
    fake = [ModemConfig(device=f"/tmp/sim/modem{i}", line=f"Sim {i}") for i in range(2)]
    simulated = base.with_modems(fake)
    assert simulated.modems == tuple(fake)
    assert base.modems[0].line == "Real"
    assert simulated.queue == base.queue


# -- unknown keys and wrong types --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key", "valid"),
    [
        (
            "colour = 1\n",
            "colour",
            "data_dir, database, inbound, inbox, modems, numbers, queue",
        ),
        ("[queues]\n", "queues", "data_dir, database"),
        ("[queue]\nmax_attempt = 3\n", "queue.max_attempt", "backoff_base, backoff_max"),
        ("[database]\npassword = 'x'\n", "database.password", "url, url_file"),
        (MODEM + "baud = 9600\n", "modems[0].baud", "device, line, number, pin_file"),
        ("[queue.retry]\nx = 1\n", "queue.retry", "max_attempts"),
    ],
)
def test_it_rejects_unknown_keys(tmp_path: Path, text: str, key: str, valid: str) -> None:
    message = error(tmp_path, text)
    assert message.startswith(f"{tmp_path / 'smsgw.toml'}: {key}: unknown setting; valid keys")
    assert valid in message


def test_it_shows_a_hostile_unknown_key_safely(tmp_path: Path) -> None:
    message = error(tmp_path, '"evil\\u001b[2J' + "x" * 500 + '" = 1\n')
    assert "\x1b" not in message
    assert "evil\\x1b[2J" in message
    assert len(message) < 400


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[queue]\nmax_attempts = "6"\n', "queue.max_attempts: expected an integer, got string"),
        ("[queue]\nmax_attempts = true\n", "queue.max_attempts: expected an integer, got boolean"),
        ("[queue]\nmax_attempts = 6.0\n", "queue.max_attempts: expected an integer, got float"),
        ("[queue]\nbackoff_base = false\n", "queue.backoff_base: expected a number, got boolean"),
        (
            "[queue]\nresend_unknown = 1\n",
            "queue.resend_unknown: expected true or false, got integer",
        ),
        (
            "[queue]\nresend_unknown = 'yes'\n",
            "queue.resend_unknown: expected true or false, got string",
        ),
        (
            "[numbers]\ndefault_region = ['US']\n",
            "numbers.default_region: expected a string, got array",
        ),
        ("data_dir = 5\n", "data_dir: expected a string, got integer"),
        (
            "[worker]\nwake_socket = 1979-05-27\n",
            "worker.wake_socket: expected a string, got date/time",
        ),
        ("queue = 5\n", "queue: expected a table, got integer"),
        ("[modems]\ndevice = '/dev/x'\n", "modems: expected [[modems]] tables, got table"),
        (MODEM + "number = 15555550123\n", "modems[0].number: expected a string, got integer"),
        (MODEM + "rate_per_minute = '20'\n", "modems[0].rate_per_minute: expected an integer"),
    ],
)
def test_it_rejects_wrong_types(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error(tmp_path, text)


# -- ranges ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("section", "key", "inside", "outside", "bounds"),
    [
        ("queue", "max_segments", [1, 50], [0, 51], "1 and 50"),
        ("queue", "max_attempts", [1, 50], [0, -1, 51], "1 and 50"),
        ("queue", "backoff_base", [0.1, 1800], [0.09, 3600.5], "0.1 and 3600"),
        ("queue", "backoff_max", [3600, 86400], [0.5, 86401], "1 and 86400"),
        ("queue", "expiry_hours", [0.01, 720], [0.009, 720.1], "0.01 and 720"),
        ("inbound", "poll_seconds", [1, 3600], [0.99, 3601], "1 and 3600"),
        ("inbound", "part_timeout_seconds", [10, 604800], [9.9, 604801], "10 and 604800"),
        ("inbound", "report_window_hours", [1, 720], [0, 721], "1 and 720"),
        ("worker", "health_seconds", [1, 3600], [0, 3601], "1 and 3600"),
    ],
)
def test_it_checks_ranges(
    tmp_path: Path,
    section: str,
    key: str,
    inside: list[float],
    outside: list[float],
    bounds: str,
) -> None:
    for value in inside:
        config = load(tmp_path, f"[{section}]\n{key} = {value}\n")
        assert getattr(getattr(config, section), key) == value
    for value in outside:
        message = error(tmp_path, f"[{section}]\n{key} = {value}\n")
        assert message == f"{tmp_path / 'smsgw.toml'}: {section}.{key}: must be between {bounds}"


def test_it_checks_the_modem_rate_range(tmp_path: Path) -> None:
    for value in (1, 600):
        config = load(tmp_path, MODEM + f"rate_per_minute = {value}\n")
        assert config.modems[0].rate_per_minute == value
    for value in (0, 601):
        message = error(tmp_path, MODEM + f"rate_per_minute = {value}\n")
        assert "modems[0].rate_per_minute: must be between 1 and 600" in message


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_it_rejects_numbers_that_are_not_finite(tmp_path: Path, value: str) -> None:
    assert "queue.expiry_hours: must be between" in error(
        tmp_path, f"[queue]\nexpiry_hours = {value}\n"
    )


def test_it_requires_the_longest_backoff_to_be_at_least_the_first(tmp_path: Path) -> None:
    assert load(tmp_path, "[queue]\nbackoff_base = 60\nbackoff_max = 60\n").queue.backoff_max == 60
    assert (
        load(tmp_path, "[queue]\nbackoff_base = 3600\nbackoff_max = 3600\n").queue.backoff_base
        == 3600
    )
    message = error(tmp_path, "[queue]\nbackoff_base = 60\nbackoff_max = 30\n")
    assert "queue.backoff_max: must be at least queue.backoff_base (60)" in message
    message = error(tmp_path, "[queue]\nbackoff_base = 3600\n")
    assert "queue.backoff_base: must be at most queue.backoff_max (1800)" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('data_dir = "var/lib/smsgw"\n', "data_dir: must be an absolute path"),
        ('[worker]\nwake_socket = "worker.sock"\n', "worker.wake_socket: must be an absolute"),
        (f'[worker]\nwake_socket = "/{"s" * 110}"\n', "worker.wake_socket: must be at most 107"),
        ('[database]\nurl = ""\n', None),
    ],
)
def test_it_checks_paths(tmp_path: Path, text: str, expected: str | None) -> None:
    if expected is None:
        load(tmp_path, text)
    else:
        assert expected in error(tmp_path, text)


# -- the environment ---------------------------------------------------------------------


def test_it_lets_the_environment_override_each_type(tmp_path: Path) -> None:
    path = write(tmp_path, "[queue]\nmax_attempts = 3\nresend_unknown = true\n")
    config = load_config(
        path,
        environ={
            "SMSGW_QUEUE_MAX_ATTEMPTS": "8",
            "SMSGW_QUEUE_BACKOFF_BASE": "2.5",
            "SMSGW_QUEUE_RESEND_UNKNOWN": "no",
            "SMSGW_QUEUE_REQUEST_REPORTS": "TRUE",
            "SMSGW_NUMBERS_DEFAULT_REGION": "DE",
            "SMSGW_DATABASE_URL": "postgresql://smsgw@db/smsgw",
            "SMSGW_DATA_DIR": "/srv/smsgw",
            "SMSGW_CONFIG": str(path),
            "PATH": "/usr/bin",
        },
    )
    assert config.queue.max_attempts == 8
    assert config.queue.backoff_base == 2.5
    assert config.queue.resend_unknown is False
    assert config.queue.request_reports is True
    assert config.numbers.default_region == "DE"
    assert config.database_url == "postgresql://smsgw@db/smsgw"
    assert config.data_dir == Path("/srv/smsgw")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("yes", True), ("true", True), ("0", False), ("No", False), ("false", False)],
)
def test_it_reads_booleans_from_the_environment(text: str, expected: bool) -> None:
    config = load_config(environ={"SMSGW_QUEUE_REQUEST_REPORTS": text})
    assert config.queue.request_reports is expected


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("SMSGW_QUEUE_MAX_ATTEMPTS", "six", "expected an integer, got 'six'"),
        ("SMSGW_QUEUE_MAX_ATTEMPTS", "6.0", "expected an integer, got '6.0'"),
        ("SMSGW_QUEUE_MAX_ATTEMPTS", "", "expected an integer, got ''"),
        ("SMSGW_QUEUE_MAX_ATTEMPTS", "99", "must be between 1 and 50"),
        ("SMSGW_QUEUE_BACKOFF_BASE", "soon", "expected a number, got 'soon'"),
        ("SMSGW_QUEUE_BACKOFF_BASE", "nan", "expected a number, got 'nan'"),
        ("SMSGW_QUEUE_RESEND_UNKNOWN", "maybe", "expected true/false/1/0/yes/no, got 'maybe'"),
        ("SMSGW_NUMBERS_DEFAULT_REGION", "ZZ", "'ZZ' is not a known region"),
        ("SMSGW_DATA_DIR", "relative/dir", "must be an absolute path"),
    ],
)
def test_it_rejects_a_bad_environment_value(variable: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(environ={variable: value})
    key = variable.removeprefix("SMSGW_").lower().replace("_", ".", 1)
    key = "data_dir" if key == "data.dir" else key
    assert str(raised.value).startswith(f"${variable}: {key}: {expected}")


def test_it_rejects_an_smsgw_variable_that_names_no_setting() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(environ={"SMSGW_QUEUE_MAX_ATEMPTS": "3"})
    message = str(raised.value)
    assert message.startswith("$SMSGW_QUEUE_MAX_ATEMPTS: names no setting; valid variables:")
    assert "SMSGW_QUEUE_MAX_ATTEMPTS" in message


def test_it_does_not_configure_modems_from_the_environment() -> None:
    with pytest.raises(ConfigError, match="modems can only be configured in the file"):
        load_config(environ={"SMSGW_MODEMS_0_DEVICE": "/dev/ttyUSB0"})


def test_it_never_shows_a_database_url_from_the_environment() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(environ={"SMSGW_DATABASE_URL": "hunter2@db"})
    assert "hunter2" not in str(raised.value)
    assert "$SMSGW_DATABASE_URL: database.url: must be a database URL" in str(raised.value)


# -- modems ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "key"),
    [
        ('device = "/dev/ttyUSB1"\nline = "Front desk"\n', "modems[1].line"),
        ('device = "/dev/ttyUSB1"\nline = "FRONT DESK"\n', "modems[1].line"),
        ('device = "/dev/ttyUSB0"\nline = "Back office"\n', "modems[1].device"),
        ('device = "/dev//ttyUSB0"\nline = "Back office"\n', "modems[1].device"),
    ],
)
def test_it_rejects_two_modems_with_one_line_or_device(
    tmp_path: Path, second: str, key: str
) -> None:
    message = error(tmp_path, MODEM + "[[modems]]\n" + second)
    assert f"{key}: the same {key.split('.')[1]} as modems[0]" in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[[modems]]\nline = "Front desk"\n', "modems[0].device: is required"),
        ('[[modems]]\ndevice = "/dev/ttyUSB0"\n', "modems[0].line: is required"),
        ('[[modems]]\ndevice = ""\nline = "x"\n', "modems[0].device: must not be empty"),
        ('[[modems]]\ndevice = "ttyUSB0"\nline = "x"\n', "modems[0].device: must be an absolute"),
        ('[[modems]]\ndevice = "/dev/x"\nline = ""\n', "modems[0].line: must be 1 to 64"),
        ('[[modems]]\ndevice = "/dev/x"\nline = " Desk"\n', "modems[0].line: must be printable"),
        (
            '[[modems]]\ndevice = "/dev/x"\nline = "A\\u202eB"\n',
            "modems[0].line: must be printable",
        ),
        (MODEM + 'pin_file = "sim.pin"\n', "modems[0].pin_file: must be an absolute path"),
    ],
)
def test_it_checks_each_modem(tmp_path: Path, text: str, expected: str) -> None:
    assert expected in error(tmp_path, text)


def test_it_accepts_a_line_name_of_64_characters(tmp_path: Path) -> None:
    name = "Déjà vu " + "x" * 56
    config = load(tmp_path, f'[[modems]]\ndevice = "/dev/x"\nline = "{name}"\n')
    assert config.modems[0].line == name


@pytest.mark.parametrize("region", ["GB", "DE", "US", "JP"])
def test_it_accepts_a_supported_region(tmp_path: Path, region: str) -> None:
    config = load(tmp_path, f'[numbers]\ndefault_region = "{region}"\n')
    assert config.numbers.default_region == region


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("XX", "'XX' is not a known region"),
        ("USA", "'USA' is not a known region"),
        ("", "'' is not a known region"),
        ("001", "'001' is not a known region"),
        ("us", "'us' must be upper-case: 'US'"),
    ],
)
def test_it_rejects_a_bad_region(tmp_path: Path, region: str, expected: str) -> None:
    message = error(tmp_path, f'[numbers]\ndefault_region = "{region}"\n')
    assert f"numbers.default_region: {expected}" in message


@pytest.mark.parametrize(
    "number", ["15555550123", "+1", "+0155555501", "+1 555 555 0123", "+1555555012345678", "+44"]
)
def test_it_rejects_a_bad_number(tmp_path: Path, number: str) -> None:
    # The message is fixed: it never repeats the number.
    assert error(tmp_path, MODEM + f'number = "{number}"\n') == (
        f"{tmp_path / 'smsgw.toml'}: modems[0].number: "
        "must be a number in E.164 form, such as +15555550123"
    )


def test_it_rejects_an_impossible_number(tmp_path: Path) -> None:
    message = error(tmp_path, MODEM + 'number = "+4412"\n')
    assert "(not a possible number)" in message


# -- secrets -----------------------------------------------------------------------------


def modem_with_pin(tmp_path: Path, content: bytes | None) -> ModemConfig:
    pin_file = tmp_path / "sim.pin"
    if content is not None:
        pin_file.write_bytes(content)
    return load(tmp_path, MODEM + f'pin_file = "{pin_file}"\n').modems[0]


@pytest.mark.parametrize("content", [b"1234", b"  12345678\n", b"0000\r\n"])
def test_it_reads_a_pin_file(tmp_path: Path, content: bytes) -> None:
    assert modem_with_pin(tmp_path, content).read_pin() == content.decode().strip()


def test_it_has_no_pin_without_a_pin_file() -> None:
    assert ModemConfig(device="/dev/ttyUSB0", line="Front desk").read_pin() is None


@pytest.mark.parametrize(
    "content", [b"123", b"123456789", b"12a4", b"98 76", "١٢٣٤".encode(), b"\xff\xfe1234", b""]
)
def test_it_rejects_a_pin_file_without_a_pin(tmp_path: Path, content: bytes) -> None:
    modem = modem_with_pin(tmp_path, content)
    with pytest.raises(ConfigError) as raised:
        modem.read_pin()
    message = str(raised.value)
    assert message == (
        f"{tmp_path / 'sim.pin'}: line 'Front desk': pin_file: "
        "does not hold a SIM PIN (4 to 8 digits); its content is not shown"
    )
    digits = content.strip().decode("utf-8", errors="ignore")
    if digits:
        assert digits not in message


def test_it_loads_a_missing_pin_file_but_cannot_read_it(tmp_path: Path) -> None:
    modem = modem_with_pin(tmp_path, None)
    with pytest.raises(ConfigError) as raised:
        modem.read_pin()
    assert "line 'Front desk': pin_file: cannot read the SIM PIN file" in str(raised.value)
    assert str(tmp_path / "sim.pin") in str(raised.value)


def test_it_reads_the_database_url_from_a_file(tmp_path: Path) -> None:
    secret = write(tmp_path, "postgresql://smsgw:s3cret@db/smsgw\n", "database-url")
    config = load(tmp_path, f'[database]\nurl_file = "{secret}"\n')
    assert config.database_url == "postgresql://smsgw:s3cret@db/smsgw"


def test_it_reads_the_database_url_file_from_the_environment(tmp_path: Path) -> None:
    secret = write(tmp_path, "postgresql://smsgw:s3cret@db/smsgw", "database-url")
    # The environment's url_file replaces the file's url rather than clashing with it.
    config = load(
        tmp_path,
        '[database]\nurl = "postgresql://old@db/smsgw"\n',
        {"SMSGW_DATABASE_URL_FILE": str(secret)},
    )
    assert config.database_url == "postgresql://smsgw:s3cret@db/smsgw"


def test_it_refuses_both_url_and_url_file(tmp_path: Path) -> None:
    secret = write(tmp_path, "postgresql://smsgw:s3cret@db/smsgw", "database-url")
    message = error(tmp_path, f'[database]\nurl = "sqlite:///x.db"\nurl_file = "{secret}"\n')
    assert "database.url_file: give database.url or database.url_file, not both" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "does not exist"),
        ("\n", "is empty"),
        ("not a url s3cret\n", "database.url: must be a database URL"),
        ("postgresql://smsgw:s3cret@db/\x01smsgw", "database.url: must not contain control"),
    ],
)
def test_it_rejects_a_bad_database_url_file(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    secret = tmp_path / "database-url"
    if content is not None:
        secret.write_text(content)
    message = error(tmp_path, f'[database]\nurl_file = "{secret}"\n')
    assert expected in message
    assert str(secret) in message
    assert "s3cret" not in message


def test_it_never_shows_a_bad_database_url(tmp_path: Path) -> None:
    message = error(tmp_path, '[database]\nurl = "smsgw:s3cret@db/smsgw"\n')
    assert "database.url: must be a database URL" in message
    assert "s3cret" not in message


# -- syntax errors and hostile input -----------------------------------------------------


def test_it_names_the_file_line_and_column_of_a_syntax_error(tmp_path: Path) -> None:
    message = error(tmp_path, "[queue]\nmax_attempts 3\n")
    assert message.startswith(f"{tmp_path / 'smsgw.toml'}: not valid TOML: ")
    assert "(at line 2, column 14)" in message


def test_it_rejects_a_duplicate_key(tmp_path: Path) -> None:
    assert "not valid TOML" in error(tmp_path, "[queue]\nmax_attempts = 3\nmax_attempts = 4\n")


def test_it_rejects_a_file_over_one_mebibyte(tmp_path: Path) -> None:
    padding = "# " + "x" * 1000 + "\n"
    message = error(tmp_path, padding * 1100)
    assert message == (
        f"{tmp_path / 'smsgw.toml'}: the file is larger than 1,048,576 bytes; refusing to read it"
    )


def test_it_accepts_a_large_file_under_the_limit(tmp_path: Path) -> None:
    padding = "# " + "x" * 1000 + "\n"
    assert load(tmp_path, padding * 1000 + "[queue]\nmax_attempts = 2\n").queue.max_attempts == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"[queue]\nmax_attempts = 3\x00\n", "not valid TOML: Expected newline or end of document"),
        (b"[queue]\nmax_attempts = \x003\n", "not valid TOML: Invalid value (at line 2"),
        (b'[[modems]]\ndevice = "/dev/x\x00"\nline = "x"\n', "not valid TOML"),
        (b'[[modems]]\ndevice = "/dev/x\\u0000"\nline = "x"\n', "modems[0].device: must not"),
        (b'[[modems]]\ndevice = "/dev/x"\nline = "a\\u001b[2Jb"\n', "modems[0].line: must not"),
        (b"[queue]\nmax_attempts = 3\xff\n", "not UTF-8 text (byte 24)"),
    ],
)
def test_it_rejects_nul_and_control_characters(tmp_path: Path, text: bytes, expected: str) -> None:
    assert expected in error(tmp_path, text)


def test_it_accepts_a_utf8_byte_order_mark(tmp_path: Path) -> None:
    assert load(tmp_path, "\ufeff[queue]\nmax_attempts = 2\n").queue.max_attempts == 2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f'[[modems]]\ndevice = "/dev/x"\nline = "{"x" * 65}"\n', "line: must be 1 to 64"),
        (f'[[modems]]\ndevice = "/dev/x"\nline = "{"x" * 10**5}"\n', "line: must be at most 4096"),
        (f'[[modems]]\ndevice = "/{"d" * 5000}"\nline = "x"\n', "device: must be at most 4096"),
        (f'[database]\nurl = "sqlite:///{"d" * 5000}"\n', "database.url: must be at most 4096"),
    ],
)
def test_it_rejects_very_long_strings(tmp_path: Path, text: str, expected: str) -> None:
    message = error(tmp_path, text)
    assert expected in message
    assert len(message) < 300


def test_it_rejects_very_deep_dotted_keys_before_parsing(tmp_path: Path) -> None:
    # tomllib would take gigabytes of memory for this 200 KB file.
    message = error(tmp_path, "a." * 100_000 + "b = 1\n")
    assert message == f"{tmp_path / 'smsgw.toml'}: line 1: more than 16 dots outside strings"


def test_it_counts_no_dots_inside_strings_or_comments(tmp_path: Path) -> None:
    dots = "." * 40
    config = load(tmp_path, f'[database]  # {dots}\nurl = "sqlite:///x{dots}db"  # {dots}\n')
    assert config.database_url == f"sqlite:///x{dots}db"


def test_it_rejects_very_deep_nesting(tmp_path: Path) -> None:
    message = error(tmp_path, "a = " + "[" * 10_000 + "]" * 10_000 + "\n")
    assert message == f"{tmp_path / 'smsgw.toml'}: not valid TOML: nested too deeply"


# -- the default file --------------------------------------------------------------------


def active_lines(text: str) -> str:
    return "".join(line for line in text.splitlines(keepends=True) if not line.startswith("#"))


def uncommented(text: str, pattern: str) -> str:
    return re.sub(rf"^#({pattern})", r"\1", text, flags=re.MULTILINE)


def test_it_renders_a_default_file_that_loads_as_the_defaults(tmp_path: Path) -> None:
    text = render_default_config()
    assert active_lines(text).strip()  # the table headers
    assert load(tmp_path, text) == dataclasses.replace(Config(), source=tmp_path / "smsgw.toml")
    assert load(tmp_path, active_lines(text)).queue == QueueConfig()


def test_it_renders_every_setting_with_its_default(tmp_path: Path) -> None:
    text = render_default_config()
    settings, modem_example = text.split("#[[modems]]")
    every_setting = uncommented(settings, r"\w+ = ") + "#[[modems]]" + modem_example
    assert every_setting.count("\n#") < text.count("\n#")
    assert load(tmp_path, every_setting) == load(tmp_path, text)
    for cls in (DatabaseConfig, NumbersConfig, QueueConfig, InboundConfig, WorkerConfig):
        for spec in dataclasses.fields(cls):
            assert re.search(rf"^#{spec.name} = ", text, flags=re.MULTILINE), spec.name
    assert "url_file" in text
    assert "#data_dir = " in text


def test_it_renders_a_modem_example_that_parses_when_uncommented(tmp_path: Path) -> None:
    text = render_default_config()
    assert "\n#[[modems]]\n" in text
    config = load(tmp_path, uncommented(text, r"\[\[modems\]\]|\w+ = "))
    (modem,) = config.modems
    assert modem.device.startswith("/dev/serial/by-id/")
    assert modem.line == "Front desk"
    assert modem.number is not None
    assert modem.pin_file is not None
    assert modem.rate_per_minute == 20
    assert config.queue == QueueConfig()


def test_it_renders_comment_lines_of_readable_width() -> None:
    assert max(len(line) for line in render_default_config().splitlines()) <= 100

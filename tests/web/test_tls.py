"""The local CA and the server certificate: what they name, who signed them, when they are
re-issued and when they are never touched."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import verification
from cryptography.x509.oid import ExtendedKeyUsageOID

from gateway.config import Config, WebConfig
from gateway.tls import TlsError, ensure_certificates, tls_files
from tests.web.conftest import add_hostnames, cli, short_temp_dir

NOW = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def data_dir() -> Iterator[Path]:
    directory = short_temp_dir()
    try:
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def config_for(data_dir: Path, hostnames: str = "") -> Config:
    return Config(data_dir=data_dir, web=WebConfig(hostnames=hostnames))


def load(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def covered(cert: x509.Certificate) -> tuple[set[str], set[str]]:
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    names = set(san.get_values_for_type(x509.DNSName))
    return names, {str(a) for a in san.get_values_for_type(x509.IPAddress)}


def test_it_covers_localhost_the_loopback_the_host_name_and_configured_names(
    data_dir: Path,
) -> None:
    config = config_for(data_dir, "sms.office.lan, 192.0.2.10, [2001:db8::5]")
    ensure_certificates(config, now=NOW)
    names, addresses = covered(load(tls_files(config).server_cert))
    assert {"localhost", socket.gethostname().lower(), "sms.office.lan"} <= names
    assert {"127.0.0.1", "::1", "192.0.2.10", "2001:db8::5"} <= addresses


def test_it_signs_the_server_certificate_with_a_ca_that_can_sign_nothing_else(
    data_dir: Path,
) -> None:
    config = config_for(data_dir, "sms.office.lan")
    ensure_certificates(config)
    files = tls_files(config)
    ca, server = load(files.ca_cert), load(files.server_cert)

    constraints = ca.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca and constraints.value.path_length == 0
    assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > dt.timedelta(days=3600)

    server.verify_directly_issued_by(ca)
    assert not server.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    usage = server.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(usage) == [ExtendedKeyUsageOID.SERVER_AUTH]
    # Browsers refuse server certificates valid for longer than 825 days.
    assert server.not_valid_after_utc - server.not_valid_before_utc < dt.timedelta(days=825)
    key = serialization.load_pem_private_key(files.server_key.read_bytes(), None)
    assert key.public_key() == server.public_key()

    # The strict RFC 5280 / CA-Browser Forum path check a browser would make.
    store = verification.Store([ca])
    for name in (x509.DNSName("sms.office.lan"), x509.IPAddress(ipaddress.ip_address("::1"))):
        verifier = verification.PolicyBuilder().store(store).build_server_verifier(name)
        assert verifier.verify(server, []) == [server, ca]


def test_it_writes_private_keys_readable_by_the_owner_alone(data_dir: Path) -> None:
    done = cli("init", "--data-dir", str(data_dir))
    assert done.returncode == 0, done.stderr
    tls = data_dir / "tls"
    assert stat.S_IMODE(tls.stat().st_mode) == 0o700
    for key in ("ca.key", "server.key"):
        assert stat.S_IMODE((tls / key).stat().st_mode) == 0o600
    assert f"tls ca       {tls / 'ca.pem'} (created; install it on staff machines" in done.stdout
    assert f"tls cert     {tls / 'server.pem'} (created" in done.stdout


def test_it_keeps_the_ca_and_the_certificate_when_init_runs_twice(data_dir: Path) -> None:
    assert cli("init", "--data-dir", str(data_dir)).returncode == 0
    tls = data_dir / "tls"
    before = {path.name: path.read_bytes() for path in tls.iterdir()}
    again = cli("init", "--data-dir", str(data_dir))
    assert again.returncode == 0, again.stderr
    assert {path.name: path.read_bytes() for path in tls.iterdir()} == before
    assert "ca.pem (exists, kept)" in again.stdout
    assert "server.pem (exists, valid until" in again.stdout


def test_it_reissues_the_certificate_for_a_hostname_added_to_the_config(data_dir: Path) -> None:
    assert cli("init", "--data-dir", str(data_dir)).returncode == 0
    tls = data_dir / "tls"
    ca_before, key_before = (tls / "ca.pem").read_bytes(), (tls / "ca.key").read_bytes()
    add_hostnames(data_dir / "smsgw.toml", "sms.office.lan, 10.1.2.3")

    again = cli("init", "--data-dir", str(data_dir))

    assert again.returncode == 0, again.stderr
    assert "re-issued: it does not cover sms.office.lan, 10.1.2.3" in again.stdout
    assert (tls / "ca.pem").read_bytes() == ca_before
    assert (tls / "ca.key").read_bytes() == key_before
    server = load(tls / "server.pem")
    server.verify_directly_issued_by(load(tls / "ca.pem"))
    names, addresses = covered(server)
    assert "sms.office.lan" in names and "10.1.2.3" in addresses
    assert stat.S_IMODE((tls / "server.key").stat().st_mode) == 0o600


def test_it_reissues_a_certificate_that_expires_within_30_days(data_dir: Path) -> None:
    config = config_for(data_dir)
    first = ensure_certificates(config, now=NOW)
    assert ensure_certificates(config, now=NOW + dt.timedelta(days=699)).server_action == "kept"

    later = ensure_certificates(config, now=NOW + dt.timedelta(days=701))

    assert later.server_action == "re-issued"
    assert later.reason == f"it expires on {first.not_after:%Y-%m-%d}"
    assert later.not_after > first.not_after
    assert not later.ca_created


def test_it_reissues_a_certificate_whose_key_does_not_match(data_dir: Path) -> None:
    config = config_for(data_dir)
    ensure_certificates(config, now=NOW)
    stray = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    tls_files(config).server_key.write_bytes(stray)

    report = ensure_certificates(config, now=NOW)

    assert (report.server_action, report.reason) == ("re-issued", "its key does not match")


def test_it_never_makes_a_new_ca_over_an_old_one(data_dir: Path) -> None:
    config = config_for(data_dir)
    ensure_certificates(config, now=NOW)
    files = tls_files(config)
    ca_before = files.ca_cert.read_bytes()
    # An admin may keep the CA key offline: a valid certificate is still served.
    files.ca_key.unlink()
    assert ensure_certificates(config, now=NOW).server_action == "kept"

    with pytest.raises(TlsError, match=r"does not cover sms\.office\.lan.*ca\.key is missing"):
        ensure_certificates(config_for(data_dir, "sms.office.lan"), now=NOW)
    assert files.ca_cert.read_bytes() == ca_before
    assert not files.ca_key.exists()


def test_it_refuses_to_make_certificates_while_the_clock_says_1970(data_dir: Path) -> None:
    with pytest.raises(TlsError, match="system clock says 1970-01-01"):
        ensure_certificates(config_for(data_dir), now=dt.datetime(1970, 1, 1, tzinfo=dt.UTC))
    assert not tls_files(config_for(data_dir)).ca_cert.exists()


def test_it_reports_hostnames_entries_no_certificate_can_hold(data_dir: Path) -> None:
    report = ensure_certificates(config_for(data_dir, "10.0.0.0/8, box.lan"), now=NOW)
    assert report.skipped == ("10.0.0.0/8",)
    assert "box.lan" in report.covers

"""The box's own certificate authority and the server certificate the web process serves.

The box has no public name and no internet, so no public CA can vouch for it: `smsgw init`
makes a local CA, and staff machines trust the box once its CA certificate is installed.
The CA is made once and never replaced (replacing it would break the trust of every staff
machine); the server certificate is re-issued from it whenever it is missing, near its
end, or no longer names every name and address the box is reached by.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import os
import re
import socket
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.config import Config

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Our own keys are EC P-256; an admin may put an RSA CA of the office's own in place.
SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

CA_DAYS = 3650
# Browsers refuse server certificates valid for longer than 825 days.
SERVER_DAYS = 730
RENEW_BEFORE = dt.timedelta(days=30)
# Staff machines whose clock runs a little behind the box's still accept a new certificate.
BACKDATE = dt.timedelta(days=1)
# A Raspberry Pi has no real-time clock: before NTP it may think it is 1970, and a CA made
# then would be expired for everyone, for good.
EARLIEST_SANE_TIME = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"(?:\*\.)?{_LABEL}(?:\.{_LABEL})*")
# Linux: SIOCGIFADDR reads an interface's IPv4 address; /proc/net/if_inet6 lists IPv6 ones.
_SIOCGIFADDR = 0x8915
_IFA_F_TEMPORARY, _IFA_F_DEPRECATED = 0x01, 0x20


class TlsError(Exception):
    """The certificates cannot be made or used; the message says what to do."""


@dataclass(frozen=True)
class TlsFiles:
    directory: Path

    @property
    def ca_cert(self) -> Path:
        return self.directory / "ca.pem"

    @property
    def ca_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server_cert(self) -> Path:
        return self.directory / "server.pem"

    @property
    def server_key(self) -> Path:
        return self.directory / "server.key"

    def servable(self) -> bool:
        return self.server_cert.is_file() and self.server_key.is_file()


@dataclass(frozen=True)
class Identities:
    """What the server certificate must name: the box's names and addresses."""

    names: frozenset[str]
    addresses: frozenset[IPAddress]
    skipped: tuple[str, ...] = ()  # web.hostnames entries no certificate can hold

    def shown(self) -> tuple[str, ...]:
        ordered = sorted(self.names, key=lambda name: (name != "localhost", name))
        return (*ordered, *(str(a) for a in sorted(self.addresses, key=_address_order)))


@dataclass(frozen=True)
class TlsReport:
    files: TlsFiles
    ca_created: bool
    server_action: str  # "created", "re-issued" or "kept"
    reason: str  # why it was re-issued
    covers: tuple[str, ...]
    not_after: dt.datetime
    skipped: tuple[str, ...]


def tls_files(config: Config) -> TlsFiles:
    return TlsFiles(config.tls_dir)


def ensure_certificates(
    config: Config, *, now: dt.datetime | None = None, create_ca: bool = True
) -> TlsReport:
    """Make the CA if there is none (unless `create_ca` is false), then make or re-issue the
    server certificate if it is missing, expires within 30 days, was not signed by this CA,
    or does not name every current name and address."""
    now = now or dt.datetime.now(dt.UTC)
    files = tls_files(config)
    wanted = identities(config)
    files.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca_created = False
    found = [path.name for path in (files.ca_cert, files.ca_key) if path.exists()]
    if not found and not create_ca:
        raise TlsError(f"no local CA in {files.directory}: run `smsgw init` first")
    if not found:
        _check_clock(now)
        _create_ca(files, now)
        ca_created = True
    elif found == [files.ca_key.name]:
        raise TlsError(
            f"{files.ca_key} is there but {files.ca_cert} is not; a new CA is never made over "
            "an old one: put ca.pem back, or move ca.key away to make a new CA"
        )
    ca_cert = _read_cert(files.ca_cert, "the CA certificate")
    if ca_cert.not_valid_after_utc <= now:
        raise TlsError(
            f"the local CA {files.ca_cert} expired on {ca_cert.not_valid_after_utc:%Y-%m-%d}; "
            f"move ca.pem and ca.key out of {files.directory}, run `smsgw init` to make a new "
            "CA, and install the new ca.pem on staff machines"
        )
    reason = _reissue_reason(files, ca_cert, wanted, now)
    if reason is None:
        server = _read_cert(files.server_cert, "the server certificate")
        covers = _shown(server)
        return TlsReport(
            files, ca_created, "kept", "", covers, server.not_valid_after_utc, wanted.skipped
        )
    if not files.ca_key.exists():
        raise TlsError(
            f"the server certificate must be re-issued ({reason}) but the CA key "
            f"{files.ca_key} is missing; put it back and run `smsgw init` again"
        )
    _check_clock(now)
    ca_key = _read_key(files.ca_key, "the CA key")
    server = _issue_server(files, ca_cert, ca_key, wanted, now)
    action = "created" if reason == "missing" else "re-issued"
    covers = _shown(server)
    return TlsReport(
        files, ca_created, action, reason, covers, server.not_valid_after_utc, wanted.skipped
    )


# -- what the certificate must name ------------------------------------------------------


def identities(config: Config) -> Identities:
    """localhost and the loopback addresses, the host's name, FQDN and addresses (found
    without the network), and every entry of `web.hostnames`."""
    names = {"localhost"}
    addresses: set[IPAddress] = {ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("::1")}
    host = socket.gethostname()
    # /etc/hosts answers for the box's own name, so this needs no DNS server.
    for candidate in (host, socket.getfqdn(host)):
        name = candidate.strip().rstrip(".").lower()
        if _HOSTNAME.fullmatch(name) and not name.endswith(".arpa"):
            names.add(name)
    addresses.update(a for a in _host_addresses(host) if _reachable(a))
    skipped = []
    for item in (part.strip() for part in config.web.hostnames.split(",")):
        if not item:
            continue
        try:
            addresses.add(ipaddress.ip_address(item.removeprefix("[").removesuffix("]")))
            continue
        except ValueError:
            pass
        name = item.rstrip(".").lower()
        if _HOSTNAME.fullmatch(name) and len(name) <= 253:
            names.add(name)
        else:
            skipped.append(item)  # a network (10.0.0.0/8) or a port: not a certificate name
    return Identities(frozenset(names), frozenset(addresses), tuple(skipped))


def _host_addresses(host: str) -> Iterable[IPAddress]:
    with contextlib.suppress(OSError):
        for *_, sockaddr in socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP):
            yield ipaddress.ip_address(str(sockaddr[0]).split("%")[0])
    if not sys.platform.startswith("linux"):
        return
    import fcntl
    import struct

    with contextlib.suppress(OSError), socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _index, interface in socket.if_nameindex():
            request = struct.pack("256s", interface.encode()[:15])
            with contextlib.suppress(OSError):
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
                yield ipaddress.IPv4Address(answer[20:24])
    with contextlib.suppress(OSError), open("/proc/net/if_inet6", encoding="ascii") as table:
        for row in table:
            fields = row.split()
            # Temporary (privacy) addresses change daily; each change would re-issue.
            if len(fields) >= 6 and not int(fields[4], 16) & (_IFA_F_TEMPORARY | _IFA_F_DEPRECATED):
                yield ipaddress.IPv6Address(bytes.fromhex(fields[0]))


def _reachable(address: IPAddress) -> bool:
    # Link-local IPv6 needs a zone (%eth0) that a URL and a certificate cannot carry.
    if isinstance(address, ipaddress.IPv6Address) and address.is_link_local:
        return False
    return not (address.is_loopback or address.is_unspecified or address.is_multicast)


def _address_order(address: IPAddress) -> tuple[int, int]:
    return address.version, int(address)


# -- checking the server certificate -----------------------------------------------------


def _reissue_reason(
    files: TlsFiles, ca_cert: x509.Certificate, wanted: Identities, now: dt.datetime
) -> str | None:
    if not files.servable():
        return "missing"
    try:
        server = _read_cert(files.server_cert, "the server certificate")
        key = _read_key(files.server_key, "the server key")
    except TlsError:
        return "unreadable"
    try:
        server.verify_directly_issued_by(ca_cert)
    except (ValueError, TypeError, InvalidSignature):
        return "not signed by the local CA"
    if server.public_key() != key.public_key():
        return "its key does not match"
    if server.not_valid_after_utc - now < RENEW_BEFORE:
        return f"it expires on {server.not_valid_after_utc:%Y-%m-%d}"
    names, addresses = _covered(server)
    missing = sorted(wanted.names - names) + [str(a) for a in wanted.addresses - addresses]
    if missing:
        return "it does not cover " + ", ".join(missing)
    return None


def _covered(cert: x509.Certificate) -> tuple[set[str], set[IPAddress]]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    names = {name.lower() for name in san.get_values_for_type(x509.DNSName)}
    return names, set(san.get_values_for_type(x509.IPAddress))


def _shown(cert: x509.Certificate) -> tuple[str, ...]:
    names, addresses = _covered(cert)
    return Identities(frozenset(names), frozenset(addresses)).shown()


def _check_clock(now: dt.datetime) -> None:
    if now < EARLIEST_SANE_TIME:
        raise TlsError(
            f"the system clock says {now:%Y-%m-%d}; set the time (e.g. timedatectl) before "
            "certificates are made, or they would not be valid on staff machines"
        )


# -- making certificates -----------------------------------------------------------------


def _create_ca(files: TlsFiles, now: dt.datetime) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "smsgw"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"smsgw local CA {socket.gethostname()}"[:64]),
        ]
    )
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    cert = (
        _builder(name, name, key.public_key(), now, now + dt.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    # The key first: a CA certificate without its key could never sign anything.
    _publish(files.ca_key, _private_bytes(key), mode=0o600, replace=False)
    _publish(
        files.ca_cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644, replace=False
    )


def _issue_server(
    files: TlsFiles,
    ca_cert: x509.Certificate,
    ca_key: SigningKey,
    wanted: Identities,
    now: dt.datetime,
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    names = sorted(wanted.names, key=lambda name: (name != socket.gethostname().lower(), name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0][:64])])
    alternatives: list[x509.GeneralName] = [x509.DNSName(name) for name in names]
    alternatives += [x509.IPAddress(a) for a in sorted(wanted.addresses, key=_address_order)]
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    not_after = min(now + dt.timedelta(days=SERVER_DAYS), ca_cert.not_valid_after_utc)
    cert = (
        _builder(subject, ca_cert.subject, key.public_key(), now, not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    # A reader between the two replacements gets a mismatched pair and fails; the next
    # check sees the mismatch and re-issues, so no state is left broken for good.
    _publish(files.server_key, _private_bytes(key), mode=0o600, replace=True)
    _publish(files.server_cert, cert.public_bytes(serialization.Encoding.PEM), mode=0o644)
    return cert


def _builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: ec.EllipticCurvePublicKey,
    now: dt.datetime,
    not_after: dt.datetime,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE)
        .not_valid_after(not_after)
    )


# -- files -------------------------------------------------------------------------------


def _private_bytes(key: SigningKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _publish(path: Path, data: bytes, *, mode: int, replace: bool = True) -> None:
    """Write to a new file with its final mode from the start, then move it into place:
    a key is never readable by others, not even for an instant, and a reader never sees a
    half-written file. Without `replace`, an existing file wins (the CA is never replaced)."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    flags = os.O_CREAT | os.O_EXCL | os.O_WRONLY | os.O_CLOEXEC
    try:
        fd = os.open(temporary, flags, mode)
        try:
            os.fchmod(fd, mode)  # the umask can only take permissions away
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # fails if the file exists: nothing is overwritten
    except FileExistsError:
        raise TlsError(f"{path} appeared while it was being made; run `smsgw init` again") from None
    except OSError as exc:
        raise TlsError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
    finally:
        temporary.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def _read_cert(path: Path, what: str) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except FileNotFoundError:
        raise TlsError(f"{what} {path} is missing (run `smsgw init`)") from None
    except OSError as exc:
        raise TlsError(f"cannot read {what} {path}: {exc.strerror}") from None
    except ValueError:
        raise TlsError(f"{what} {path} is damaged: not a PEM certificate") from None


def _read_key(path: Path, what: str) -> SigningKey:
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise TlsError(f"{what} {path} is missing (run `smsgw init`)") from None
    except OSError as exc:
        raise TlsError(f"cannot read {what} {path}: {exc.strerror}") from None
    except (ValueError, TypeError):
        raise TlsError(f"{what} {path} is damaged: not an unencrypted PEM key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise TlsError(f"{what} {path} is neither an EC nor an RSA key")
    return key

"""Panel passwords: argon2id hashes, the password rules, and one-time passwords.

No account has a default password: ``smsgw init`` and ``smsgw user add`` set a random
one-time password that must be changed at the first sign-in.
"""

from __future__ import annotations

import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from gateway.errors import InvalidInput

MIN_LENGTH = 12
# argon2 reads the whole password: a megabyte-long one would be a cheap way to load the box.
MAX_LENGTH = 256
# Unambiguous letters and digits (no 0/O, 1/l/I), read aloud or typed from a terminal.
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"

# argon2-cffi's defaults are RFC 9106's second recommendation (argon2id, 64 MiB, t=3):
# about 0.1 s on a Raspberry Pi 4, once per sign-in.
_hasher = PasswordHasher()
# Verified against when the user does not exist, so the answer takes as long either way.
_DUMMY = _hasher.hash("not a password of anyone's")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored`` (None: no password set, always False)."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    return _hasher.check_needs_rehash(stored)


def check_new_password(password: str, user_name: str, old: str | None = None) -> str:
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(f"a password is {MIN_LENGTH} to {MAX_LENGTH} characters long")
    if password.strip() != password or not password.isprintable():
        raise InvalidInput("a password has no leading or trailing space or control character")
    if user_name.casefold() in password.casefold():
        raise InvalidInput("a password does not contain the user name")
    if len(set(password)) < 5:
        raise InvalidInput("a password uses more than a few different characters")
    if old is not None and verify_password(old, password):
        raise InvalidInput("the new password is the one to replace")
    return password


def one_time_password() -> str:
    """Four groups of five (about 99 bits), e.g. ``k7mfq-2xh9p-…``."""
    groups = ("".join(secrets.choice(_ALPHABET) for _ in range(5)) for _ in range(4))
    return "-".join(groups)

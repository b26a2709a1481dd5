"""Card numbers, US social security numbers and passwords in the text of a message.

Staff must not text these to customers: an SMS sits unencrypted on the handset, in the
carrier's logs and in every backup of the handset, and PCI DSS forbids sending an unprotected
card number by end-user messaging (email, chat, SMS). When a customer texts us their card number
anyway, we may keep the message but not the number, so inbound card numbers are stored
masked (``mask_cards``).

The checks are tuned against false alarms as much as against misses: a gateway that blocks
every order number, tracking number and phone number gets switched off. Hence the Luhn
check and issuer prefixes for cards, the SSA's never-issued ranges for SSNs, and a value
that must look like a secret after a password keyword.

Message text is untrusted and can be long, so every pattern here runs in linear time: no
nested or overlapping repetition, and any per-match work is bounded by a constant.
Digits are Unicode decimals (``\\d`` in a ``str`` pattern): a card typed on a full-width
or Arabic-Indic keyboard is still a card, and every span refers to the original text.
Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

__all__ = ["Finding", "describe", "find_sensitive", "mask_cards"]

CARD = "card"
SSN = "ssn"
PASSWORD = "password"


@dataclass(frozen=True)
class Finding:
    """Something that must not be texted: what kind, and where (``text[start:end]``)."""

    kind: str  # "card" | "ssn" | "password"
    start: int
    end: int


def _decimals(text: str) -> str:
    """The ASCII digits of ``text``; "４１１１" and "٤١١١" read as "4111"."""
    return "".join(str(unicodedata.decimal(ch)) for ch in text if ch.isdecimal())


# --- payment cards ---------------------------------------------------------------------------
# Digit groups joined by single spaces or hyphens: "4111 1111 1111 1111", "3782-822463-10005".
# The separator is not a digit, so the repetition cannot backtrack: linear.
_DIGIT_CHAIN = re.compile(r"\d+(?:[ -]\d+)*")
_DIGIT_GROUP = re.compile(r"\d+")
# ISO/IEC 7812 lengths: 13 digits (old Visa) to 19 (UnionPay, Maestro, some Visa).
_CARD_MIN, _CARD_MAX = 13, 19
# Major industry identifier (first digit) 2 is Mastercard's 2-series, 3 Amex, JCB and Diners,
# 4 Visa, 5 Mastercard and Maestro, 6 Discover, UnionPay and Maestro. 1 (airlines), 7
# (petroleum), 8 (healthcare, telecoms), 9 (national use) and 0 are not cards staff handle, but
# that is where UPS/USPS tracking numbers and most order numbers live.
_CARD_ISSUER_DIGITS = frozenset("23456")


def _luhn_ok(digits: str) -> bool:
    # Every payment card carries a Luhn check digit; a random number passes only 1 time in 10.
    total = 0
    for position, ch in enumerate(reversed(digits)):
        value = int(ch)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _is_card_number(digits: str) -> bool:
    return (
        _CARD_MIN <= len(digits) <= _CARD_MAX
        and digits[0] in _CARD_ISSUER_DIGITS
        # "0000000000000" and "6666666666666" pass Luhn but are placeholders, not cards.
        and len(set(digits)) > 1
        and _luhn_ok(digits)
    )


def _can_extend(lengths: list[int], first: int, last: int) -> bool:
    """Whether groups first..last can begin a grouped card, whatever the last group becomes.

    Cards are printed and read out contiguously or in groups that start with 4 digits: 4-4-4-4
    (Visa, Mastercard, Discover), 4-6-5 (Amex), 4-6-4 (Diners), 4-4-4-4-3 (19-digit cards).
    Anything else ("201 555 0123 4567") is a phone number or a list of quantities.
    """
    return last == first or (
        lengths[first] == 4 and (last - 1 == first or 4 <= lengths[last - 1] <= 6)
    )


def _card_spans(text: str) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    for chain in _DIGIT_CHAIN.finditer(text):
        start, end = chain.span()
        before = text[start - 1] if start else ""
        after = text[end] if end < len(text) else ""
        # A letter glued on makes it an identifier ("A4111111111111111" is an order id); a
        # leading "+" makes it an international phone number ("+4915112345678901").
        glued_before = before == "+" or before.isalnum()
        glued_after = after.isalnum()
        groups = [group.span() for group in _DIGIT_GROUP.finditer(text, start, end)]
        digits = [_decimals(text[a:b]) for a, b in groups]
        lengths = [len(group) for group in digits]
        # A card can be followed or preceded by other numbers (a CVV, a phone number written on
        # the same line), so try each group as a first group. From there, the card that ends
        # the run of digits wins ("6250 9410 0652 8599 123" is one 19-digit card even if its
        # first 16 digits pass Luhn); failing that the shortest, so a CVV or a second card
        # after it cannot hide it ("4111 1111 1111 1111 123").
        # A window stops at 19 digits or at a group no card layout has: linear in the chain.
        first = 0
        while first < len(groups):
            if first == 0 and glued_before:
                first += 1
                continue
            ends = []
            number = ""
            for last in range(first, len(groups)):
                number += digits[last]
                if len(number) > _CARD_MAX or not _can_extend(lengths, first, last):
                    break
                if last == len(groups) - 1 and glued_after:
                    break
                if (last == first or 3 <= lengths[last] <= 6) and _is_card_number(number):
                    ends.append(last)
            if not ends:
                first += 1
                continue
            found = ends[-1] if ends[-1] == len(groups) - 1 else ends[0]
            spans.append((groups[first][0], groups[found][1]))
            first = found + 1
    return spans


# --- US social security numbers --------------------------------------------------------------
# AAA-GG-SSSS with the same separator twice, not part of a longer run of digit groups (a phone
# number, an account number written in groups).
_SSN_FORMATTED = re.compile(r"(?<!\w)(?<!\d[ -])\d{3}([ -])\d{2}\1\d{4}(?!\w)(?![ -]\d)")
_SSN_BARE = re.compile(r"(?<![\w+])(?<!\d[ -])\d{9}(?!\w)(?![ -]\d)")
# Nine digits on their own are as likely an order number, a ZIP+4 or a phone number; they are
# an SSN only when the sender said so just before.
_SSN_CONTEXT = re.compile(r"\b(?:ssn|social[ -]+security|soc\.?[ -]*sec)\b", re.IGNORECASE)
_SSN_CONTEXT_REACH = 20  # characters between the end of "SSN" and the number
_SSN_CONTEXT_LOOKBACK = _SSN_CONTEXT_REACH + len("social    security")


def _is_issuable_ssn(digits: str) -> bool:
    # The SSA has never issued area 000 or 666, nor 900-999 (those are ITINs and test
    # numbers), nor group 00 or serial 0000: such numbers are examples, not people.
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


def _says_ssn_before(text: str, start: int) -> bool:
    lookback = max(0, start - _SSN_CONTEXT_LOOKBACK)
    return any(
        start - match.end() <= _SSN_CONTEXT_REACH
        for match in _SSN_CONTEXT.finditer(text, lookback, start)
    )


def _ssn_spans(text: str) -> list[tuple[int, int]]:
    spans = [
        match.span()
        for match in _SSN_FORMATTED.finditer(text)
        if _is_issuable_ssn(_decimals(match.group()))
    ]
    spans.extend(
        match.span()
        for match in _SSN_BARE.finditer(text)
        if _is_issuable_ssn(_decimals(match.group())) and _says_ssn_before(text, match.start())
    )
    return spans


# --- passwords -------------------------------------------------------------------------------
# The word for password in English, Spanish (also typed without the tilde), French and German.
_PASSWORD_KEYWORD = (
    r"password|passwd|pwd|pw|passcode|pass[ -]code|contraseña|contrasena|mot\s+de\s+passe|"
    r"passwort|kennwort"
)
# ":" "=" "-" or "is"/"was", as in "Your new password is now ...", "... was changed to ...".
# A hyphen needs a space next to it: "password-protected" and "password-reset" are words.
_PASSWORD_SEPARATOR = (
    r"(?:\s*[:=]\s*|\s+-\s*|-\s+"
    r"|\s+(?:is|was|has\s+been)\b(?:\s+now\b)?(?:\s+(?:set|changed|reset|updated)\s+to\b)?"
    r"\s*:?\s*)"
)
_PASSWORD_VALUE_MAX = 64  # longer is still flagged; bounding the token keeps the scan linear
_PASSWORD = re.compile(
    rf"\b(?:{_PASSWORD_KEYWORD})\b{_PASSWORD_SEPARATOR}(\S{{1,{_PASSWORD_VALUE_MAX}}})",
    re.IGNORECASE,
)
# "pin" is also an ordinary word ("pin it to the top", "pin: the blue one"): a PIN is only
# 4 to 8 digits right after "pin:", "pin is" or "pin =".
_PIN = re.compile(
    r"\bpin(?:\s+(?:code|number))?(?:\s*[:=]\s*|\s+is\s+(?::\s*)?)(\d{4,8})(?!\w)",
    re.IGNORECASE,
)
_PASSWORD_MIN = 4  # shorter than any password a system would accept
_OPENING = "\"'“‘«‹([{<"
_CLOSING = "\"'”’»›)]}>.,;:"
# What follows "password is" / "password:" in ordinary customer-service texts, where the
# message is about the password rather than the password itself.
_NOT_A_PASSWORD = frozenset((
    "a", "an", "the", "your", "you", "our", "their", "my", "his", "her", "its", "this", "that",
    "these", "those", "one", "same", "what", "which", "here", "there", "below", "above",
    "attached", "enclosed", "included", "listed", "shown", "provided", "following", "sent",
    "texted", "emailed", "mailed", "printed", "given", "reset", "expired", "expiring", "expires",
    "expire", "changed", "change", "updated", "update", "unchanged", "required", "needed",
    "missing", "empty", "blank", "none", "unknown", "optional", "mandatory", "incorrect",
    "invalid", "wrong", "correct", "valid", "weak", "strong", "secure", "safe", "unsafe",
    "private", "confidential", "personal", "unique", "temporary", "case", "sensitive", "locked",
    "disabled", "blocked", "active", "pending", "protected", "encrypted", "hashed", "stored",
    "saved", "about", "going", "being", "still", "also", "not", "never", "now", "only", "just",
    "please", "help", "reply", "call", "visit", "click", "enter", "must", "should", "will",
    "would", "can", "cannot", "could", "may", "might", "does", "did", "have", "been",
))  # fmt: skip


def _password_value_span(text: str, start: int, end: int) -> tuple[int, int] | None:
    # Quotes and brackets around a value are not part of it: "Password: (the one you chose)".
    while start < end and text[start] in _OPENING:
        start += 1
    while end > start and text[end - 1] in _CLOSING:
        end -= 1
    value = text[start:end]
    if len(value) < _PASSWORD_MIN or not any(ch.isalnum() for ch in value):
        return None  # too short to be a password, or already masked ("********")
    if "".join(ch for ch in value.casefold() if ch.isalnum()) in _NOT_A_PASSWORD:
        return None  # "your password was reset.", "Password: here!"
    return start, end


def _password_spans(text: str) -> list[tuple[int, int]]:
    spans = [match.span(1) for match in _PIN.finditer(text)]
    for match in _PASSWORD.finditer(text):
        span = _password_value_span(text, *match.span(1))
        if span is not None:
            spans.append(span)
    return spans


# --- public API ------------------------------------------------------------------------------


def find_sensitive(text: str) -> list[Finding]:
    """Every card number, SSN and password in ``text``, in order of position; [] when clean."""
    findings = [Finding(CARD, start, end) for start, end in _card_spans(text)]
    findings += [Finding(SSN, start, end) for start, end in _ssn_spans(text)]
    findings += [Finding(PASSWORD, start, end) for start, end in _password_spans(text)]
    return sorted(set(findings), key=lambda f: (f.start, f.end, f.kind))


_NOUNS: dict[str, tuple[str, str]] = {
    CARD: ("a payment card number", "payment card numbers"),
    SSN: ("a US social security number", "US social security numbers"),
    PASSWORD: ("a password", "passwords"),
}
# Counts in words: the description is shown next to the message, and must not put a digit
# on screen that someone could mistake for part of the number.
_COUNTS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def describe(findings: list[Finding]) -> str:
    """What was found, for a person, without the found text: "a payment card number and a
    password", "two US social security numbers"; "nothing sensitive" for no findings.
    """
    counts = Counter(finding.kind for finding in findings)
    unknown = set(counts) - set(_NOUNS)
    if unknown:
        raise ValueError(f"unknown kinds of finding: {sorted(unknown)}")
    parts = []
    for kind, (one, many) in _NOUNS.items():
        count = counts[kind]
        if count == 1:
            parts.append(one)
        elif 1 < count <= len(_COUNTS) + 1:
            parts.append(f"{_COUNTS[count - 2]} {many}")
        elif count > len(_COUNTS) + 1:
            parts.append(f"more than {_COUNTS[-1]} {many}")
    if not parts:
        return "nothing sensitive"
    if len(parts) == 1:
        return parts[0]
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def mask_cards(text: str) -> str:
    """``text`` with every digit of every card number but the last four replaced by "*";
    separators and everything else kept, so the length is unchanged.

    "Card 4111 1111 1111 1111 exp 12/27" -> "Card **** **** **** 1111 exp 12/27".
    """
    # Repeat until no card is left: when two candidate cards overlap, masking the first can
    # leave the second readable (its digits kept as the first's last four), and a masked
    # message must never still hold a card. Each round masks at least 9 digits.
    while spans := _card_spans(text):
        chars = list(text)
        for start, end in spans:
            positions = [k for k in range(start, end) if chars[k].isdecimal()]
            for k in positions[:-4]:
                chars[k] = "*"
        text = "".join(chars)
    return text

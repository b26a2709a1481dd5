"""Phone numbers: everything is normalised to E.164 with ``phonenumbers`` before use."""

from __future__ import annotations

import phonenumbers

from gateway.errors import InvalidNumber

MAX_INPUT = 64


def to_e164(number: str, default_region: str) -> str:
    """``(555) 010-0123`` with region US → ``+15550100123``; InvalidNumber otherwise."""
    if not isinstance(number, str) or not number.strip() or len(number) > MAX_INPUT:
        raise InvalidNumber("give a phone number, for example +15550100123")
    try:
        parsed = phonenumbers.parse(number, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidNumber("not a phone number") from None
    # is_possible (length per country) rather than is_valid: new number ranges appear
    # faster than the library's metadata, and the network is the final judge anyway.
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidNumber("not a possible phone number for its country")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)

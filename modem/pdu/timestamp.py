"""TP-SCTS / TP-DT time stamps and TP-VP validity periods (TS 23.040 §9.2.3.11, §9.2.3.12)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from modem.errors import PduError

_QUARTER = timedelta(minutes=15)
# Two semi-octets of quarter hours with bit 3 as the sign: at most 7*10+9 quarters.
_MAX_QUARTERS = 79
# The time stamp has a two-digit year; SMS began in 1992, so 90-99 are the 1990s.
_CENTURY_PIVOT = 90
_SECOND = timedelta(seconds=1)


def _swapped_bcd(octet: int) -> int:
    low, high = octet & 0x0F, octet >> 4
    if low > 9 or high > 9:
        raise PduError(f"time stamp octet {octet:02X} is not two decimal digits")
    return low * 10 + high


def decode_timestamp(octets: bytes) -> datetime:
    """Seven swapped-BCD octets: YY MM DD hh mm ss and the zone in quarter hours.

    An impossible date or time (month 13, 25 o'clock) raises PduError: the octets cannot be
    a time stamp, so what surrounds them is not trustworthy either.
    """
    if len(octets) != 7:
        raise PduError("time stamp needs 7 octets")
    yy, month, day, hour, minute, second = (_swapped_bcd(octet) for octet in octets[:6])
    year = (1900 if yy >= _CENTURY_PIVOT else 2000) + yy
    zone = octets[6]
    # The zone is read as tens*10+units even when a nibble is not a decimal digit: an
    # Indonesian SC sends 0xC2 (32 quarters, +08:00) with an otherwise good time stamp, and
    # losing a delivery report over its zone would be worse than a zone that is off.
    quarters = (zone & 0x07) * 10 + (zone >> 4)
    if zone & 0x08:
        quarters = -quarters
    try:
        return datetime(
            year, month, day, hour, minute, second, tzinfo=timezone(quarters * _QUARTER)
        )
    except ValueError as exc:
        raise PduError(f"impossible time stamp: {exc}") from exc


def encode_timestamp(moment: datetime) -> bytes:
    offset = moment.utcoffset()
    if offset is None:
        raise PduError("a TP time stamp needs a timezone-aware datetime")
    quarters, rest = divmod(offset, _QUARTER)
    if rest or abs(quarters) > _MAX_QUARTERS:
        raise PduError(f"time zone {offset} is not a whole number of quarter hours <= 79")
    if not _CENTURY_PIVOT + 1900 <= moment.year < _CENTURY_PIVOT + 2000:
        raise PduError(f"year {moment.year} does not fit the two-digit TP time stamp")
    fields = (moment.year % 100, moment.month, moment.day, moment.hour, moment.minute)
    octets = [value % 10 << 4 | value // 10 for value in (*fields, moment.second)]
    magnitude = abs(quarters)
    sign = 0x08 if quarters < 0 else 0
    octets.append((magnitude % 10) << 4 | magnitude // 10 | sign)
    return bytes(octets)


def decode_relative_validity(value: int) -> timedelta:
    """TS 23.040 §9.2.3.12.1 relative TP-VP."""
    if value <= 143:
        return (value + 1) * timedelta(minutes=5)
    if value <= 167:
        return timedelta(hours=12) + (value - 143) * timedelta(minutes=30)
    if value <= 196:
        return (value - 166) * timedelta(days=1)
    return (value - 192) * timedelta(weeks=1)


def encode_relative_validity(period: timedelta) -> int:
    """The smallest TP-VP that is at least ``period`` (the SC keeps the message no shorter
    than asked), capped at the longest one, 63 weeks."""
    if period <= timedelta(0):
        raise PduError("validity period must be positive")

    def steps(unit: timedelta, span: timedelta = period) -> int:
        return -(-span // unit)

    if period <= timedelta(hours=12):
        return max(steps(timedelta(minutes=5)) - 1, 0)
    if period <= timedelta(hours=24):
        return 143 + steps(timedelta(minutes=30), period - timedelta(hours=12))
    if period <= timedelta(days=30):
        return max(166 + steps(timedelta(days=1)), 168)
    return min(max(192 + steps(timedelta(weeks=1)), 197), 255)


def decode_enhanced_validity(octets: bytes) -> timedelta | None:
    """TS 23.040 §9.2.3.12.3: a functionality indicator, then the period in 6 octets."""
    start = 1
    while start < 7 and octets[start - 1] & 0x80:
        start += 1  # bit 7 says another functionality-indicator octet follows
    kind = octets[0] & 0x07
    body = octets[start:]
    if kind == 1 and body:
        return decode_relative_validity(body[0])
    if kind == 2 and body:
        return body[0] * _SECOND
    if kind == 3 and len(body) >= 3:
        hours, minutes, seconds = (_swapped_bcd(octet) for octet in body[:3])
        return timedelta(hours=hours, minutes=minutes, seconds=seconds)
    # 0 is "no validity period"; 4-7 are reserved and give nothing usable.
    return None

from datetime import UTC, datetime, timedelta, timezone

import pytest

from modem.errors import PduError
from modem.pdu.timestamp import (
    decode_enhanced_validity,
    decode_relative_validity,
    decode_timestamp,
    encode_relative_validity,
    encode_timestamp,
)


def tz(hours: float) -> timezone:
    return timezone(timedelta(hours=hours))


def test_it_reads_swapped_bcd_and_a_positive_quarter_hour_zone():
    # 2024-03-05 14:30:15, zone 0x40 -> "04" quarters = +01:00.
    assert decode_timestamp(bytes.fromhex("42305041035140")) == datetime(
        2024, 3, 5, 14, 30, 15, tzinfo=tz(1)
    )


def test_it_reads_a_negative_zone_from_bit_3():
    # 0x0A: first semi-octet 1010 = sign bit + tens 2, second 0 -> -20 quarters = -05:00.
    assert decode_timestamp(bytes.fromhex("4230504103510A")).utcoffset() == timedelta(hours=-5)


def test_it_reads_a_negative_half_hour_zone():
    # Newfoundland, -03:30 = -14 quarters: 0x49 (sign + tens 1, units 4).
    assert decode_timestamp(bytes.fromhex("424060000000" + "49")).utcoffset() == timedelta(
        hours=-3, minutes=-30
    )


def test_it_puts_two_digit_years_from_90_in_the_1990s():
    # gammu at-sms/09 was sent in 1999; SMS is younger than 1990.
    assert decode_timestamp(bytes.fromhex("99309251619580")).year == 1999
    assert decode_timestamp(bytes.fromhex("98309251619580")).year == 2089


@pytest.mark.parametrize(
    "octets",
    [
        "42315041035140",  # month 13
        "42302341035140",  # day 32
        "42305052035140",  # hour 25
        "4230504103F140",  # seconds digit F: not BCD
        "423050410351",  # six octets
    ],
)
def test_it_rejects_impossible_or_non_bcd_times(octets):
    with pytest.raises(PduError):
        decode_timestamp(bytes.fromhex(octets))


def test_it_reads_a_zone_with_a_non_decimal_units_nibble_as_tens_and_units():
    # An Indonesian SC (python-gsmmodem babca#15) sent 0xC2: 2*10+12 = 32 quarters.
    assert decode_timestamp(bytes.fromhex("610103409544C2")).utcoffset() == timedelta(hours=8)


def test_it_encodes_what_it_decodes():
    moment = datetime(2031, 12, 31, 23, 59, 58, tzinfo=tz(-9.75))
    assert decode_timestamp(encode_timestamp(moment)) == moment


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2024, 1, 1),  # naive
        datetime(2024, 1, 1, tzinfo=timezone(timedelta(minutes=10))),  # not quarter hours
        datetime(2090, 1, 1, tzinfo=UTC),  # two-digit year would read as 1990
        datetime(1989, 1, 1, tzinfo=UTC),
    ],
)
def test_it_refuses_times_the_time_stamp_cannot_carry(moment):
    with pytest.raises(PduError):
        encode_timestamp(moment)


@pytest.mark.parametrize(
    ("value", "period"),
    [
        (0, timedelta(minutes=5)),
        (143, timedelta(hours=12)),
        (144, timedelta(hours=12, minutes=30)),
        (167, timedelta(hours=24)),
        (168, timedelta(days=2)),
        (196, timedelta(days=30)),
        (197, timedelta(weeks=5)),
        (255, timedelta(weeks=63)),
    ],
)
def test_it_maps_relative_validity_per_23040(value, period):
    # TS 23.040 §9.2.3.12.1 ranges and their boundaries.
    assert decode_relative_validity(value) == period
    assert encode_relative_validity(period) == value


@pytest.mark.parametrize(
    ("period", "value"),
    [
        (timedelta(seconds=1), 0),
        (timedelta(minutes=5, seconds=1), 1),
        (timedelta(hours=12, minutes=1), 144),
        (timedelta(hours=25), 168),
        (timedelta(days=30, seconds=1), 197),
        (timedelta(weeks=100), 255),
    ],
)
def test_it_rounds_validity_up_and_caps_it_at_63_weeks(period, value):
    assert encode_relative_validity(period) == value


@pytest.mark.parametrize("period", [timedelta(0), timedelta(minutes=-5)])
def test_it_rejects_a_validity_that_is_not_positive(period):
    with pytest.raises(PduError):
        encode_relative_validity(period)


def test_it_rounds_up_across_every_relative_value():
    for value in range(256):
        period = decode_relative_validity(value)
        assert encode_relative_validity(period) == value
        if value:
            assert (
                encode_relative_validity(decode_relative_validity(value - 1) + timedelta(seconds=1))
                == value
            )


@pytest.mark.parametrize(
    ("octets", "period"),
    [
        ("01A70000000000", timedelta(hours=24)),  # relative format, as TP-VPF 10
        ("025A0000000000", timedelta(seconds=90)),  # seconds
        ("03103254000000", timedelta(hours=1, minutes=23, seconds=45)),  # hh mm ss
        ("00000000000000", None),
        ("07000000000000", None),  # reserved format
    ],
)
def test_it_reads_the_enhanced_validity_formats(octets, period):
    # TS 23.040 §9.2.3.12.3.
    assert decode_enhanced_validity(bytes.fromhex(octets)) == period

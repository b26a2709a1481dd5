import pytest

from modem.errors import PduError
from modem.pdu import Address
from modem.pdu.address import (
    decode_address,
    decode_digits,
    decode_smsc,
    encode_digits,
    encode_number,
    encode_sender,
    encode_smsc,
)


def test_it_swaps_semi_octets_and_pads_odd_digit_counts_with_f():
    # TS 23.040 §9.1.2.3: low nibble first; an odd count ends with the 1111 filler.
    assert encode_digits("12345") == bytes([0x21, 0x43, 0xF5])


def test_it_reads_star_hash_and_abc_digits():
    # Semi-octets 1010..1110 are * # a b c.
    assert decode_digits(bytes([0xBA, 0xDC, 0xFE]), 5) == "*#abc"


def test_it_encodes_an_international_recipient_with_type_91():
    assert encode_number("+46708251358").hex().upper() == "0B916407281553F8"


def test_it_encodes_a_plain_number_with_type_81():
    assert encode_number("3200").hex().upper() == "04812300"


@pytest.mark.parametrize("bad", ["", "+", "12a4", "+44 7700", "0" * 21, "+" + "1" * 21, "١٢٣"])
def test_it_rejects_numbers_it_cannot_encode(bad):
    with pytest.raises(PduError):
        encode_number(bad)


def test_it_decodes_an_international_address():
    address = decode_address(11, 0x91, bytes.fromhex("6407281553F8"))
    assert address == Address("+46708251358", ton=1, npi=1)
    assert address.kind == "international"


def test_it_decodes_a_national_address_without_plus():
    address = decode_address(10, 0xA1, bytes.fromhex("6003656115"))
    assert (address.value, address.kind) == ("0630561651", "national")


@pytest.mark.parametrize(
    ("toa", "kind"), [(0x81, "unknown"), (0xC8, "other"), (0xB1, "other"), (0xD0, "alphanumeric")]
)
def test_it_names_the_type_of_number(toa, kind):
    assert decode_address(2, toa, b"\x21").kind == kind


def test_it_decodes_an_alphanumeric_sender_from_its_semi_octet_count():
    # 6 semi-octets = 24 bits hold 3 whole septets: "TIM" (smspdudecoder#8).
    assert decode_address(6, 0xD0, bytes.fromhex("D46413")).value == "TIM"


def test_it_reads_the_third_septet_when_six_semi_octets_are_given():
    # gammu at-sms/04: 6 semi-octets carry 3 septets; the third is 0x11, "_" in GSM-7.
    assert decode_address(6, 0xD0, bytes.fromhex("4F5904")).value == "O2_"


def test_it_ignores_the_spare_bits_after_the_last_whole_septet():
    # 13 semi-octets = 52 bits: 7 septets and 3 spare bits (not an eighth "@").
    assert decode_address(13, 0xD0, bytes.fromhex("CDF2396C7EBB01")).value == "Megafon"


def test_it_encodes_an_alphanumeric_sender_with_the_fewest_semi_octets():
    assert encode_sender("O2").hex().upper() == "04D04F19"
    assert encode_sender("Megafon").hex().upper() == "0DD0CDF2396C7EBB01"


@pytest.mark.parametrize("bad", ["", "TwelveChars!", "€€€€€€", "naïve"])
def test_it_rejects_senders_that_are_not_short_gsm7_names(bad):
    with pytest.raises(PduError):
        encode_sender(bad)


def test_it_uses_the_sim_smsc_when_none_is_given():
    assert encode_smsc(None) == b"\x00"


def test_it_encodes_an_smsc_with_its_octet_length():
    assert encode_smsc("+447802000332").hex().upper() == "0791448720003023"  # as in gammu at-sms/04


def test_it_treats_an_smsc_field_with_only_a_type_octet_as_no_address():
    assert decode_smsc(b"\x81") is None


def test_it_rejects_an_smsc_longer_than_an_rp_address():
    with pytest.raises(PduError):
        decode_smsc(bytes(12))

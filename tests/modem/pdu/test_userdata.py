import pytest

from modem.errors import PduError
from modem.pdu import Concat, decode
from modem.pdu.udh import concat_of, parse_elements, port_of
from modem.pdu.userdata import read_dcs

from .build import HELLO, UDHI, deliver_hex


@pytest.mark.parametrize(
    ("dcs", "encoding", "message_class"),
    [
        (0x00, "gsm7", None),  # 00xx general coding, no class
        (0x04, "8bit", None),
        (0x08, "ucs2", None),
        (0x0C, "gsm7", None),  # alphabet 11 is reserved: default alphabet
        (0x10, "gsm7", 0),  # bit 4 makes bits 1-0 the class
        (0x11, "gsm7", 1),
        (0x16, "8bit", 2),
        (0x13, "gsm7", 3),
        (0x1B, "ucs2", 3),
        (0x18, "ucs2", 0),
        (0x40, "gsm7", None),  # 01xx automatic deletion, same layout
        (0x48, "ucs2", None),
        (0x55, "8bit", 1),
        (0x80, "gsm7", None),  # 1000-1011 reserved: TS 23.038 says assume GSM-7
        (0xB7, "gsm7", None),
        (0xC0, "gsm7", None),  # 1100 message waiting, discard
        (0xD8, "gsm7", None),  # 1101 message waiting, store
        (0xE8, "ucs2", None),  # 1110 message waiting, store, UCS-2
        (0xF0, "gsm7", 0),  # 1111: bit 2 picks 8-bit, bits 1-0 the class
        (0xF1, "gsm7", 1),
        (0xF5, "8bit", 1),
        (0xF6, "8bit", 2),
        (0xF9, "gsm7", 1),  # bit 3 reserved; still GSM-7 (gammu at-sms/14)
        (0xFB, "gsm7", 3),  # gammu at-sms/42
    ],
)
def test_it_reads_every_dcs_group_per_23038(dcs, encoding, message_class):
    assert read_dcs(dcs) == (encoding, message_class)


@pytest.mark.parametrize("dcs", [0x20, 0x29, 0x39, 0x60, 0x7F])
def test_it_rejects_compressed_text(dcs):
    # TS 23.042 compression is not implemented by any modem we drive; text we cannot
    # decompress would be garbage.
    with pytest.raises(PduError):
        read_dcs(dcs)
    with pytest.raises(PduError):
        decode(deliver_hex(HELLO, 10, dcs=dcs))


def test_it_decodes_gsm7_text_after_an_8bit_concat_header_with_one_fill_bit():
    # 6 header octets = 48 bits; the text starts at septet 7 after 1 fill bit.
    ud = "050003CC0302" + "D0"  # "h" (0x68) shifted by the fill bit
    message = decode(deliver_hex(ud, 8, first=0x04 | UDHI))
    assert message.text == "h"
    assert message.concat == Concat(reference=0xCC, total=3, sequence=2, bits=8)
    assert message.udh == ((0x00, bytes([0xCC, 3, 2])),)


def test_it_decodes_a_16bit_concat_reference():
    ud = "060804BEEF0201" + "0042"  # 7 header octets; UCS-2 "B"
    message = decode(deliver_hex(ud, 9, dcs=0x08, first=UDHI))
    assert message.concat == Concat(reference=0xBEEF, total=2, sequence=1, bits=16)
    assert message.text == "B"


def test_it_decodes_8bit_and_16bit_application_ports():
    eight = decode(deliver_hex("0404021584" + "01", 6, dcs=0x04, first=UDHI))
    assert eight.port == (0x15, 0x84)
    assert eight.data == b"\x01"
    sixteen = decode(deliver_hex("0605040B8423F0" + "CAFE", 9, dcs=0xF5, first=UDHI))
    assert sixteen.port == (2948, 9200)  # WAP push
    assert sixteen.data == b"\xca\xfe"
    assert sixteen.text == ""  # 8-bit octets are not text


def test_it_keeps_unknown_elements_and_skips_them():
    header = parse_elements(bytes.fromhex("7002ABCD00031401017F00"))
    assert header == ((0x70, b"\xab\xcd"), (0x00, b"\x14\x01\x01"), (0x7F, b""))
    assert concat_of(header) == Concat(reference=0x14, total=1, sequence=1, bits=8)
    assert port_of(header) is None


def test_it_stops_at_an_element_that_runs_past_the_header_but_keeps_the_text():
    # python-gsmmodem faucamp#51: IEI 0xC0 claims 27 octets inside a 5-octet header.
    ud = "05C01BF40201" + "D0"
    message = decode(deliver_hex(ud, 8, first=UDHI))
    assert message.udh == ()
    assert message.text == "h"


@pytest.mark.parametrize(
    "element",
    [
        "00030A0000",  # total 0
        "00030A0200",  # sequence 0
        "00030A0203",  # sequence beyond total
        "00020A02",  # wrong length for the element
    ],
)
def test_it_ignores_an_unusable_concat_element(element):
    # TS 23.040 §9.2.3.24.1: the receiver ignores such an element; the message stands alone.
    header = f"{len(element) // 2:02X}{element}"
    ud = header + "00" * 2
    message = decode(deliver_hex(ud, len(ud) // 2, dcs=0x04, first=UDHI))
    assert message.concat is None


def test_it_uses_the_last_usable_concat_element():
    elements = parse_elements(bytes.fromhex("0003010201" + "0003020202"))
    assert concat_of(elements) == Concat(reference=2, total=2, sequence=2, bits=8)


def test_it_rejects_a_header_longer_than_the_user_data():
    with pytest.raises(PduError):
        decode(deliver_hex("0A0003010201", 6, dcs=0x04, first=UDHI))


def test_it_rejects_a_gsm7_header_that_outgrows_tp_udl_septets():
    # TP-UDL 3 septets (21 bits) but a 6-octet header needs 7.
    with pytest.raises(PduError):
        decode(deliver_hex("050003010201", 3, first=UDHI))


def test_it_treats_a_header_flag_with_empty_user_data_as_no_header():
    message = decode(deliver_hex("", 0, first=UDHI))
    assert (message.text, message.udh) == ("", ())


def test_it_accepts_an_empty_header():
    # UDHL 0 (gammu at-sms/19): one octet of header, 6 fill bits, text from septet 2;
    # "h" (0x68) << 6 = 0x1A00, least significant octet first.
    message = decode(deliver_hex("00" + "001A", 3, first=UDHI))
    assert (message.text, message.udh) == ("h", ())


def test_it_ignores_octets_beyond_tp_udl():
    assert decode(deliver_hex(HELLO + "FFFF", 10)).text == "hellohello"
    assert decode(deliver_hex("00410042", 2, dcs=0x08)).text == "A"


def test_it_rejects_tp_udl_beyond_one_sms():
    with pytest.raises(PduError):
        decode(deliver_hex(HELLO, 161))
    with pytest.raises(PduError):
        decode(deliver_hex("00" * 141, 141, dcs=0x08))


def test_it_rejects_ucs2_with_an_odd_octet_count():
    with pytest.raises(PduError):
        decode(deliver_hex("004100", 3, dcs=0x08))


def test_it_decodes_a_surrogate_pair():
    assert decode(deliver_hex("D83DDE00", 4, dcs=0x08)).text == "😀"


def test_it_shows_half_a_surrogate_pair_as_replacement_but_keeps_the_octets():
    # Another sender may split a pair across parts; ``data`` lets reassembly mend it.
    message = decode(deliver_hex("0041D83D", 4, dcs=0x08))
    assert message.text == "A\ufffd"
    assert message.data == bytes.fromhex("0041D83D")

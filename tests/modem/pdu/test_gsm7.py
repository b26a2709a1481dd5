import gsmmodem.pdu as oracle
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.errors import PduError
from modem.pdu import gsm7
from modem.pdu.userdata import write_user_data

# python-gsmmodem maps 0x5F to "`" where TS 23.038 has "§", and ESC 0x0A (page break) to
# "ÿ"; leave those two out when it serves as the independent oracle.
ORACLE_SAFE = "".join(char for char in gsm7.BASIC if char != "§") + "^{}\\[~]|€"


def test_it_packs_hellohello_as_in_the_classic_example():
    # The well-known TS 23.038 §6.1.2.1.1 illustration: 10 septets in 9 octets.
    assert gsm7.pack(gsm7.encode("hellohello")).hex().upper() == "E8329BFD4697D9EC37"


def test_it_unpacks_hellohello():
    assert gsm7.decode(gsm7.unpack(bytes.fromhex("E8329BFD4697D9EC37"), 10)) == "hellohello"


def test_it_encodes_extension_characters_as_escape_pairs():
    # TS 23.038 §6.2.1.1 extension table codes behind ESC (0x1B).
    assert gsm7.encode("€[]{}~^\\|\x0c") == [
        0x1B, 0x65, 0x1B, 0x3C, 0x1B, 0x3E, 0x1B, 0x28, 0x1B, 0x29,
        0x1B, 0x3D, 0x1B, 0x14, 0x1B, 0x2F, 0x1B, 0x40, 0x1B, 0x0A,
    ]  # fmt: skip


def test_it_packs_the_euro_sign_by_hand():
    # 0x1B | 0x65<<7 -> 0x9B, then 0x65>>1 -> 0x32.
    assert gsm7.pack(gsm7.encode("€")) == bytes([0x9B, 0x32])


def test_it_decodes_default_alphabet_specials():
    assert gsm7.decode([0x00, 0x01, 0x02, 0x11, 0x5F, 0x60, 0x7F]) == "@£$_§¿à"


def test_it_shows_an_escape_without_extension_character_as_the_base_character():
    # TS 23.038 §6.2.1.1: display the default-table character for an unknown escape.
    assert gsm7.decode([0x1B, 0x41]) == "A"


def test_it_shows_a_double_escape_as_space():
    assert gsm7.decode([0x1B, 0x1B, 0x41]) == " A"


def test_it_shows_a_trailing_lone_escape_as_space():
    assert gsm7.decode([0x41, 0x1B]) == "A "


def test_it_rejects_characters_outside_the_alphabet():
    with pytest.raises(PduError):
        gsm7.encode("ç")


def test_it_refuses_to_unpack_more_septets_than_present():
    with pytest.raises(PduError):
        gsm7.unpack(b"\x41", 2)


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=ORACLE_SAFE, max_size=200))
def test_it_encodes_and_packs_like_python_gsmmodem(text):
    septets = gsm7.encode(text)
    assert septets == list(oracle.encodeGsm7(text))
    assert gsm7.pack(septets) == bytes(oracle.packSeptets(bytearray(septets)))


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=ORACLE_SAFE, max_size=150), st.integers(min_value=0, max_value=20))
def test_it_aligns_text_after_a_header_like_python_gsmmodem(text, header_octets):
    # Fill bits put the text on a septet boundary after the UDH (TS 23.040 §9.2.3.24).
    # gsmmodem's padBits is the header's bit count mod 7, our fill is what completes it.
    header = bytes([header_octets]) + bytes(header_octets)
    septets = gsm7.encode(text)
    if (8 * len(header) + 6) // 7 + len(septets) > 160:
        return
    _, ud = write_user_data(text, "gsm7", header)
    expected = header + bytes(oracle.packSeptets(bytearray(septets), (8 * len(header)) % 7))
    assert ud == expected


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=127), max_size=170), st.integers(0, 6))
def test_it_unpacks_what_it_packs_for_every_fill(septets, fill):
    packed = gsm7.pack(septets, fill)
    value = int.from_bytes(packed, "little") >> fill
    assert gsm7.unpack(value.to_bytes(len(packed), "little"), len(septets)) == septets


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from([*gsm7.BASIC, *gsm7.EXTENSION.values(), "é", "€", "😀"])))
def test_whole_text_checks_agree_with_the_tables_character_by_character(text):
    encodable = all(char in gsm7._ENCODE for char in text)
    assert gsm7.can_encode(text) == encodable
    if encodable:
        assert gsm7.septet_length(text) == len(gsm7.encode(text))

"""Whatever arrives from a modem, decode() either returns a message or raises PduError."""

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modem.errors import PduError
from modem.pdu import decode

from .build import HELLO, SCTS, deliver_hex
from .interop import PDUS, load_vectors

OWN = [
    "0001000B916407281553F800000A" + HELLO,
    "00062A0D91945111325476F8" + SCTS + "42305041030240" + "00",
    deliver_hex("050003CC0302D0", 8, first=0x44),
    deliver_hex("0605040B8423F0CAFE", 9, dcs=0xF5, first=0x40),
    deliver_hex("D83DDE00", 4, dcs=0x08),
    "000D000B916407281553F8000002780000000000000A" + HELLO,
    "0019000B916407281553F80000" + SCTS + "0A" + HELLO,
    "0006D004D04F19" + SCTS + SCTS + "00",
]
REAL = [vector["pdu"].strip().strip('"') for vector in load_vectors()] if PDUS.is_file() else []
SEEDS = [
    bytes.fromhex(pdu)
    for pdu in OWN + REAL
    if all(char in "0123456789abcdefABCDEF" for char in pdu) and len(pdu) % 2 == 0
]
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decode_or_reject(pdu, **options):
    with contextlib.suppress(PduError):
        decode(pdu, **options)


@FUZZ
@given(
    st.binary(max_size=200),
    st.booleans(),
    st.one_of(st.none(), st.integers(0, 200)),
    st.sampled_from([None, True, False]),
)
def test_it_raises_only_pdu_error_for_random_octets(octets, upper, tpdu_length, has_smsc):
    text = octets.hex().upper() if upper else octets.hex()
    decode_or_reject(text, tpdu_length=tpdu_length, has_smsc=has_smsc)


@FUZZ
@given(st.text(max_size=100))
def test_it_raises_only_pdu_error_for_random_text(text):
    decode_or_reject(text)


@FUZZ
@given(st.sampled_from(SEEDS), st.data())
def test_it_raises_only_pdu_error_for_mutated_real_pdus(seed, data):
    octets = bytearray(seed)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(octets) - 1))
        octets[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(octets)))
    decode_or_reject(bytes(octets[:cut]).hex())
    decode_or_reject(bytes(octets).hex(), has_smsc=data.draw(st.booleans()))


def test_it_raises_only_pdu_error_for_every_truncation_of_every_seed():
    for seed in SEEDS:
        for cut in range(len(seed)):
            decode_or_reject(seed[:cut].hex(), tpdu_length=len(seed) - 1)
            decode_or_reject(seed[:cut].hex())


def test_it_rejects_every_truncated_status_report():
    # No user data to be lenient about: every cut loses a mandatory field.
    report = bytes.fromhex(OWN[1])
    for cut in range(len(report)):
        with pytest.raises(PduError):
            decode(report[:cut].hex())


def test_it_rejects_a_submit_cut_before_its_user_data():
    pdu = bytes.fromhex(OWN[0])
    for cut in range(len(pdu) - 9):  # everything up to and including TP-UDL
        with pytest.raises(PduError):
            decode(pdu[:cut].hex())


@FUZZ
@given(st.binary(min_size=1, max_size=60))
def test_it_rejects_odd_length_hex(octets):
    with pytest.raises(PduError):
        decode(octets.hex()[:-1])


@FUZZ
@given(
    st.binary(max_size=60),
    st.text(
        alphabet=st.characters(exclude_characters='0123456789abcdefABCDEF \t\r\n"'),
        min_size=1,
        max_size=3,
    ),
    st.data(),
)
def test_it_rejects_non_hex_characters(octets, junk, data):
    text = octets.hex()
    position = data.draw(st.integers(0, len(text)))
    if position in (0, len(text)) and junk.strip(' \t\r\n"') == "":
        return
    with pytest.raises(PduError):
        decode(text[:position] + junk + text[position:])

"""The shared real-world PDUs (../shared/interop/real-world-pdus.json).

Every vector gammu's own tests expect to decode must decode, with the consensus text and
number where the decoders agree; every vector gammu rejects must raise PduError. Where the
vote and TS 23.038/23.040 part ways, or the vector's note flags it, the test below for that
vector records the decision and the spec fact behind it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from modem.errors import PduError
from modem.pdu import Concat, Deliver, StatusReport, Submit, decode

from .interop import INTEROP, PDUS, cmgr_length, load_vectors

if not PDUS.is_file():
    pytest.skip(f"shared interop vectors not found at {INTEROP}", allow_module_level=True)

VECTORS = {vector["id"]: vector for vector in load_vectors()}
# Vectors with a consensus that TS 23.040 overrules: (id, why).
OVERRULED = {
    # TP-UDL 160 octets cannot be UCS-2 user data (at most 140 octets, §9.2.3.16) and only 10
    # octets follow; two decoders show the fragment, gammu rejects it. So do we.
    "python-gsmmodem test_pdu #8 (UCS2, UDL too long)",
}


def by(expectation: str | None) -> list[Any]:
    return [
        pytest.param(vector, id=key)
        for key, vector in VECTORS.items()
        if vector.get("gammu_test_expects") == expectation and key not in OVERRULED
    ]


def decoded(key: str) -> Deliver | Submit | StatusReport:
    vector = VECTORS[key]
    return decode(vector["pdu"], tpdu_length=cmgr_length(vector))


def assert_consensus(vector: dict[str, Any], message: Deliver | Submit | StatusReport) -> None:
    consensus = vector["consensus"]
    party = message.recipient if isinstance(message, Submit | StatusReport) else message.sender
    if consensus.get("number") is not None:
        assert party.value.removeprefix("+") == consensus["number"]
    text = consensus.get("text")
    if text is None:
        return
    assert not isinstance(message, StatusReport)
    if message.encoding == "8bit":
        # The agreeing decoders print 8-bit user data as hex. We keep it as bytes in
        # ``data`` and leave ``text`` empty: octets are not characters.
        assert (message.text, message.data.hex().upper()) == ("", text)
    else:
        assert message.text == text


@pytest.mark.parametrize("vector", by("decodes"))
def test_it_decodes_every_vector_gammu_decodes(vector):
    assert_consensus(vector, decode(vector["pdu"], tpdu_length=cmgr_length(vector)))


@pytest.mark.parametrize("vector", by("rejects as invalid"))
def test_it_rejects_every_vector_gammu_rejects(vector):
    # failing/01, /40: TP address length 129/105 > 20 digits; /13, /17: not hex;
    # /18, /38, /39: SMSC field longer than 11 octets; /25, /33: TP-MTI 3 (reserved);
    # /35: DCS 0x39 says compressed text.
    with pytest.raises(PduError):
        decode(vector["pdu"], tpdu_length=cmgr_length(vector))


@pytest.mark.parametrize("vector", by(None))
def test_it_agrees_with_the_consensus_on_the_other_vectors(vector):
    assert_consensus(vector, decode(vector["pdu"], tpdu_length=cmgr_length(vector)))


@pytest.mark.parametrize("key", sorted(OVERRULED))
def test_it_rejects_the_vectors_the_spec_overrules(key):
    with pytest.raises(PduError):
        decoded(key)


@pytest.mark.parametrize("vector", by("decodes") + by(None))
def test_it_decodes_the_same_without_the_cmgr_length(vector):
    assert decode(vector["pdu"]) == decode(vector["pdu"], tpdu_length=cmgr_length(vector))


def test_it_reads_o2_underscore_from_six_semi_octets():
    # at-sms/04: 6 semi-octets hold floor(6*4/7) = 3 whole septets, 'O', '2', 0x11 ('_').
    # gammu reads the same three septets ("O2\x11", printed as "O2" because it leaves 0x11
    # unmapped); the Python decoders and the consensus say "O2_".
    sender = decoded("gammu:at-sms/04").sender
    assert (sender.value, sender.kind) == ("O2_", "alphanumeric")


def test_it_reads_dcs_f9_as_gsm7_although_the_octets_look_like_ucs2():
    # at-sms/14: DCS 0xF9 is group 1111 with bit 2 clear: GSM-7, class 1 (TS 23.038 §4).
    # The phone put UCS-2 octets there; the spec reading gives 18 septets of nonsense,
    # which is what that phone sent. Guessing the alphabet would break honest messages.
    message = decoded("gammu:at-sms/14")
    assert (message.encoding, message.message_class) == ("gsm7", 1)
    assert message.text == "èDΔ(C Δ$B@@£¡\n¡2@f"


def test_it_reads_dcs_fb_as_gsm7_class_3():
    # at-sms/42: DCS 0xFB is group 1111, GSM-7, class 3; decoding it as UCS-2 (two of the
    # decoders) is wrong per 23.038, and gammu rejects what it need not.
    message = decoded("gammu:at-sms/42")
    assert (message.encoding, message.message_class) == ("gsm7", 3)
    assert message.text == "1917812300     22:30   RATTHI"
    assert message.timestamp.utcoffset() == timedelta(hours=5, minutes=30)  # 22 quarters


def test_it_decodes_an_empty_submit_whose_header_flag_has_nothing_to_describe():
    # at-sms/20: TP-UDHI set but TP-UDL 0: no header octet exists, so no header; text "".
    message = decoded("gammu:at-sms/20")
    assert (message.text, message.udh, message.data) == ("", (), b"")
    assert (message.recipient.value, message.reference) == ("366460353302", 176)


def test_it_treats_an_smsc_field_of_length_one_as_no_smsc():
    # at-sms/24: the SMSC field is only the type octet 0x81: no address is known.
    message = decoded("gammu:at-sms/24")
    assert message.smsc is None
    assert message.text == "inserisci qui il messaggio...."


def test_it_decodes_an_empty_destination_address():
    # at-sms/31: TP-DA length 0 with its type octet still present: an empty address.
    message = decoded("gammu:at-sms/31")
    assert (message.recipient.value, message.recipient.ton) == ("", 0)


def test_it_stops_at_tp_udl_when_the_cmgr_length_is_longer():
    # at-sms/39: +CMGR length 92 but TP-UDL 53 septets: octets after the user data are not
    # text (python-gsmmodem shows them as " buzC3e").
    message = decoded("gammu:at-sms/39")
    assert message.text == "llamada perdida de: +34617653167 on 07/08  at  11:19."


def test_it_decodes_a_submit_whose_length_counts_the_smsc_octet_and_whose_text_is_cut():
    # at-sms/41: "+CMGR: 0,,93" and 93 octets of hex starting with the "00" SMSC field: the
    # modem counted the SMSC octet, so the no-SMSC reading fails and the standard one is
    # used. TP-UDL 93 septets needs 82 octets but 79 follow: the modem stored it cut, and
    # the 82 characters present are decoded (the text starts "MBOXUPDATE" per the note).
    message = decoded("gammu:at-sms/41")
    assert message.text.startswith("MBOXUPDATE?m=15;server=natashenka.party;port=993;")
    assert len(message.text) == 82
    assert message.port == (5496, 0)  # IEI 0x05, 16-bit ports; UDHL 6 = 8 septets, no fill
    # Had the modem announced more TPDU octets than arrived, the line was cut on the way.
    with pytest.raises(PduError):
        decode(VECTORS["gammu:at-sms/41"]["pdu"], tpdu_length=95)


def test_it_decodes_a_text_cut_short_in_a_public_issue():
    # smspdudecoder#8: TP-UDL 135 septets, 73 octets present: 83 whole characters.
    message = decoded("smspdudecoder issue #8 (alphanumeric sender)")
    assert message.sender.value == "TIM"
    assert len(message.text) == 83


def test_it_keeps_8bit_wap_push_as_data_with_its_ports():
    # at-sms/33, /40: DCS 0x04 / 0xF5 are 8-bit; IEI 0x05 gives ports 2948 -> 9200 (WAP).
    for key in ("gammu:at-sms/33", "gammu:at-sms/40"):
        message = decoded(key)
        assert (message.encoding, message.text, message.port) == ("8bit", "", (2948, 9200))


def test_it_keeps_an_8bit_message_whose_header_fills_the_user_data():
    # at-sms/26: TP-UDL 132, UDHL 131 (one 129-octet IE 0x12): no data octets remain.
    message = decoded("gammu:at-sms/26")
    assert (message.encoding, message.data) == ("8bit", b"")
    assert [iei for iei, _ in message.udh] == [0x12]


def test_it_skips_an_element_that_overruns_the_header():
    # faucamp#51: IEI 0xC0 claims 27 octets in a 5-octet UDH; UDHL still places the text.
    message = decoded("python-gsmmodem issue faucamp#51 (concat GSM-7 with UDH)")
    assert (message.udh, message.concat) == ((), None)
    assert message.text.startswith("testabcdefg")


def test_it_reads_a_16bit_concat_reference_and_seven_septet_names():
    # xlab/at#20: IEI 0x08 is concatenation with a 16-bit reference; "Beeline" in 13
    # semi-octets is 7 septets (the trailing "@" others show is the 3 spare bits).
    message = decoded("xlab/at issue #20 (alnum sender, 16-bit port UDH, UCS2)")
    assert message.concat == Concat(reference=0x78E0, total=6, sequence=2, bits=16)
    assert message.sender.value == "Beeline"
    assert decoded("python-gsmmodem issue faucamp#36 (alphanumeric sender, UCS2 concat)") \
        .sender.value == "Megafon"  # fmt: skip


def test_it_decodes_the_status_reports():
    expected = {
        "gammu:at-sms/30": (232, "+666666666666"),
        "gammu:at-sms/32": (171, "604865888"),  # followed by TP-PI 0xFF and padding
        "gammu:at-sms/34": (6, "+61439012244"),
        "gammu:at-sms/36": (1, "+6285717373455"),
        "gammu:at-sms/38": (180, "602396602"),
        "python-gsmmodem issue faucamp#44 (+CDS status report)": (64, "+919790197346"),
    }
    for key, (reference, recipient) in expected.items():
        report = decoded(key)
        assert isinstance(report, StatusReport)
        assert (report.reference, report.recipient.value, report.outcome) == (
            reference, recipient, "delivered",
        )  # fmt: skip


def test_it_decodes_the_semi_invalid_zte_report_digit_by_digit():
    # python-gsmmodem #11: the recipient's first semi-octet is 0xB, which 23.040 §9.1.2.3
    # defines as "#": odd for an international number, but a defined digit, not garbage.
    report = decoded("python-gsmmodem test_pdu #11 (ZTE status report, semi-invalid)")
    assert (report.reference, report.recipient.value, report.status) == (
        28, "+#08427829207025", 0,
    )  # fmt: skip


def test_it_keeps_a_time_stamp_whose_zone_is_not_bcd():
    # babca#15: zone octet 0xC2 is read as 2*10+12 = 32 quarters (+08:00), rather than
    # losing the delivery report over its zone; TP-DT's 0x82 is a regular +07:00.
    report = decoded("python-gsmmodem issue babca#15 (status report)")
    assert report.service_centre_timestamp.utcoffset() == timedelta(hours=8)
    assert report.discharge_time.utcoffset() == timedelta(hours=7)

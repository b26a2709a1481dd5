from datetime import datetime, timedelta, timezone

import pytest

from modem.errors import PduError
from modem.pdu import Address, Deliver, StatusReport, Submit, decode

from .build import HELLO, SCTS, deliver_hex

PLUS_ONE = timezone(timedelta(hours=1))
# Hand-assembled (TS 23.040 §9.2.2.1a): no SMSC, SUBMIT without VP, TP-MR 0,
# +46708251358, PID 0, DCS 0, "hellohello".
SUBMIT = "0001000B916407281553F800000A" + HELLO
# §9.2.2.3: SMS-STATUS-REPORT for TP-MR 0x2A to +4915112345678, received 14:30:15,
# discharged 14:30:20 (+01:00), TP-ST 0 (delivered). MMS bit set, as SCs send it.
REPORT_TPDU = "062A0D91945111325476F8" + SCTS + "42305041030240" + "00"


def test_it_decodes_a_submit():
    message = decode(SUBMIT)
    assert isinstance(message, Submit)
    assert message.smsc is None
    assert message.recipient == Address("+46708251358", ton=1, npi=1)
    assert (message.reference, message.pid, message.dcs, message.encoding) == (0, 0, 0, "gsm7")
    assert message.text == "hellohello"
    assert message.data == bytes.fromhex(HELLO)
    assert (message.validity, message.status_report_request) == (None, False)
    assert (message.concat, message.port, message.udh, message.message_class) == (
        None, None, (), None,
    )  # fmt: skip


def test_it_decodes_a_deliver_with_its_smsc_and_time_stamp():
    message = decode(deliver_hex(HELLO, 10, smsc="0791448720003023"))
    assert isinstance(message, Deliver)
    assert message.smsc == "+447802000332"
    assert message.sender.value == "+27821234567"
    assert message.timestamp == datetime(2024, 3, 5, 14, 30, 15, tzinfo=PLUS_ONE)
    assert message.text == "hellohello"


def test_it_reads_the_deliver_flags():
    quiet = decode(deliver_hex(HELLO, 10, first=0x04))
    assert (quiet.more_messages, quiet.reply_path, quiet.status_report_indication) == (
        False, False, False,
    )  # fmt: skip
    # TP-MMS 0 means more messages are waiting; 0x80 TP-RP; 0x20 TP-SRI.
    busy = decode(deliver_hex(HELLO, 10, first=0xA0))
    assert (busy.more_messages, busy.reply_path, busy.status_report_indication) == (
        True, True, True,
    )  # fmt: skip


def test_it_decodes_a_status_report():
    report = decode("00" + REPORT_TPDU)
    assert isinstance(report, StatusReport)
    assert report.reference == 0x2A
    assert report.recipient.value == "+4915112345678"
    assert report.service_centre_timestamp == datetime(2024, 3, 5, 14, 30, 15, tzinfo=PLUS_ONE)
    assert report.discharge_time == datetime(2024, 3, 5, 14, 30, 20, tzinfo=PLUS_ONE)
    assert (report.status, report.outcome) == (0, "delivered")


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (0x00, "delivered"),
        (0x02, "delivered"),  # replaced by the SC
        (0x1F, "delivered"),
        (0x20, "pending"),  # congestion, SC still trying
        (0x3F, "pending"),
        (0x40, "failed"),  # remote procedure error
        (0x65, "failed"),  # temporary error, SC gave up
        (0x7F, "failed"),
        (0x80, "failed"),  # reserved
        (0xFF, "failed"),
    ],
)
def test_it_classifies_tp_st(status, outcome):
    report = decode("00" + REPORT_TPDU[:-2] + f"{status:02X}")
    assert report.outcome == outcome


def test_it_decodes_a_status_report_without_smsc_field_by_its_length():
    # +CDS: <length> counts the whole hex: the modem left the SMSC field out.
    report = decode(REPORT_TPDU, tpdu_length=len(REPORT_TPDU) // 2)
    assert (report.smsc, report.reference) == (None, 0x2A)


def test_it_decodes_without_smsc_field_when_told():
    assert decode(REPORT_TPDU, has_smsc=False).reference == 0x2A


def test_it_ignores_octets_after_the_announced_length():
    assert decode("00" + REPORT_TPDU + "FFFF", tpdu_length=len(REPORT_TPDU) // 2).status == 0


def test_it_tries_the_smsc_layout_when_the_exact_length_includes_the_smsc_octet():
    # gammu at-sms/41: some modems count the "00" SMSC octet in <length>.
    assert decode(SUBMIT, tpdu_length=len(SUBMIT) // 2).text == "hellohello"


def test_it_decodes_the_characters_present_when_user_data_stops_short():
    # TP-UDL says 10 septets, 6 octets hold 6 whole septets.
    assert decode(deliver_hex(HELLO[:12], 10)).text == "helloh"


def test_it_rejects_short_user_data_when_the_modem_announced_more_octets():
    # The modem said the TPDU is longer than what arrived: the line was cut in transit.
    pdu = deliver_hex(HELLO[:12], 10)
    full = len(deliver_hex(HELLO, 10)) // 2 - 1
    with pytest.raises(PduError):
        decode(pdu, tpdu_length=full)


def test_it_decodes_a_submit_with_relative_validity_and_status_report_request():
    message = decode("0031000B916407281553F80000AA0A" + HELLO)
    assert message.validity == timedelta(days=4)  # 0xAA = 170 -> 170-166 days
    assert message.status_report_request is True


def test_it_decodes_a_submit_with_absolute_validity():
    message = decode("0019000B916407281553F80000" + SCTS + "0A" + HELLO)
    assert message.validity == datetime(2024, 3, 5, 14, 30, 15, tzinfo=PLUS_ONE)


def test_it_decodes_a_submit_with_enhanced_validity_and_reject_duplicates():
    message = decode("000D000B916407281553F8000002780000000000000A" + HELLO)
    assert message.validity == timedelta(minutes=2)
    assert message.reject_duplicates is True


def test_it_accepts_lower_case_and_surrounding_whitespace():
    assert decode(f"  {SUBMIT.lower()}\r\n").text == "hellohello"


@pytest.mark.parametrize(
    "bad",
    ["", "   ", "0", SUBMIT + "0", SUBMIT[:10] + " " + SUBMIT[10:], SUBMIT + "G0", "0x" + SUBMIT],
)
def test_it_rejects_hex_it_cannot_read(bad):
    with pytest.raises(PduError):
        decode(bad)


def test_it_rejects_input_that_is_not_a_string():
    with pytest.raises(PduError):
        decode(bytes.fromhex(SUBMIT))  # type: ignore[arg-type]


def test_it_rejects_the_reserved_message_type():
    with pytest.raises(PduError):
        decode("0003000B916407281553F800000A" + HELLO)


def test_it_rejects_a_negative_tpdu_length():
    with pytest.raises(PduError):
        decode(SUBMIT, tpdu_length=-1)


def test_it_rejects_an_address_longer_than_20_digits():
    with pytest.raises(PduError):
        decode("000100159164072815536407281553640728155364F800000A" + HELLO)

from __future__ import annotations

from datetime import UTC, datetime

from modem.at.framing import Unsolicited
from modem.events import (
    MessageReceived,
    MessageWaiting,
    RegistrationChanged,
    ReportReceived,
    Unreadable,
    event_from_unsolicited,
)
from modem.pdu import encode_deliver, encode_status_report

WHEN = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


def tpdu_length(pdu: str) -> int:
    return len(pdu) // 2 - 1 - int(pdu[:2], 16)


def test_it_turns_cmti_into_a_waiting_message() -> None:
    assert event_from_unsolicited(Unsolicited("+CMTI", '+CMTI: "SM",12')) == MessageWaiting(
        "SM", 12
    )


def test_it_decodes_a_routed_message() -> None:
    (pdu,) = encode_deliver("+15550199", "hi", timestamp=WHEN)
    event = event_from_unsolicited(Unsolicited("+CMT", f"+CMT: ,{tpdu_length(pdu)}", pdu))
    assert isinstance(event, MessageReceived)
    assert event.message.text == "hi"


def test_it_decodes_a_routed_status_report() -> None:
    pdu = encode_status_report(
        42, "+15550123", 0, service_centre_timestamp=WHEN, discharge_time=WHEN
    )
    event = event_from_unsolicited(Unsolicited("+CDS", f"+CDS: {tpdu_length(pdu)}", pdu))
    assert isinstance(event, ReportReceived)
    assert (event.report.reference, event.report.outcome) == (42, "delivered")


def test_it_reads_a_registration_change() -> None:
    event = event_from_unsolicited(Unsolicited("+CREG", "+CREG: 5"))
    assert isinstance(event, RegistrationChanged)
    assert event.registration.status == "roaming"


def test_it_reports_garbage_as_unreadable_instead_of_raising() -> None:
    for urc in (
        Unsolicited("+CMT", "+CMT: ,12", "00FFZZ"),
        Unsolicited("+CMT", "+CMT: ,12", None),
        Unsolicited("+CMTI", '+CMTI: "SM"'),
        Unsolicited("+CMTI", '+CMTI: "SM",x'),
        Unsolicited("+CDS", "+CDS: 3", "0006"),
    ):
        assert isinstance(event_from_unsolicited(urc), Unreadable)


def test_it_ignores_urcs_it_has_no_use_for() -> None:
    assert event_from_unsolicited(Unsolicited("RING", "RING")) is None

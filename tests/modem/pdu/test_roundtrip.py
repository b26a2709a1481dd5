from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from modem.pdu import (
    Deliver,
    StatusReport,
    Submit,
    decode,
    encode_deliver,
    encode_status_report,
    encode_submit,
)
from modem.pdu.gsm7 import BASIC, char_septets

GSM_CHARS = [c for c in BASIC if c != "\x1b"] + list("^{}\\[~]|€\x0c")
texts = st.one_of(
    st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=500),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=300),
    st.text(alphabet=st.sampled_from([*GSM_CHARS[:20], "😀", "𝄞", "ж", "€"]), max_size=300),
)
numbers = st.from_regex(r"\+?[0-9]{1,20}", fullmatch=True)
# Alphanumeric senders: up to 11 septets, and not something that reads as a number.
names = st.text(alphabet=st.sampled_from(GSM_CHARS), min_size=1, max_size=11).filter(
    lambda name: not name.removeprefix("+").isdigit() and sum(char_septets(c) for c in name) <= 11
)
zones = st.integers(min_value=-79, max_value=79).map(lambda q: timezone(q * timedelta(minutes=15)))
moments = st.builds(
    lambda naive, zone: naive.replace(tzinfo=zone, microsecond=0),
    st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2089, 12, 31)),
    zones,
)


@settings(max_examples=150, deadline=None)
@given(numbers, texts, st.integers(0, 0xFFFF), st.booleans())
def test_it_decodes_what_encode_submit_builds(number, text, reference, report):
    pdus = encode_submit(number, text, concat_reference=reference, request_status_report=report)
    decoded = [decode(pdu.hex, tpdu_length=pdu.tpdu_length) for pdu in pdus]
    assert all(isinstance(message, Submit) for message in decoded)
    assert "".join(message.text for message in decoded) == text
    for sequence, message in enumerate(decoded, start=1):
        assert message.recipient.value == number
        assert message.recipient.ton == (1 if number.startswith("+") else 0)
        assert message.status_report_request is report
        if len(pdus) > 1:
            assert (message.concat.reference, message.concat.total) == (reference & 0xFF, len(pdus))
            assert message.concat.sequence == sequence
        else:
            assert message.concat is None


@settings(max_examples=150, deadline=None)
@given(st.one_of(numbers, names), texts, moments, st.booleans())
def test_it_decodes_what_encode_deliver_builds(sender, text, moment, indication):
    pdus = encode_deliver(sender, text, timestamp=moment, status_report_indication=indication)
    decoded = [decode(pdu) for pdu in pdus]
    assert all(isinstance(message, Deliver) for message in decoded)
    assert "".join(message.text for message in decoded) == text
    for message in decoded:
        assert message.sender.value == sender
        assert message.timestamp == moment
        assert message.timestamp.utcoffset() == moment.utcoffset()
        assert message.status_report_indication is indication
        assert message.more_messages is False


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 255), numbers, st.integers(0, 255), moments, moments)
def test_it_decodes_what_encode_status_report_builds(reference, number, status, sent, done):
    pdu = encode_status_report(
        reference, number, status, service_centre_timestamp=sent, discharge_time=done
    )
    report = decode(pdu)
    assert isinstance(report, StatusReport)
    assert (report.reference, report.recipient.value, report.status) == (reference, number, status)
    assert (report.service_centre_timestamp, report.discharge_time) == (sent, done)
    assert report.smsc == "+10000000000"

"""SMS commands (TS 27.005): sending, storage, indications and status reports."""

from __future__ import annotations

from typing import Any

import pytest

from modem.pdu import Deliver, StatusReport, decode, encode_submit
from modem.sim import SimModem
from modem.sim.pdus import tpdu_length
from tests import interop
from tests.modem.sim.support import FIXED_TIME, RECIPIENT, SENDER, Line, lines_of, make, submit


def deliver(pdu: object) -> Deliver:
    message = decode(str(pdu))
    assert isinstance(message, Deliver)
    return message


def sequence(pdu: object) -> int:
    concat = deliver(pdu).concat
    assert concat is not None
    return concat.sequence


def stored(line: Line, memory: str = "SM") -> list[dict[str, Any]]:
    return line.modem.storage()[memory]


# -- sending ----------------------------------------------------------------------------


def test_it_sends_a_pdu_and_echoes_it_like_a_modem() -> None:
    line = Line(SimModem(wall_clock=lambda: FIXED_TIME))
    pdu = encode_submit(RECIPIENT, "hello")[0]
    command = f"AT+CMGS={pdu.tpdu_length}\r".encode()
    assert line.send(command) == command + b"\r\n> "
    assert line.send(pdu.hex + "\x1a") == pdu.hex.encode() + b"\r\n+CMGS: 0\r\n\r\nOK\r\n"


def test_it_records_what_it_sent() -> None:
    line = make()
    assert submit(line, "hello", request_status_report=True) == ["+CMGS: 0", "OK"]
    (part,) = line.modem.outbox
    assert (part.reference, part.recipient, part.text, part.encoding) == (
        0,
        RECIPIENT,
        "hello",
        "gsm7",
    )
    assert part.status_report_request and part.concat is None and part.sent_at == FIXED_TIME
    assert part.as_dict()["pdu"] == part.pdu


def test_it_numbers_submissions_and_wraps_after_255() -> None:
    line = make(first_reference=254)
    assert [submit(line)[0] for _ in range(3)] == ["+CMGS: 254", "+CMGS: 255", "+CMGS: 0"]


def test_it_records_each_part_of_a_long_message() -> None:
    line = make()
    for pdu in encode_submit(RECIPIENT, "x" * 200, concat_reference=7):
        line.command(f"AT+CMGS={pdu.tpdu_length}")
        line.send(pdu.hex + "\x1a")
    concats = [part.concat for part in line.modem.outbox]
    assert [(c.reference, c.total, c.sequence) for c in concats if c] == [(7, 2, 1), (7, 2, 2)]


def test_it_refuses_a_pdu_whose_length_does_not_match() -> None:
    line = make()
    pdu = encode_submit(RECIPIENT, "hello")[0]
    line.command(f"AT+CMGS={pdu.tpdu_length + 1}")
    assert lines_of(line.send(pdu.hex + "\x1a")) == ["+CMS ERROR: 304"]
    assert line.modem.outbox == []


@pytest.mark.parametrize("typed", ["0011ZZ", "001", "", "07910100000000F0040C91"])
def test_it_refuses_what_is_not_a_pdu(typed: str) -> None:
    line = make()
    line.command("AT+CMGS=10")
    assert lines_of(line.send(typed + "\x1a")) == ["+CMS ERROR: 304"]
    assert line.lines("AT") == ["OK"]


def test_it_refuses_a_deliver_given_to_cmgs() -> None:
    line = make()
    deliver = "07910100000000F0040C914477000910320000425010210000000BE8329BFD06D1D1657919"
    line.command(f"AT+CMGS={tpdu_length(deliver)}")
    assert lines_of(line.send(deliver + "\x1a")) == ["+CMS ERROR: 304"]


def test_it_accepts_line_breaks_inside_the_pdu() -> None:
    line = make()
    pdu = encode_submit(RECIPIENT, "hello")[0]
    line.command(f"AT+CMGS={pdu.tpdu_length}")
    assert lines_of(line.send(pdu.hex[:10] + "\r\n" + pdu.hex[10:] + "\x1a"))[0] == "+CMGS: 0"


def test_it_quits_without_sending_on_escape() -> None:
    line = make()
    line.command("AT+CMGS=20")
    assert line.send("0011\x1b") == b"\r\nOK\r\n"
    assert line.modem.outbox == []
    assert line.lines("AT") == ["OK"]


def test_it_refuses_a_bad_length_before_the_prompt() -> None:
    line = make()
    assert line.lines("AT+CMGS=0") == ["+CMS ERROR: 304"]
    assert line.lines("AT+CMGS=999") == ["+CMS ERROR: 304"]
    assert line.lines("AT+CMGS") == ["+CMS ERROR: 304"]


def test_it_sends_in_text_mode_too() -> None:
    line = make()
    line.command("AT+CMGF=1")
    assert line.command(f'AT+CMGS="{RECIPIENT}"') == b"\r\n> "
    assert line.send("two\r") == b"\r\n> "
    assert lines_of(line.send("lines\x1a")) == ["+CMGS: 0", "OK"]
    (part,) = line.modem.outbox
    assert (part.recipient, part.text) == (RECIPIENT, "two\rlines")


def test_it_asks_for_a_status_report_in_text_mode_when_csmp_says_so() -> None:
    line = make()
    line.command("AT+CMGF=1;+CSMP=49,167,0,0")
    line.command(f'AT+CMGS="{RECIPIENT}"')
    line.send("hi\x1a")
    assert line.modem.outbox[0].status_report_request


# -- receiving --------------------------------------------------------------------------


def test_it_stores_and_announces_with_cnmi_mt_1() -> None:
    line = make()
    line.command("AT+CNMI=2,1,0,0,0")
    assert line.modem.inject(SENDER, "hello there", now=line.now) == 1
    assert lines_of(line.wait(0)) == ['+CMTI: "SM",1']
    head, pdu, ok = line.lines("AT+CMGR=1")
    assert head == f"+CMGR: 0,,{tpdu_length(pdu)}" and ok == "OK"
    message = decode(pdu)
    assert isinstance(message, Deliver)
    assert (message.sender.value, message.text, message.timestamp) == (
        SENDER,
        "hello there",
        FIXED_TIME,
    )
    assert line.lines("AT+CMGR=1")[0].startswith("+CMGR: 1,,")  # read now


def test_it_stores_silently_with_cnmi_mt_0() -> None:
    line = make()
    line.modem.inject(SENDER, "quiet", now=line.now)
    assert line.wait(0) == b""
    assert [m["text"] for m in stored(line)] == ["quiet"]


def test_it_routes_directly_with_cnmi_mt_2() -> None:
    line = make()
    line.command("AT+CNMI=2,2,0,0,0")
    line.modem.inject(SENDER, "direct", now=line.now)
    head, pdu = lines_of(line.wait(0))
    assert head == f"+CMT: ,{tpdu_length(pdu)}"
    assert deliver(pdu).text == "direct"
    assert stored(line) == []


def test_it_buffers_indications_with_mode_0_and_flushes_them_after_the_ok() -> None:
    line = make()
    line.command("AT+CNMI=0,1,0,0,0")
    line.modem.inject(SENDER, "one", now=line.now)
    assert line.wait(0) == b""
    assert line.lines("AT+CNMI=2,1,0,0,0") == ["OK", '+CMTI: "SM",1']


def test_it_discards_buffered_indications_with_bfr_1() -> None:
    line = make()
    line.command("AT+CNMI=0,1,0,0,0")
    line.modem.inject(SENDER, "one", now=line.now)
    assert line.lines("AT+CNMI=2,1,0,0,1") == ["OK"]


def test_it_lists_by_status_and_marks_listed_messages_read() -> None:
    line = make()
    for text in ("a", "b"):
        line.modem.inject(SENDER, text, now=line.now)
    line.lines("AT+CMGR=1")
    listed = line.lines("AT+CMGL=0")
    assert [listed[0].split(",")[:2], listed[-1]] == [["+CMGL: 2", "0"], "OK"]
    assert len(listed) == 3
    assert line.lines("AT+CMGL") == ["OK"]  # no unread left; the default is REC UNREAD
    every = line.lines("AT+CMGL=4")
    assert [row.split(",")[:2] for row in every[0:4:2]] == [["+CMGL: 1", "1"], ["+CMGL: 2", "1"]]
    assert line.lines("AT+CMGL=5") == ["+CMS ERROR: 304"]


def test_it_reports_an_empty_or_impossible_index() -> None:
    line = make()
    assert line.lines("AT+CMGR=1") == ["+CMS ERROR: 321"]
    assert line.lines("AT+CMGR=0") == ["+CMS ERROR: 321"]
    assert line.lines("AT+CMGR=21") == ["+CMS ERROR: 321"]
    assert line.lines("AT+CMGD=21") == ["+CMS ERROR: 321"]
    assert line.lines("AT+CMGD=3") == ["OK"]  # an empty record is gone already


def test_it_deletes_by_index_and_by_flag() -> None:
    line = make()
    for text in ("a", "b", "c"):
        line.modem.inject(SENDER, text, now=line.now)
    line.command("AT+CMGR=1")
    assert line.lines("AT+CMGD=2") == ["OK"]
    assert [m["index"] for m in stored(line)] == [1, 3]
    assert line.lines("AT+CMGD=?") == ["+CMGD: (1,3),(0-4)", "OK"]
    line.command("AT+CMGD=1,1")  # read ones only
    assert [m["index"] for m in stored(line)] == [3]
    line.command("AT+CMGD=0,4")
    assert stored(line) == []


def test_it_splits_long_and_unicode_text_into_concatenated_parts() -> None:
    line = make()
    line.command("AT+CNMI=2,1,0,0,0")
    assert line.modem.inject(SENDER, "x" * 200, now=line.now) == 2
    assert line.modem.inject(SENDER, "привет " * 12, now=line.now) == 2
    assert lines_of(line.wait(0)) == [f'+CMTI: "SM",{i}' for i in range(1, 5)]
    parts = [deliver(m["pdu"]) for m in stored(line)]
    assert [p.encoding for p in parts] == ["gsm7", "gsm7", "ucs2", "ucs2"]
    references = {p.concat.reference for p in parts if p.concat}
    assert len(references) == 2  # one per message


@pytest.mark.parametrize(("order", "expected"), [("in", [1, 2, 3]), ("reverse", [3, 2, 1])])
def test_it_delivers_parts_in_the_order_asked_for(order: str, expected: list[int]) -> None:
    line = make()
    line.modem.inject(SENDER, "y" * 400, order=order, now=line.now)
    assert [sequence(m["pdu"]) for m in stored(line)] == expected


def test_it_shuffles_parts_reproducibly() -> None:
    orders = []
    for _ in range(2):
        line = make(seed=3)
        line.modem.inject(SENDER, "z" * 1000, order="shuffle", now=line.now)
        orders.append([sequence(m["pdu"]) for m in stored(line)])
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(1, 8))
    assert orders[0] != sorted(orders[0])


def test_it_spaces_parts_out_when_asked() -> None:
    line = make()
    line.command("AT+CNMI=2,1,0,0,0")
    line.modem.inject(SENDER, "w" * 200, gap=5.0, now=line.now)
    assert lines_of(line.wait(0)) == ['+CMTI: "SM",1']
    assert lines_of(line.wait(5)) == ['+CMTI: "SM",2']


def test_it_holds_messages_at_the_network_while_storage_is_full() -> None:
    line = make(capacity={"SM": 2})
    line.command("AT+CNMI=2,1,0,0,0")
    for text in ("a", "b", "c"):
        line.modem.inject(SENDER, text, now=line.now)
    assert lines_of(line.wait(0)) == ['+CMTI: "SM",1', '+CMTI: "SM",2']
    assert line.lines("AT+CPMS?") == ['+CPMS: "SM",2,2,"SM",2,2,"SM",2,2', "OK"]
    assert line.modem.state()["held"] == 1
    assert line.lines("AT+CMGD=1") == ["OK", '+CMTI: "SM",1']
    assert [m["text"] for m in stored(line)] == ["c", "b"]


def test_it_handles_real_world_deliver_pdus() -> None:
    vectors = interop.load("real-world-pdus.json")["vectors"]
    delivers = []
    for vector in vectors:
        pdu = vector["pdu"].upper()
        try:
            if isinstance(decode(pdu, has_smsc=True), Deliver) and tpdu_length(pdu):
                delivers.append(pdu)
        except ValueError:
            continue
    assert len(delivers) > 10
    line = make(capacity=100)
    for pdu in delivers:
        line.modem.inject_pdu(pdu, now=line.now)
    listed = line.lines("AT+CMGL=4")
    assert listed[1:-1:2] == delivers
    assert listed[0:-1:2] == [
        f"+CMGL: {i},0,,{tpdu_length(pdu)}" for i, pdu in enumerate(delivers, start=1)
    ]


def test_it_lists_and_reads_in_text_mode() -> None:
    line = make()
    line.modem.inject(SENDER, "hello", now=line.now)
    line.modem.inject(SENDER, "ünïcode ☃", now=line.now)
    line.command("AT+CMGF=1")
    assert line.lines('AT+CMGL="ALL"') == [
        f'+CMGL: 1,"REC UNREAD","{SENDER}",,"24/05/01,12:00:00+00"',
        "hello",
        f'+CMGL: 2,"REC UNREAD","{SENDER}",,"24/05/01,12:00:00+00"',
        "ünïcode ☃".encode("utf-16-be").hex().upper(),
        "OK",
    ]
    assert line.lines("AT+CMGR=1")[0] == f'+CMGR: "REC READ","{SENDER}",,"24/05/01,12:00:00+00"'
    assert line.lines("AT+CMGL=4") == ["+CMS ERROR: 305"]


def test_it_routes_directly_in_text_mode() -> None:
    line = make()
    line.command("AT+CMGF=1;+CNMI=2,2,0,0,0")
    line.modem.inject(SENDER, "direct", now=line.now)
    assert lines_of(line.wait(0)) == [f'+CMT: "{SENDER}",,"24/05/01,12:00:00+00"', "direct"]


def test_it_writes_to_storage_and_sends_from_it() -> None:
    line = make()
    pdu = encode_submit(RECIPIENT, "stored")[0]
    assert line.command(f"AT+CMGW={pdu.tpdu_length}") == b"\r\n> "
    assert lines_of(line.send(pdu.hex + "\x1a")) == ["+CMGW: 1", "OK"]
    assert line.lines("AT+CMGR=1")[0] == f"+CMGR: 2,,{pdu.tpdu_length}"
    assert line.lines("AT+CMSS=1") == ["+CMSS: 0", "OK"]
    assert line.lines("AT+CMGR=1")[0] == f"+CMGR: 3,,{pdu.tpdu_length}"
    assert line.modem.outbox[0].text == "stored"
    assert line.lines("AT+CMSS=2") == ["+CMS ERROR: 321"]


def test_it_expects_acknowledgements_only_with_csms_1() -> None:
    line = make()
    assert line.lines("AT+CNMA") == ["+CMS ERROR: 340"]
    assert line.lines("AT+CSMS=1") == ["+CSMS: 1,1,1", "OK"]
    line.command("AT+CNMI=2,2,0,0,0")
    line.modem.inject(SENDER, "ack me", now=line.now)
    line.wait(0)
    assert line.lines("AT+CNMA") == ["OK"]
    assert line.lines("AT+CNMA") == ["+CMS ERROR: 340"]


# -- memories and indications settings ---------------------------------------------------


def test_it_answers_cpms_as_ts_27_005_says() -> None:
    line = make()
    assert line.lines("AT+CPMS=?") == ['+CPMS: ("SM","ME","SR"),("SM","ME"),("SM","ME")', "OK"]
    assert line.lines('AT+CPMS="ME"') == ["+CPMS: 0,20,0,20,0,20", "OK"]
    assert line.lines("AT+CPMS?") == ['+CPMS: "ME",0,20,"SM",0,20,"SM",0,20', "OK"]
    assert line.lines('AT+CPMS="SM","ME","ME"') == ["+CPMS: 0,20,0,20,0,20", "OK"]
    assert line.lines('AT+CPMS="XX"') == ["+CMS ERROR: 302"]
    assert line.lines('AT+CPMS="SM","SR"') == ["+CMS ERROR: 302"]


def test_it_receives_into_the_memory_cpms_names() -> None:
    line = make()
    line.command('AT+CPMS="ME","ME","ME";+CNMI=2,1,0,0,0')
    line.modem.inject(SENDER, "into ME", now=line.now)
    assert lines_of(line.wait(0)) == ['+CMTI: "ME",1']
    assert stored(line, "ME")[0]["text"] == "into ME"


def test_it_answers_cnmi_queries_and_refuses_what_it_cannot_do() -> None:
    line = make()
    assert line.lines("AT+CNMI=?") == ["+CNMI: (0-3),(0-3),(0,2),(0-2),(0,1)", "OK"]
    assert line.lines("AT+CNMI?") == ["+CNMI: 0,0,0,0,0", "OK"]
    assert line.lines("AT+CNMI=2,1") == ["OK"]
    assert line.lines("AT+CNMI?") == ["+CNMI: 2,1,0,0,0", "OK"]
    assert line.lines("AT+CNMI=4") == ["+CMS ERROR: 303"]
    assert line.lines("AT+CNMI=2,1,1") == ["+CMS ERROR: 303"]


# -- status reports ---------------------------------------------------------------------


def test_it_reports_delivery_by_itself_after_a_delay() -> None:
    line = make(auto_report_delay=0.2)
    line.command("AT+CNMI=2,1,0,1,0")
    submit(line, request_status_report=True)
    assert line.modem.next_deadline() == pytest.approx(0.2)
    assert line.wait(0.1) == b""
    head, pdu = lines_of(line.wait(0.1))
    assert head == f"+CDS: {tpdu_length(pdu)}"
    report = decode(pdu)
    assert isinstance(report, StatusReport)
    assert (report.reference, report.recipient.value, report.status) == (0, RECIPIENT, 0)


def test_it_sends_no_report_for_a_part_that_did_not_ask() -> None:
    line = make()
    line.command("AT+CNMI=2,1,0,1,0")
    submit(line)
    assert line.modem.next_deadline() is None
    with pytest.raises(ValueError, match="did not request"):
        line.modem.report(0, "delivered")
    with pytest.raises(KeyError):
        line.modem.report(9, "delivered")


def test_it_stores_reports_with_ds_2() -> None:
    line = make(auto_report=None)
    line.command("AT+CNMI=2,1,0,2,0")
    submit(line, request_status_report=True)
    line.modem.report(0, "failed", now=line.now)
    line.modem.report(0, 0x30, now=line.now)
    assert lines_of(line.wait(0)) == ['+CDSI: "SR",1', '+CDSI: "SR",2']
    line.command('AT+CPMS="SR"')
    listed = line.lines("AT+CMGL=4")
    reports = [decode(pdu) for pdu in listed[1:-1:2]]
    assert [r.status for r in reports if isinstance(r, StatusReport)] == [0x41, 0x30]


def test_it_sends_pending_then_final_reports(line: Line) -> None:
    line = make(auto_report=None)
    line.command("AT+CNMI=2,1,0,1,0;+CMGF=1")
    line.command(f'AT+CSMP=49,167,0,0;+CMGS="{RECIPIENT}"')
    line.send("hi\x1a")
    line.modem.report(0, "pending", now=line.now)
    line.modem.report(0, "delivered", now=line.now)
    assert lines_of(line.wait(0)) == [
        f'+CDS: 6,0,"{RECIPIENT}",145,"24/05/01,12:00:00+00","24/05/01,12:00:00+00",32',
        f'+CDS: 6,0,"{RECIPIENT}",145,"24/05/01,12:00:00+00","24/05/01,12:00:00+00",0',
    ]


def test_it_drops_reports_with_ds_0() -> None:
    line = make(auto_report_delay=0.0)
    submit(line, request_status_report=True)
    assert line.wait(1) == b""
    assert stored(line, "SR") == []

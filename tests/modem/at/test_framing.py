from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.at.framing import Final, Info, Item, Prompt, Splitter, Unsolicited
from tests.interop import load_param

CHUNKINGS = ["whole", "halves", "bytes"]


def feed(
    data: bytes, chunking: str, command: str | None = None, prompt: bool = False
) -> list[Item]:
    splitter = Splitter()
    splitter.expect(command, prompt=prompt)
    if chunking == "whole":
        chunks = [data]
    elif chunking == "halves":
        chunks = [data[: len(data) // 2], data[len(data) // 2 :]]
    else:
        chunks = [data[i : i + 1] for i in range(len(data))]
    items: list[Item] = []
    for chunk in chunks:
        items += splitter.feed(chunk)
    return items


def every_split(data: bytes, command: str | None = None, prompt: bool = False) -> list[list[Item]]:
    """The items for the data split in two at every position: all must agree."""
    results = []
    for cut in range(len(data) + 1):
        splitter = Splitter()
        splitter.expect(command, prompt=prompt)
        results.append(splitter.feed(data[:cut]) + splitter.feed(data[cut:]))
    return results


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_it_splits_a_response_into_info_and_final(chunking: str) -> None:
    data = b"\r\n+CSQ: 17,99\r\n\r\nOK\r\n"
    assert feed(data, chunking, "AT+CSQ") == [Info("+CSQ: 17,99"), Final("OK")]


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_it_drops_the_echo_of_the_command(chunking: str) -> None:
    data = b"AT+CGMI\r\r\nhuawei\r\n\r\nOK\r\n"
    assert feed(data, chunking, "AT+CGMI") == [Info("huawei"), Final("OK")]


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_it_drops_the_echo_of_a_basic_command(chunking: str) -> None:
    assert feed(b"ATE0\r\r\nOK\r\n", chunking, "ATE0") == [Final("OK")]


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_it_hands_out_urcs_interleaved_in_a_response(chunking: str) -> None:
    data = (
        b'\r\n+CMGL: 1,0,,23\r\n\r\n+CMTI: "SM",4\r\n0791\r\n^RSSI:12\r\n'
        b"+CMGL: 2,1,,23\r\n0792\r\n\r\nRING\r\n\r\nOK\r\n"
    )
    items = feed(data, chunking, "AT+CMGL=4")
    assert items == [
        Info("+CMGL: 1,0,,23"),
        Unsolicited("+CMTI", '+CMTI: "SM",4'),
        Info("0791"),
        Unsolicited("^RSSI", "^RSSI:12"),
        Info("+CMGL: 2,1,,23"),
        Info("0792"),
        Unsolicited("RING", "RING"),
        Final("OK"),
    ]


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_it_recognises_the_prompt_without_a_line_end(chunking: str) -> None:
    data = b"AT+CMGS=23\r\r\n> "
    assert feed(data, chunking, "AT+CMGS=23", prompt=True) == [Prompt()]


def test_it_finds_the_prompt_and_answer_at_every_split_point() -> None:
    data = b'AT+CMGS=23\r\r\n+CMTI: "SM",1\r\n> 0011000B\x1a\r\n+CMGS: 7\r\n\r\nOK\r\n'
    splitter_items = every_split(data, "AT+CMGS=23", prompt=True)
    for items in splitter_items:
        items = [i for i in items if not isinstance(i, Unsolicited)] + [
            i for i in items if isinstance(i, Unsolicited)
        ]
        assert Prompt() in items
        assert Final("OK") in items
        assert Unsolicited("+CMTI", '+CMTI: "SM",1') in items


def test_it_does_not_take_a_greater_than_sign_for_a_prompt_unless_one_is_expected() -> None:
    assert feed(b"\r\n>\r\nOK\r\n", "whole", "AT") == [Info(">"), Final("OK")]


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_it_joins_cmt_with_its_pdu_line(chunking: str) -> None:
    data = (
        b"\r\n+CMT: ,24\r\n"
        b"07911326040000F0040B911346610089F60000208062917314080CC8F71D14969741F977FD07\r\n"
    )
    items = feed(data, chunking)
    assert len(items) == 1
    assert items[0].name == "+CMT"
    assert items[0].body.startswith("0791")


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_it_joins_cds_in_pdu_mode_but_not_in_text_mode(chunking: str) -> None:
    pdu_mode = feed(
        b"\r\n+CDS: 25\r\n0006D60B911326880736F4111011719551401110117195714000\r\n", chunking
    )
    assert [(i.name, bool(i.body)) for i in pdu_mode] == [("+CDS", True)]
    text_mode = feed(b'\r\n+CDS: 6,214,"+31628870634",145,"11/01/17",0\r\n', chunking)
    assert [(i.name, i.body) for i in text_mode] == [("+CDS", None)]


def test_it_treats_a_prefixed_line_as_the_answer_when_its_command_is_pending() -> None:
    assert feed(b"\r\n+CREG: 0,1\r\n\r\nOK\r\n", "whole", "AT+CREG?") == [
        Info("+CREG: 0,1"),
        Final("OK"),
    ]
    assert feed(b"\r\n+CREG: 1\r\n", "whole", "AT+CSQ") == [Unsolicited("+CREG", "+CREG: 1")]
    assert feed(b"\r\n+CREG: 1\r\n", "whole") == [Unsolicited("+CREG", "+CREG: 1")]


@pytest.mark.parametrize(
    "final",
    [
        "OK",
        "ERROR",
        "+CMS ERROR: 500",
        "+CME ERROR: 10",
        "+CME ERROR: SIM not inserted",
        "COMMAND NOT SUPPORT",
    ],
)
def test_it_recognises_every_final_result(final: str) -> None:
    assert feed(f"\r\n{final}\r\n".encode(), "bytes", "AT+CMGS=12") == [Final(final)]


@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_it_survives_non_utf8_bytes_and_line_noise(chunking: str) -> None:
    data = b"\xff\xfe\x00\r\n\x80\x81+CSQ: 5,99\r\n\xc3\r\n\r\nOK\r\n"
    items = feed(data, chunking, "AT+CSQ")
    assert Info("+CSQ: 5,99") in items
    assert items[-1] == Final("OK")


def test_it_drops_an_endless_line_instead_of_growing() -> None:
    splitter = Splitter()
    splitter.expect("AT")
    assert splitter.feed(b"A" * 100_000) == []
    assert splitter.feed(b"\r\nOK\r\n") == [Final("OK")]


def test_it_strips_the_ctrl_z_of_an_echoed_pdu() -> None:
    splitter = Splitter()
    splitter.expect("AT+CMGS=10", prompt=True)
    assert splitter.feed(b"\r\n> ") == [Prompt()]
    splitter.expect_echo("0011000A")
    assert splitter.feed(b"0011000A\x1a\r\n+CMGS: 3\r\n\r\nOK\r\n") == [
        Info("+CMGS: 3"),
        Final("OK"),
    ]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=17))
def test_it_never_raises_on_garbage_and_still_finds_ok_after_it(garbage: bytes, step: int) -> None:
    splitter = Splitter()
    splitter.expect("AT")
    data = garbage + b"\r\nOK\r\n"
    items: list[Item] = []
    for i in range(0, len(data), step):
        items += splitter.feed(data[i : i + step])
    assert any(isinstance(i, Final) for i in items)


CAPTURES = [
    c
    for c in load_param("gammu-at-captures.json", "captures")
    if c["lines"] and c["lines"][0].upper().startswith("AT")
]


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda c: c["file"])
@pytest.mark.parametrize("chunking", CHUNKINGS)
def test_it_splits_real_device_captures(capture: dict, chunking: str) -> None:
    command, *answer = capture["lines"]
    data = (command + "\r" + "".join(f"\r\n{line}" for line in answer) + "\r\n").encode()
    items = feed(data, chunking, command)
    assert items[-1] == Final("OK")
    expected = [line.strip() for line in answer if line.strip() and line.strip() != "OK"]
    assert [i.text for i in items[:-1]] == expected


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda c: c["file"])
def test_it_splits_real_captures_with_urcs_interleaved(capture: dict) -> None:
    command, *answer = capture["lines"]
    urc = '+CMTI: "SM",9'
    answer_lines = "".join(f"\r\n{line}\r\n\r\n{urc}" for line in answer)
    data = (command + "\r" + answer_lines + "\r\n").encode()
    for items in every_split(data, command):
        assert items.count(Unsolicited("+CMTI", urc)) == len(answer)
        rest = [i for i in items if not isinstance(i, Unsolicited)]
        assert rest[-1] == Final("OK")
        expected = [line.strip() for line in answer if line.strip() and line.strip() != "OK"]
        assert [i.text for i in rest[:-1]] == expected

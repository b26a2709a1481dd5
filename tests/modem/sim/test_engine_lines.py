"""Line handling of the engine: echo, terminators, framing, chunking, errors, garbage."""

from __future__ import annotations

from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.sim import SimModem
from tests.modem.sim.support import FIXED_TIME, Line, lines_of


def fresh() -> Line:
    return Line(SimModem(wall_clock=lambda: FIXED_TIME))


def test_it_echoes_the_command_and_frames_the_answer() -> None:
    assert fresh().command("AT") == b"AT\r\r\nOK\r\n"


def test_it_powers_up_with_echo_on_and_stops_echoing_after_ate0() -> None:
    line = fresh()
    assert line.command("ATE0") == b"ATE0\r\r\nOK\r\n"
    assert line.command("AT") == b"\r\nOK\r\n"
    assert line.command("ATE1") == b"\r\nOK\r\n"
    assert line.command("AT") == b"AT\r\r\nOK\r\n"


@pytest.mark.parametrize("ending", [b"\r", b"\r\n", b"\n"])
def test_it_accepts_cr_crlf_and_a_lone_lf(ending: bytes) -> None:
    line = fresh()
    line.command("ATE0")
    assert line.send(b"AT" + ending + b"AT" + ending) == b"\r\nOK\r\n\r\nOK\r\n"


def test_it_echoes_raw_input_including_the_line_end() -> None:
    assert fresh().send(b"at\r\n") == b"at\r\n\r\nOK\r\n"


def test_it_gives_the_same_answer_whatever_the_chunking() -> None:
    # CR only: the echo of an LF that follows a CR comes before or after the answer
    # depending on whether it arrived in time (see the next test).
    script = b"ATE1\rAT+CGMI;+CPMS?\rat+cmgf=1\rAT+CMGF?\rAT+NOPE\r\r"
    whole = fresh().send(script)
    bytewise = fresh()
    assert b"".join(bytewise.send(script[i : i + 1]) for i in range(len(script))) == whole
    halves = fresh()
    assert halves.send(script[:11]) + halves.send(script[11:]) == whole


def test_it_echoes_a_late_lf_after_the_answer() -> None:
    line = fresh()
    assert line.send(b"AT\r") == b"AT\r\r\nOK\r\n"
    assert line.send(b"\n") == b"\n"


def test_it_ignores_empty_lines_and_text_before_the_prefix(line: Line) -> None:
    assert line.send(b"\r\r\n\n") == b""
    assert line.send(b"hello\r") == b""
    assert line.send(b"xxAT\r") == b"\r\nOK\r\n"


def test_it_answers_several_commands_on_one_line_in_order(line: Line) -> None:
    assert line.lines("AT+CGMI;+CGMM;E0V1") == ["SIMCOM", "SMSGW-EMU", "OK"]


def test_it_answers_error_to_unknown_commands_whatever_cmee_says(line: Line) -> None:
    assert line.lines("AT+NOPE") == ["ERROR"]
    line.command("AT+CMEE=2")
    assert line.lines("AT+NOPE") == ["ERROR"]
    assert line.lines("AT+CGMI;+NOPE") == ["SIMCOM", "ERROR"]


@pytest.mark.parametrize(
    ("cmee", "cme", "cms"),
    [
        (0, "ERROR", "ERROR"),
        (1, "+CME ERROR: 3", "+CMS ERROR: 321"),
        (2, "+CME ERROR: operation not allowed", "+CMS ERROR: invalid memory index"),
    ],
)
def test_it_reports_errors_as_cmee_asks(line: Line, cmee: int, cme: str, cms: str) -> None:
    assert line.lines(f"AT+CMEE={cmee}") == ["OK"]
    assert line.lines("AT+CMEE?") == [f"+CMEE: {cmee}", "OK"]
    assert line.lines('AT+CPIN="1234"') == [cme]  # no PIN is asked for
    assert line.lines("AT+CMGR=1") == [cms]


def test_it_answers_with_numeric_codes_after_atv0(line: Line) -> None:
    assert line.command("ATV0") == b"0\r"
    assert line.command("AT+CGMI") == b"SIMCOM\r\n0\r"
    assert line.command("AT+NOPE") == b"4\r"
    assert line.command("ATV1") == b"\r\nOK\r\n"


def test_it_leaves_out_final_results_after_atq1(line: Line) -> None:
    assert line.command("ATQ1") == b""
    assert line.command("AT+CGMI") == b"\r\nSIMCOM\r\n"


def test_it_repeats_the_last_line_on_a_slash(line: Line) -> None:
    line.command("AT+CGMM")
    assert line.send(b"A/") == b"\r\nSMSGW-EMU\r\n\r\nOK\r\n"


def test_it_honours_backspace(line: Line) -> None:
    assert line.send(b"AT+CGMX\x08I\r") == b"\r\nSIMCOM\r\n\r\nOK\r\n"


def test_it_refuses_an_overlong_line_and_recovers(line: Line) -> None:
    assert line.lines("AT" + "E" * 5000) == ["ERROR"]
    assert line.lines("AT") == ["OK"]


def test_it_resets_settings_on_atz(line: Line) -> None:
    line.command("AT+CMEE=1;+CMGF=1;+CNMI=2,1")
    assert line.lines("ATZ") == ["OK"]
    assert line.lines("AT+CMEE?;+CMGF?;+CNMI?") == [
        "AT+CMEE?;+CMGF?;+CNMI?\r",  # echo is back on
        "+CMEE: 0",
        "+CMGF: 0",
        "+CNMI: 0,0,0,0,0",
        "OK",
    ]


def test_it_reads_and_sets_s_registers(line: Line) -> None:
    assert line.lines("ATS3?") == ["013", "OK"]
    assert line.lines("ATS0=2") == ["OK"]
    assert line.lines("ATS0?") == ["002", "OK"]
    assert line.lines("ATS99?") == ["ERROR"]


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400))
def test_it_survives_any_garbage_and_still_answers_at(garbage: bytes) -> None:
    line = fresh()
    line.send(garbage)
    line.wait(1000)  # whatever the garbage started has finished
    # ESC leaves a "> " prompt the garbage may have opened; CR ends a half-typed line.
    out = line.send(b"\x1b\rATZ\rAT\r")
    assert out.endswith(b"\r\nOK\r\n")


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                b"AT",
                b"+",
                b"CMGS",
                b"=",
                b"\r",
                b"\n",
                b"\x1a",
                b"\x1b",
                b'"',
                b"1",
                b",",
                b"?",
                b";",
                b"00",
                b"CMGL",
                b"E0",
                b"V0",
            ]
        ),
        max_size=60,
    )
)
def test_it_survives_near_miss_commands(pieces: list[bytes]) -> None:
    line = fresh()
    line.send(b"".join(pieces))
    line.wait(1000)
    assert line.send(b"\x1b\rATZ\rAT\r").endswith(b"\r\nOK\r\n")
    assert lines_of(line.command("AT+CGMI"))[-1] == "OK"


@pytest.mark.parametrize(
    ("style", "answers"),
    [
        ("error", ["ERROR", "ERROR"]),
        ("cme", ["ERROR", "+CME ERROR: 4"]),
        ("huawei", ["COMMAND NOT SUPPORT", "COMMAND NOT SUPPORT"]),  # Huawei E1752
    ],
)
def test_it_refuses_unknown_commands_in_the_style_asked_for(
    style: Literal["error", "cme", "huawei"], answers: list[str]
) -> None:
    line = Line(SimModem(unknown_command=style))
    line.command("ATE0")
    assert [line.lines("AT^CURC=0")[0], line.lines("AT+CMEE=1;^CURC=0")[0]] == answers

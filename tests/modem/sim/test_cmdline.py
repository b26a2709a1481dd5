from __future__ import annotations

import pytest

from modem.sim.cmdline import Arg, Command, CommandSyntaxError, parse_line


def test_it_splits_basic_commands_that_run_together() -> None:
    assert parse_line("E0V1") == [Command("E", value=0), Command("V", value=1)]


def test_it_reads_extended_commands_of_every_kind() -> None:
    assert parse_line('+CMGF=0;+CNMI?;+CPMS=?;+CGMI;+CPMS="SM",,ME') == [
        Command("+CMGF", "set", (Arg("0"),)),
        Command("+CNMI", "read"),
        Command("+CPMS", "test"),
        Command("+CGMI"),
        Command("+CPMS", "set", (Arg("SM", quoted=True), None, Arg("ME"))),
    ]


def test_it_is_case_insensitive_and_ignores_spaces_outside_quotes() -> None:
    assert parse_line(' +cmgs = "+44 77", 145') == [
        Command("+CMGS", "set", (Arg("+44 77", quoted=True), Arg("145")))
    ]


def test_it_keeps_quoted_text_as_given() -> None:
    assert parse_line('+CPIN="abC;d"') == [Command("+CPIN", "set", (Arg("abC;d", quoted=True),))]


def test_it_reads_s_registers_and_ampersand_commands() -> None:
    assert parse_line("S0=2S3?&F0&W") == [
        Command("S0", "set", value=2),
        Command("S3", "read"),
        Command("&F", value=0),
        Command("&W"),
    ]


@pytest.mark.parametrize(
    "body",
    ['+CPIN="1234', "+", "+CMGF?X", "&", "S", "S7", "?", '+X="a"b', '+X=a"b"'],
)
def test_it_rejects_broken_syntax(body: str) -> None:
    with pytest.raises(CommandSyntaxError):
        parse_line(body)


def test_it_accepts_an_empty_line() -> None:
    assert parse_line("") == []

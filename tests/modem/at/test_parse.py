from __future__ import annotations

import pytest

from modem.at.parse import (
    parse_creg,
    parse_csca,
    parse_csq,
    parse_listing,
    parse_ranges,
    parse_storages,
    split_params,
)
from modem.errors import ProtocolError
from tests.interop import load_param

CAPTURES = {c["file"]: c for c in load_param("gammu-at-captures.json", "captures")}


def answer(file: str) -> str:
    capture = CAPTURES.get(file)
    if capture is None:
        pytest.skip("shared interop data not present")
    line = next(ln for ln in capture["lines"][1:] if ":" in ln)
    return line.split(":", 1)[1]


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("tests/at-cpms/alcatel-s320.dump", {"SM", "ME", "SM_P", "ME_P", "MT"}),
        ("tests/at-cpms/brovi-e3372-325.dump", {"SM", "ME"}),
        ("tests/at-cpms/generic.dump", {"SM", "ME"}),
        ("tests/at-cpms-sm/iwow.dump", {"SM"}),
        ("tests/at-cpms-sr/generic.dump", {"ME", "SR"}),
    ],
)
def test_it_reads_the_storages_real_modems_offer(file: str, expected: set[str]) -> None:
    assert parse_storages(answer(file))[0] == expected


def test_it_reads_an_empty_storage_answer_as_nothing_offered() -> None:
    assert parse_storages("") == []


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("tests/at-cnmi/01.dump", [{2}, {0, 1, 3}, {0, 2}, {0, 1}, {0}]),
        ("tests/at-cnmi/02.dump", [{0, 1, 2}, {0, 1, 3}, {0}, {0, 1}, {0, 1}]),
        ("tests/at-cnmi/03.dump", [{0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1, 2, 3}, {0, 1}, {0, 1}]),
    ],
)
def test_it_reads_cnmi_ranges(file: str, expected: list[set[int]]) -> None:
    assert parse_ranges(answer(file)) == expected


@pytest.mark.parametrize(
    ("file", "status", "lac"),
    [
        ("tests/at-creg/huawei.dump", "home", "4CA"),
        ("tests/at-creg/none.dump", "not_registered", None),
        ("tests/at-creg/siemens.dump", "home", "5E25"),
        ("tests/at-creg/sierra312u.dump", "roaming", "2AF5"),
        ("tests/at-creg-corner/empty-lac.dump", "home", None),
        ("tests/at-creg-corner/single-quote.dump", "home", "5E25"),
    ],
)
def test_it_reads_registration(file: str, status: str, lac: str | None) -> None:
    registration = parse_creg(answer(file))
    assert (registration.status, registration.lac) == (status, lac)


def test_it_rejects_registration_with_mismatched_quotes() -> None:
    with pytest.raises(ProtocolError):
        parse_creg(answer("tests/at-creg-corner/mismatched-quotes.dump"))


@pytest.mark.parametrize(
    ("file", "number"),
    [
        ("tests/at-smsc/01.dump", "+97254120032"),
        ("tests/at-smsc/02.dump", "+79168999100"),
        ("tests/at-smsc/03.dump", "6281100000"),
        ("tests/at-smsc/05.dump", "+447802092035"),
    ],
)
def test_it_reads_the_smsc_even_in_ucs2_hex(file: str, number: str) -> None:
    assert parse_csca(answer(file)) == number


def test_it_rejects_an_empty_smsc() -> None:
    with pytest.raises(ProtocolError):
        parse_csca(answer("tests/at-smsc-failing/04.dump"))


@pytest.mark.parametrize(
    ("value", "rssi", "dbm"),
    [("17,99", 17, -79), ("0,0", 0, -113), ("31,7", 31, -51), ("99,99", None, None)],
)
def test_it_turns_csq_into_dbm(value: str, rssi: int | None, dbm: int | None) -> None:
    signal = parse_csq(value)
    assert (signal.rssi, signal.dbm) == (rssi, dbm)


@pytest.mark.parametrize("value", ["", "x,y", "17"])
def test_it_rejects_a_malformed_csq(value: str) -> None:
    with pytest.raises(ProtocolError):
        parse_csq(value)


def test_it_pairs_listing_headers_with_their_pdus_and_skips_noise() -> None:
    lines = ["+CMGL: 1,0,,3", "^RSSI garbage", "0011AA", "+CMGL: 2,1,,4", "0011BBCC", "stray"]
    listed = parse_listing(lines)
    assert [(m.index, m.stat, m.length, m.pdu) for m in listed] == [
        (1, 0, 3, "0011AA"),
        (2, 1, 4, "0011BBCC"),
    ]


def test_it_reads_cmgr_with_an_empty_stat() -> None:
    listed = parse_listing(["+CMGR: ,,92", "0011AA"], "+CMGR")
    assert [(m.stat, m.length) for m in listed] == [(1, 92)]


def test_it_splits_quoted_params_holding_commas() -> None:
    assert split_params('1,"a,b",,3') == ["1", "a,b", "", "3"]

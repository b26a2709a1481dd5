"""Inbound keywords: what people really send, the invisible characters included."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.keywords import (
    DEFAULT_HELP,
    DEFAULT_OPT_IN,
    DEFAULT_OPT_OUT,
    Keywords,
    classify,
    looks_like_revocation,
    normalise,
    review_deadline,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", "stop"),
        ("  Stop.  ", "stop"),
        ("Ｓｔｏｐ", "stop"),  # full-width letters
        ("S\u200bT\u200cO\u200dP\u2060", "stop"),  # zero-width space, non-joiners, word joiner
        ("\ufeffSTOP\u00ad", "stop"),  # byte-order mark, soft hyphen
        ("\u202eSTOP\u202c\u2066\u2069", "stop"),  # bidi controls
        ("\u3164STOP\uffa0\u115f\u1160", "stop"),  # Hangul fillers
        ("ST\u034fOP\ufe0f\U000e0041", "stop"),  # grapheme joiner, variation selector, tag
        ("STOP\x07", "stop"),  # a stray control character
        ("opt\u00a0\u3000\u2003 \n\tout", "opt out"),  # every kind of space, collapsed
        ("**STOP!!!**", "stop"),
        ("🛑 stop 🛑", "stop"),
        ("«Stop»", "stop"),
        ("¡ＳＴＯＰ！", "stop"),
        ("don't stop", "don't stop"),  # inner punctuation stays
        ("STRASSE", "strasse"),
        ("Straße", "strasse"),  # casefold, not lower
        ("!!!", ""),
        ("", ""),
    ],
)
def test_it_normalises_text_for_matching(text: str, expected: str) -> None:
    assert normalise(text) == expected


def test_it_refuses_to_normalise_what_is_not_text() -> None:
    with pytest.raises(TypeError):
        normalise(b"STOP")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "STOP", "stop", "Stop.", "stop.", " Ｓｔｏｐ ", "S\u200bTOP", "STOP!!!", "**STOP**",
        "'stop'", "STOP 😡", "Stop\n", "STOPALL", "Unsubscribe", "cancel", "END",
        "quit", "Revoke", "OPTOUT", "opt out", "OPT-OUT", "opt_out", "Opt – out", "opt  out",
        "ＯＰＴ－ＯＵＴ", "\ufeffstop\u200d",
    ],
)  # fmt: skip
def test_it_recognises_opt_out_keywords(text: str) -> None:
    assert classify(text) == "opt_out"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("START", "opt_in"),
        ("yes", "opt_in"),
        ("Yes!", "opt_in"),
        ("unstop", "opt_in"),
        ("HELP", "help"),
        ("help?", "help"),
        ("Info", "help"),
        ("ＨＥＬＰ", "help"),
    ],
)
def test_it_recognises_opt_in_and_help_keywords(text: str, kind: str) -> None:
    assert classify(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "stop texting me", "STOPPED", "don't stop", "STOP STOP", "stop please", "unstoppable",
        "S T O P", "S.T.O.P", "stops", "optout please", "opt", "yes please", "help me",
        "can you stop by at 3?", "", "   ", "🛑", "information",
    ],
)  # fmt: skip
def test_it_matches_only_the_whole_message(text: str) -> None:
    assert classify(text) is None


def test_it_uses_configured_lists() -> None:
    keywords = Keywords.from_config(opt_out=["ARRÊT", "Stop"], help=["AIDE"])
    assert classify("arrêt", keywords) == "opt_out"
    assert classify("ARRÊT.", keywords) == "opt_out"
    assert classify("aide", keywords) == "help"
    assert classify("START", keywords) == "opt_in"  # opt_in left out: the default
    assert classify("UNSUBSCRIBE", keywords) is None  # no longer an opt-out word
    assert classify("HELP", keywords) is None
    assert keywords.opt_out == ("ARRÊT", "Stop")


@pytest.mark.parametrize(
    ("lists", "message"),
    [
        (
            {"opt_out": ["STOP"], "opt_in": ["stop!"]},
            "in both keywords.opt_out and keywords.opt_in",
        ),
        ({"opt_in": ["Opt-Out"]}, "in both keywords.opt_out and keywords.opt_in"),
        ({"help": ["YES"]}, "in both keywords.opt_in and keywords.help"),
        ({"opt_out": ["STOP", ""]}, "has no letters or digits"),
        ({"opt_out": ["STOP", "  ?! "]}, "has no letters or digits"),
        ({"opt_out": ["S" * 33]}, "longer than 32 characters"),
        ({"opt_out": []}, "needs at least one word"),
        ({"opt_out": "STOP"}, "a list of words, not one string"),
        ({"help": ["HELP", 7]}, "every keyword must be text"),
    ],
)
def test_it_refuses_a_bad_keyword_configuration(lists: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Keywords.from_config(**lists)


def test_it_checks_direct_construction_too() -> None:
    with pytest.raises(ValueError, match="in both"):
        Keywords(opt_in=("STOP",))
    assert Keywords(help=("HELP", "S" * 32)).help[-1] == "S" * 32


def test_it_has_the_industry_defaults() -> None:
    keywords = Keywords()
    assert keywords.opt_out == DEFAULT_OPT_OUT
    assert keywords.opt_in == DEFAULT_OPT_IN
    assert keywords.help == DEFAULT_HELP
    assert "OPT OUT" in DEFAULT_OPT_OUT and "UNSTOP" in DEFAULT_OPT_IN
    assert Keywords() == Keywords.from_config()
    assert hash(Keywords()) == hash(Keywords.from_config())


REVOCATIONS = [
    "please stop texting me",
    "Stop sending me messages",
    "don't text me anymore",
    "do not contact me again",
    "remove me from your list",
    "take me off your list",
    "unsubscribe me",
    "I want to opt out",
    "no more texts",
    "leave me alone",
    "STOP STOP",
    "stop please",
    "cancel my subscription",
    "Please STOP!!!",
    "stop it now",
    "STOP. STOP. STOP.",
    "Who is this? Stop",
    "Ｓｔｏｐ ｔｅｘｔｉｎｇ ｍｅ",
    "s\u200btop texting me",
    "Don’t message me again",
    "Never text this number again",
    "Quit spamming me",
    "Remove my number from your database",
    "please opt me out",
    "Wrong number",
    "I revoke my consent",
    "I no longer consent to texts",
    "I don't want these texts",
    "Stop all messages",
    "End these texts",
    "unsub",
    "STOP TEXTING ME 😡",
    "Can you please stop",
    "stop thank you",
    "stop\nstop",
    "Stop messaging me, wrong person",
    "CANCEL CANCEL",
    "please delete my number",
    "Don't send me any more promotions",
    "I no longer wish to receive messages",
    "stop the reminders for my son please, he moved",
    "stop sending",
    "Please stop sending me this!",
    "Please cancel all future texts",
    "Please don't contact me",
]

ORDINARY = [
    "can you stop by at 3?",
    "the bus stop on Main",
    "I'll stop in tomorrow",
    "please cancel my appointment",
    "unstoppable",
    "don't stop the treatment",
    "STOP",
    "stop.",
    "opt-out",
    "Can I come at 3?",
    "Yes",
    "Help",
    "",
    "I need to cancel my 10:30",
    "We're at the last stop before the clinic",
    "Please don't stop sending me reminders",
    "End of the month works for me",
    "Can we end the session early?",
    "I quit smoking last month!",
    "Text me when the car is ready",
    "Thanks for the message, see you Monday",
    "Please send me the invoice",
    "No more appointments this week, thanks",
    "I don't want the 3pm slot",
    "Stop at the front desk when you arrive",
    "Don't call me before noon, text instead",
    "Who's picking up the kids from the stop?",
    "Please remove me from the 9am appointment",
    "Take me off the waiting list for Thursday",
    "Cancel my 3pm please",
    "Quitting time! See you tomorrow",
    "Send me a message when it's done",
    "Please stop by the office to sign",
    "The printer won't stop beeping",
    "Stop sign on 5th street was knocked down",
    "Remove the old address from my file",
    "Please cancel.",
    "The end",
    "I'll opt for the later slot",
    "Out of office until Monday",
    "Yes please",
    "Stop sending the invoices to my old address",
    "Please end my membership",
    "stop :)",
]


@pytest.mark.parametrize("text", REVOCATIONS)
def test_it_flags_revocations_in_other_words(text: str) -> None:
    assert classify(text) is None
    assert looks_like_revocation(text)


@pytest.mark.parametrize("text", ORDINARY)
def test_it_does_not_flag_ordinary_traffic(text: str) -> None:
    assert not looks_like_revocation(text)


def test_it_flags_configured_words_repeated() -> None:
    keywords = Keywords.from_config(opt_out=["ARRÊT"])
    assert looks_like_revocation("arrêt arrêt", keywords)
    assert not looks_like_revocation("ARRÊT", keywords)  # the keyword itself is acted on
    assert looks_like_revocation("Arrêt, arrêt!", keywords)
    assert looks_like_revocation("arrêt please", keywords)
    # STOP is no longer a keyword there, so a bare "stop stop" is not either; phrases still are.
    assert not looks_like_revocation("stop stop", keywords)
    assert looks_like_revocation("stop texting me", keywords)


@given(st.sampled_from(DEFAULT_OPT_OUT + DEFAULT_OPT_IN + DEFAULT_HELP), st.text(" .!*\u200b"))
def test_it_never_flags_a_bare_keyword_for_review(word: str, decoration: str) -> None:
    text = decoration + word.lower() + decoration
    assert classify(text) is not None
    assert not looks_like_revocation(text)


@given(st.text(max_size=200))
def test_it_copes_with_any_text(text: str) -> None:
    assert classify(text) in (None, "opt_out", "opt_in", "help")
    assert looks_like_revocation(text) in (True, False)
    assert normalise(normalise(text)) == normalise(text)


NEW_YORK = ZoneInfo("America/New_York")


@pytest.mark.parametrize(
    ("received_at", "business_days", "expected"),
    [
        # Monday: ten business days later is the Monday two weeks on.
        (datetime(2026, 6, 1, 9, 0, tzinfo=NEW_YORK), 10, date(2026, 6, 15)),
        # Friday evening: the weekend does not count.
        (datetime(2026, 6, 5, 23, 0, tzinfo=NEW_YORK), 10, date(2026, 6, 19)),
        # Saturday: counting starts on Monday.
        (datetime(2026, 6, 6, 12, 0, tzinfo=NEW_YORK), 10, date(2026, 6, 19)),
        (datetime(2026, 6, 5, 23, 0, tzinfo=NEW_YORK), 1, date(2026, 6, 8)),
        (datetime(2026, 6, 5, 23, 0, tzinfo=NEW_YORK), 0, date(2026, 6, 5)),
    ],
)
def test_it_counts_business_days_for_review(
    received_at: datetime, business_days: int, expected: date
) -> None:
    assert review_deadline(received_at, business_days) == expected


def test_it_skips_holidays() -> None:
    received = datetime(2026, 12, 22, 10, 0, tzinfo=NEW_YORK)  # Tuesday
    holidays = {date(2026, 12, 25), date(2027, 1, 1)}
    assert review_deadline(received) == date(2027, 1, 5)
    assert review_deadline(received, holidays=holidays) == date(2027, 1, 7)
    assert review_deadline(received, holidays=[date(2026, 12, 26)]) == date(2027, 1, 5)  # Sat


def test_it_takes_the_local_date_of_the_receipt() -> None:
    # Thursday 23:30 in New York is already Friday in UTC and in Tokyo: one business day
    # after it is Friday for the New York office, Monday for the other two.
    thursday_night = datetime(2026, 6, 4, 23, 30, tzinfo=NEW_YORK)
    assert review_deadline(thursday_night, 1) == date(2026, 6, 5)
    assert review_deadline(thursday_night.astimezone(UTC), 1) == date(2026, 6, 8)
    assert review_deadline(thursday_night.astimezone(ZoneInfo("Asia/Tokyo")), 1) == date(2026, 6, 8)
    assert review_deadline(thursday_night.astimezone(timezone(timedelta(hours=-9))), 1) == date(
        2026, 6, 5
    )


@pytest.mark.parametrize(
    ("received_at", "kwargs", "message"),
    [
        (datetime(2026, 6, 1, 9, 0), {}, "timezone-aware"),
        (datetime(2026, 6, 1, 9, 0, tzinfo=NEW_YORK), {"business_days": -1}, "0 or more"),
        (
            datetime(2026, 6, 1, 9, 0, tzinfo=NEW_YORK),
            {"holidays": [datetime(2026, 6, 2)]},
            "not datetimes",
        ),
    ],
)
def test_it_refuses_bad_deadline_input(received_at: datetime, kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        review_deadline(received_at, **kwargs)

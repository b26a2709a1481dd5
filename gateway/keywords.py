"""Inbound consent keywords: STOP, START and HELP, matched the way people really type them.

A handset adds what the eye does not see: full-width letters from an East Asian keyboard, a
zero-width space pasted from a web page, an automatic full stop, an emoji. "Ｓｔｏｐ." has to
work like "STOP", so matching runs on a canonical form of the text, never on the raw bytes.

A message that only *reads* like a revocation ("please stop texting me") is not acted on
automatically — "stop" is also an ordinary word ("can you stop by at 3?") — but flagged for
a person, who must handle it by ``review_deadline()``. Pure functions: no I/O, no clock.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal

KeywordKind = Literal["opt_out", "opt_in", "help"]

DEFAULT_OPT_OUT: tuple[str, ...] = (
    "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT",
)  # fmt: skip
DEFAULT_OPT_IN: tuple[str, ...] = ("START", "YES", "UNSTOP")
DEFAULT_HELP: tuple[str, ...] = ("HELP", "INFO")
MAX_KEYWORD_LENGTH = 32

_KINDS: tuple[KeywordKind, ...] = ("opt_out", "opt_in", "help")
# Invisible characters that are not in category Cf: the Hangul fillers (blank "letters"),
# the combining grapheme joiner, variation selectors (U+FE0F follows many emoji) and tags.
_INVISIBLE = frozenset(
    {0x034F, 0x115F, 0x1160, 0x3164, 0xFFA0, *range(0xFE00, 0xFE10), *range(0xE0000, 0xE0080)}
    | set(range(0xE0100, 0xE01F0))
)
_SPACES = re.compile(" {2,}")


def _drop_invisible(text: str) -> str:
    # Control characters other than whitespace (BEL, ESC…) carry no meaning in an SMS either.
    return "".join(
        ch
        for ch in text
        if not (
            ord(ch) in _INVISIBLE
            or unicodedata.category(ch) == "Cf"
            or (unicodedata.category(ch) == "Cc" and not ch.isspace())
        )
    )


def _is_edge(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "PSZ"


def normalise(text: str) -> str:
    """Canonical form for matching: NFKC (full-width letters → ASCII), zero-width and other
    invisible characters removed, every Unicode whitespace a space, casefolded, surrounding
    punctuation, symbols and spaces (categories P*, S*, Z*) stripped, inner spaces collapsed.
    """
    if not isinstance(text, str):
        raise TypeError("normalise() takes the text of a message")
    # Invisible characters go before NFKC (so they cannot block composition) and after it
    # (NFKC turns U+3164 HANGUL FILLER into U+1160, also a filler).
    text = _drop_invisible(unicodedata.normalize("NFKC", _drop_invisible(text)))
    text = "".join(" " if ch.isspace() or unicodedata.category(ch)[0] == "Z" else ch for ch in text)
    text = unicodedata.normalize("NFKC", text.casefold())
    start, end = 0, len(text)
    while start < end and _is_edge(text[start]):
        start += 1
    while end > start and _is_edge(text[end - 1]):
        end -= 1
    return _SPACES.sub(" ", text[start:end])


def _match_form(text: str) -> str:
    """normalise(), then dashes and underscores inside as spaces: OPT-OUT, opt_out = OPT OUT."""
    text = "".join(
        " " if unicodedata.category(ch) in ("Pd", "Pc") else ch for ch in normalise(text)
    )
    return _SPACES.sub(" ", text).strip()


def _checked(kind: str, words: Iterable[str]) -> tuple[str, ...]:
    if isinstance(words, str):
        raise ValueError(f"keywords.{kind} must be a list of words, not one string")
    checked = tuple(words)
    for word in checked:
        if not isinstance(word, str):
            raise ValueError(f"keywords.{kind}: every keyword must be text, got {word!r}")
        form = _match_form(word)
        if not form:
            raise ValueError(f"keywords.{kind}: {word!r} has no letters or digits to match")
        if len(form) > MAX_KEYWORD_LENGTH:
            raise ValueError(
                f"keywords.{kind}: {word!r} is longer than {MAX_KEYWORD_LENGTH} characters"
            )
    return checked


@dataclass(frozen=True)
class Keywords:
    """The keyword lists in force. Checked on construction, so a bad config stops start-up."""

    opt_out: tuple[str, ...] = DEFAULT_OPT_OUT
    opt_in: tuple[str, ...] = DEFAULT_OPT_IN
    help: tuple[str, ...] = DEFAULT_HELP
    _lookup: dict[str, KeywordKind] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        lookup: dict[str, KeywordKind] = {}
        for kind in _KINDS:
            words = _checked(kind, getattr(self, kind))
            object.__setattr__(self, kind, words)
            for word in words:
                form = _match_form(word)
                if lookup.setdefault(form, kind) != kind:
                    raise ValueError(
                        f"keyword {word!r} is in both keywords.{lookup[form]} and "
                        f"keywords.{kind}: a message must mean one thing"
                    )
        if not self.opt_out:
            # Carriers and regulators require that a recipient can always opt out by keyword.
            raise ValueError("keywords.opt_out needs at least one word, such as STOP")
        object.__setattr__(self, "_lookup", lookup)

    @classmethod
    def from_config(
        cls,
        *,
        opt_out: Iterable[str] | None = None,
        opt_in: Iterable[str] | None = None,
        help: Iterable[str] | None = None,
    ) -> Keywords:
        """Lists as configured; a list left out (None) keeps the industry default."""
        return cls(
            opt_out=DEFAULT_OPT_OUT if opt_out is None else _checked("opt_out", opt_out),
            opt_in=DEFAULT_OPT_IN if opt_in is None else _checked("opt_in", opt_in),
            help=DEFAULT_HELP if help is None else _checked("help", help),
        )

    def kind_of(self, text: str) -> KeywordKind | None:
        return self._lookup.get(_match_form(text))


DEFAULT_KEYWORDS = Keywords()


def classify(text: str, keywords: Keywords = DEFAULT_KEYWORDS) -> KeywordKind | None:
    """The keyword the WHOLE message is, after normalise(); None otherwise.

    "STOP", "stop.", " Ｓｔｏｐ ", "S<U+200B>TOP", "STOP!!!", "**STOP**" and "opt-out" match;
    "stop texting me", "STOPPED" and "don't stop" do not (see looks_like_revocation).
    """
    return keywords.kind_of(text)


# --- revocations in other words -------------------------------------------------------------
# Each pattern runs on _words(): normalised, apostrophes unified, anything but letters, digits
# and apostrophes turned into single spaces ("Don’t text me!!" -> "don't text me").
_NEG = r"(?<!don't )(?<!dont )(?<!do not )(?<!never )(?<!not )"  # "don't stop the texts"
_CONTACTING = (
    r"(?:texting|txting|messaging|msging|contacting|spamming|bothering|harassing|pestering|"
    r"emailing)"
)
_MESSAGES = (
    r"(?:texts|txts|sms|smss|messages|msgs|marketing|promotions|promos|ads|adverts|"
    r"advertisements|offers|spam|alerts|notifications|reminders|subscriptions?|newsletters?)"
)
_FILL = (
    r"(?:(?:all|the|these|those|this|your|ur|any|with|sending|send|me|us|them|my|of|more|"
    r"future|further|automated|promotional|marketing|text|txt|sms)\s)"
)
_STOPPING = rf"{_NEG}\b(?:stop|quit|cease|end|cancel|halt)\s"
_ME = r"(?:me|us|this number|my number|here|again|anymore|any more)"
_DONT = r"(?:don't|dont|do not|never)\s(?:ever\s)?"
_MY_NUMBER = r"(?:me|us|my (?:phone |cell |mobile )?number|this number|my details|my info)"
_LIST = (
    r"(?:(?:your|the|this|ur|that|all|any|my|of)\s)*"
    r"(?:(?:mailing|texting|text|sms|contact|marketing|distribution|messaging|subscriber|"
    r"subscription|call|calling|email|promo|promotional)\s)?"
    r"(?:list|lists|database|db|system|texts|messages|contacts|records)"
)  # not any "list": "take me off the waiting list" is about an appointment, not consent
_REVOCATIONS: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        # "stop texting me", "quit spamming", "stop sending me messages", "cancel my subscription"
        rf"{_STOPPING}{_FILL}{{0,3}}(?:{_CONTACTING}|{_MESSAGES})\b",
        rf"{_STOPPING}sending(?:\s(?:me|us))?(?:\s(?:anything|stuff|things|these|this|them))?$",
        # "don't text me anymore", "do not contact me again", "never text this number again"
        rf"\b{_DONT}(?:text|txt|sms|message|msg|contact|email|spam|bother)\s{_ME}\b",
        rf"\b{_DONT}send\s(?:me|us)\s{_FILL}{{0,2}}{_MESSAGES}\b",  # "don't send me texts"
        rf"\bno more\s{_FILL}{{0,2}}{_MESSAGES}\b",  # "no more texts"
        # "remove me from your list", "take me off your list", "delete my number"
        rf"\b(?:remove|delete|take|drop|erase|get)\s{_MY_NUMBER}\s(?:from|off|out of)\s{_LIST}\b",
        r"\b(?:remove|delete|erase)\s(?:my|this)\s(?:phone\s|cell\s|mobile\s)?number\b",
        r"\bunsub\w*",  # "unsubscribe me", "how do I unsubscribe", "unsub"
        r"\bopt(?:ed|ing)?\s(?:me\s|us\s)?out\b|\boptout\b",  # "I want to opt out"
        r"\b(?:revoke|revoking|withdraw|withdrawing|rescind)\s(?:my\s|all\s|your\s)?"
        r"(?:consent|permission|opt in|subscription)\b",  # "I revoke my consent"
        r"\bno longer consent\b",
        # "I don't want these texts", "I no longer wish to receive messages"
        rf"\b(?:don't|dont|do not|no longer)\s(?:want|wish)\s(?:to\s(?:receive|get)\s)?"
        rf"{_FILL}{{0,3}}{_MESSAGES}\b",
        r"\bleave me alone\b",
        r"\bwrong (?:number|person)\b",  # the consent on file was never this person's
    )
)
# Words that may surround a bare keyword without changing what it asks: "stop please",
# "STOP STOP", "can you please stop". Not "by", "in", "at": "stop by at 3" is a visit.
_FILLER = frozenset(
    {
        "please", "pls", "plz", "plse", "now", "right", "away", "immediately", "asap",
        "thanks", "thank", "you", "u", "thx", "ty", "it", "all", "just", "ok", "okay",
        "again", "already", "me", "can", "could", "said", "sir", "maam", "forever",
    }
)  # fmt: skip
# Opt-out words that are also everyday office words ("please cancel", "the end"): alone with
# filler they are not flagged; repeated ("CANCEL CANCEL") they are.
_AMBIGUOUS = frozenset({"cancel", "end", "quit"})
_SENTENCE = re.compile(r"[.!?;:\n\r\u2028\u2029\u3002]+")


def _words(text: str) -> str:
    text = re.sub(r"[’‘ʼ`´]", "'", normalise(text))
    text = re.sub(r"[^\w']|_|(?<!\w)'|'(?!\w)", " ", text)
    return " ".join(text.split())


def _only_keywords_and_filler(words: str, keywords: Keywords) -> bool:
    """A sentence made of opt-out keywords and politeness only: "stop please", "STOP STOP"."""
    tokens = words.split()
    phrases = sorted((_match_form(w).split() for w in keywords.opt_out), key=len, reverse=True)
    found: list[str] = []
    i = 0
    while i < len(tokens):
        for phrase in phrases:
            if tokens[i : i + len(phrase)] == phrase:
                found.append(" ".join(phrase))
                i += len(phrase)
                break
        else:
            if tokens[i] not in _FILLER:
                return False
            i += 1
    return len(found) >= 2 or any(word not in _AMBIGUOUS for word in found)


def looks_like_revocation(text: str, keywords: Keywords = DEFAULT_KEYWORDS) -> bool:
    """True when the message reads like an opt-out in other words and is not itself a keyword
    ("please stop texting me", "remove me from your list", "STOP STOP"), so that a person
    reviews it; ordinary traffic ("can you stop by at 3?", "please cancel my appointment")
    is not flagged.
    """
    if classify(text, keywords) is not None:
        return False
    words = _words(text)
    if not words:
        return False
    if any(pattern.search(words) for pattern in _REVOCATIONS):
        return True
    sentences = [words] + [_words(s) for s in _SENTENCE.split(unicodedata.normalize("NFKC", text))]
    return any(s and _only_keywords_and_filler(s, keywords) for s in sentences)


def review_deadline(
    received_at: datetime, business_days: int = 10, holidays: Collection[date] = ()
) -> date:
    """The date by which a flagged message must be handled: ``business_days`` business days
    (Mon–Fri, not in ``holidays``) after the local date it was received (that day not counted).
    """
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be timezone-aware: the deadline counts local days")
    if business_days < 0:
        raise ValueError("business_days must be 0 or more")
    if any(isinstance(day, datetime) for day in holidays):
        raise ValueError("holidays are dates, not datetimes")
    closed = frozenset(holidays)
    day = received_at.date()
    remaining = business_days
    while remaining:
        day += timedelta(days=1)
        if day.weekday() < 5 and day not in closed:
            remaining -= 1
    return day

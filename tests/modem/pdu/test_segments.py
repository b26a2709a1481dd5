import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modem.errors import PduError
from modem.pdu import Segments, gsm7, split_text
from modem.pdu.gsm7 import BASIC, ESC, char_septets

GSM_CHARS = [c for c in BASIC if c != "\x1b"] + list("^{}\\[~]|€\x0c")
ASTRAL = "😀"


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 153 * 2, 2),
        ("a" * (153 * 2 + 1), 3),
        ("€" * 80, 1),  # 160 septets
        ("€" * 80 + "a", 2),
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 67 * 2, 2),
        ("ж" * (67 * 2 + 1), 3),
        (ASTRAL * 35, 1),  # 70 UTF-16 code units
        (ASTRAL * 35 + "a", 2),
    ],
)
def test_it_counts_parts_at_the_boundaries(text, parts):
    assert len(split_text(text).parts) == parts


def test_it_returns_one_empty_part_for_an_empty_text():
    assert split_text("") == Segments(encoding="gsm7", parts=("",))


def test_it_never_splits_an_escape_pair():
    # 152 septets then "€" (2 septets) would make 154: the euro moves to the next part.
    segments = split_text("a" * 152 + "€" + "a" * 10)
    assert segments.parts[0] == "a" * 152
    assert segments.parts[1].startswith("€")


def test_it_never_splits_a_surrogate_pair():
    segments = split_text("ж" * 66 + ASTRAL + "ж" * 10)
    assert segments.parts[0] == "ж" * 66
    assert segments.parts[1].startswith(ASTRAL)


def test_it_chooses_ucs2_for_a_single_non_gsm_character():
    assert split_text("a" * 100 + "ç").encoding == "ucs2"


def test_it_refuses_more_than_255_parts():
    with pytest.raises(PduError):
        split_text("a" * (153 * 255 + 1))
    assert len(split_text("a" * 153 * 255).parts) == 255


@pytest.mark.parametrize(("text", "encoding"), [("ç", "gsm7"), ("a", "utf8"), ("\ud83d", "auto")])
def test_it_rejects_what_it_cannot_split(text, encoding):
    with pytest.raises(PduError):
        split_text(text, encoding)


def _units(char: str) -> int:
    return 2 if ord(char) > 0xFFFF else 1


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(GSM_CHARS), max_size=700))
def test_it_cuts_gsm7_into_160_or_153_septet_parts(text):
    segments = split_text(text)
    assert segments.encoding == "gsm7"
    assert "".join(segments.parts) == text
    sizes = [sum(char_septets(c) for c in part) for part in segments.parts]
    total = sum(sizes)
    if total <= 160:
        assert segments.parts == (text,)
    else:
        assert all(size <= 153 for size in sizes)
        # Greedy: a part is only closed when the next character would not fit.
        for size, following in zip(sizes, segments.parts[1:], strict=False):
            assert size + char_septets(following[0]) > 153
    for part in segments.parts:
        assert gsm7.encode(part)[-1:] != [ESC]


@settings(max_examples=200, deadline=None)
@given(st.text(st.characters(exclude_categories=("Cs",)), max_size=300).map(lambda t: t + "ж"))
def test_it_cuts_ucs2_into_70_or_67_unit_parts_without_lone_surrogates(text):
    segments = split_text(text)
    assert segments.encoding == "ucs2"
    assert "".join(segments.parts) == text
    sizes = [sum(_units(c) for c in part) for part in segments.parts]
    if sum(sizes) <= 70:
        assert segments.parts == (text,)
    else:
        assert all(size <= 67 for size in sizes)
        for size, following in zip(sizes, segments.parts[1:], strict=False):
            assert size + _units(following[0]) > 67
    for part in segments.parts:
        units = part.encode("utf-16-be")
        assert not units or not 0xD8 <= units[-2] <= 0xDB  # no high surrogate at the end

"""Card numbers, SSNs and passwords: what staff must not text, and what only looks like it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.sensitive import Finding, describe, find_sensitive, mask_cards


def luhn_valid(number: str) -> bool:
    """Reference Luhn check, so the look-alikes below are shown to pass it on purpose."""
    digits = [int(ch) for ch in number if ch.isdigit()]
    total = sum(digits[-1::-2]) + sum(sum(divmod(2 * d, 10)) for d in digits[-2::-2])
    return total % 10 == 0


def found(text: str, kind: str) -> list[str]:
    return [text[f.start : f.end] for f in find_sensitive(text) if f.kind == kind]


# --- cards -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "card"),
    [
        pytest.param("4111 1111 1111 1111", "4111 1111 1111 1111", id="visa-spaces"),
        pytest.param("4111-1111-1111-1111", "4111-1111-1111-1111", id="visa-hyphens"),
        pytest.param("4111111111111111", "4111111111111111", id="visa-contiguous"),
        pytest.param("4012888888881881", "4012888888881881", id="visa-other"),
        pytest.param("4222222222222", "4222222222222", id="visa-13-digits"),
        pytest.param("2223 0031 2200 3222", "2223 0031 2200 3222", id="mastercard-2-series"),
        pytest.param("2221000000000009", "2221000000000009", id="mastercard-2-series-contiguous"),
        pytest.param("5555 5555 5555 4444", "5555 5555 5555 4444", id="mastercard-5-series"),
        pytest.param("5105-1051-0510-5100", "5105-1051-0510-5100", id="mastercard-hyphens"),
        pytest.param("3782 822463 10005", "3782 822463 10005", id="amex-4-6-5"),
        pytest.param("371449635398431", "371449635398431", id="amex-contiguous"),
        pytest.param("6011 1111 1111 1117", "6011 1111 1111 1117", id="discover"),
        pytest.param("6011000990139424", "6011000990139424", id="discover-contiguous"),
        pytest.param("3056 930902 5904", "3056 930902 5904", id="diners-4-6-4"),
        pytest.param("3530111333300000", "3530111333300000", id="jcb"),
        pytest.param(
            "6250 9410 0652 8599 123",  # its first 16 digits pass Luhn too
            "6250 9410 0652 8599 123",
            id="19-digits",
        ),
        pytest.param(
            "Hi Sam, the card is 4111 1111 1111 1111, exp 12/27. Thanks!",
            "4111 1111 1111 1111",
            id="in-a-sentence",
        ),
        pytest.param("Card:4111111111111111.", "4111111111111111", id="between-punctuation"),
        pytest.param("4111 1111 1111 1111 123", "4111 1111 1111 1111", id="followed-by-a-cvv"),
        pytest.param(
            "call (201) 555-0123 4111 1111 1111 1111",
            "4111 1111 1111 1111",
            id="after-a-phone-number",
        ),
        pytest.param(
            "+44 7700 900123 4111 1111 1111 1111",
            "4111 1111 1111 1111",
            id="after-an-international-number",
        ),
        pytest.param(
            "４１１１ １１１１ １１１１ １１１１",
            "４１１１ １１１１ １１１１ １１１１",
            id="full-width",
        ),
        pytest.param("٤١١١١١١١١١١١١١١١", "٤١١١١١١١١١١١١١١١", id="arabic-indic"),
    ],
)
def test_it_finds_card_numbers(text: str, card: str) -> None:
    assert found(text, "card") == [card]


def test_it_finds_every_card_in_order_of_position() -> None:
    text = "Old card 5555 5555 5555 4444, new card 3782-822463-10005, pwd=hunter22"
    assert [(f.kind, text[f.start : f.end]) for f in find_sensitive(text)] == [
        ("card", "5555 5555 5555 4444"),
        ("card", "3782-822463-10005"),
        ("password", "hunter22"),
    ]


def test_it_returns_spans_in_the_original_text() -> None:
    text = "Card: ４１１１ １１１１ １１１１ １１１１!"
    assert find_sensitive(text) == [Finding("card", 6, 25)]


LUHN_VALID_LOOK_ALIKES = [
    pytest.param("+4915112345678907", id="international-phone-luhn-valid"),
    pytest.param("+4111111111111111", id="card-shaped-after-plus"),
    pytest.param("Ref 12345678901237", id="starts-with-1"),
    pytest.param("Ref 70001234567892", id="starts-with-7"),
    pytest.param("Ref 80001234567890120", id="starts-with-8"),
    pytest.param("Ref 91234567890129", id="starts-with-9"),
    pytest.param("Ref 411111111117", id="12-digits"),
    pytest.param("Ref 41111111111111110000", id="20-digits-with-a-card-inside"),
    pytest.param("Ref A4111111111111111", id="letter-before"),
    pytest.param("Ref 4111111111111111B", id="letter-after"),
    pytest.param("22222222222222222", id="repeated-2"),
    pytest.param("6666666666666", id="repeated-6"),
]


@pytest.mark.parametrize("text", LUHN_VALID_LOOK_ALIKES)
def test_it_makes_sure_the_look_alikes_pass_luhn(text: str) -> None:
    assert luhn_valid(text)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("+1 201 555 0123", id="us-phone-international"),
        pytest.param("+1-201-555-0123", id="us-phone-hyphens"),
        pytest.param("(201) 555-0123", id="us-phone-national"),
        pytest.param("+44 7700 900123", id="uk-mobile"),
        pytest.param("+4915112345678901", id="german-mobile"),
        pytest.param("+33 6 12 34 56 78", id="french-mobile"),
        pytest.param("Order #100234567", id="order-number"),
        pytest.param("Your order 4111111111111112 shipped", id="order-number-luhn-fails"),
        pytest.param("1Z999AA10123456784", id="ups-tracking"),
        pytest.param("9400 1000 0000 0000 0000 00", id="usps-tracking"),
        pytest.param("See you 12/25/2024 at 10:30", id="us-date"),
        pytest.param("Due 2024-12-25", id="iso-date"),
        pytest.param("Due 25.12.2024", id="european-date"),
        pytest.param("Balance $1,234.56", id="money"),
        pytest.param("Balance 1 234 567,89 €", id="money-with-spaces"),
        pytest.param("1234 5678 9012 3456 7890 1234 5678", id="long-grouped-list"),
        pytest.param("Qty 2 30 45 12 8 16 4 10 22 6 3", id="list-of-quantities"),
        *LUHN_VALID_LOOK_ALIKES,
    ],
)
def test_it_ignores_card_look_alikes(text: str) -> None:
    assert find_sensitive(text) == []


# --- social security numbers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ssn"),
    [
        pytest.param("123-45-6789", "123-45-6789", id="hyphens"),
        pytest.param("123 45 6789", "123 45 6789", id="spaces"),
        pytest.param("Her SSN is 078-05-1120, DOB 1/2/80", "078-05-1120", id="in-a-sentence"),
        pytest.param("SSN: 123456789", "123456789", id="bare-after-ssn"),
        pytest.param("my ssn is 123456789", "123456789", id="bare-after-lowercase-ssn"),
        pytest.param(
            "Social Security Number (SSN): 123456789", "123456789", id="bare-after-spelt-out"
        ),
        pytest.param("social security #123456789", "123456789", id="bare-after-hash"),
        pytest.param("Soc. Sec. no. 123456789", "123456789", id="bare-after-soc-sec"),
    ],
)
def test_it_finds_social_security_numbers(text: str, ssn: str) -> None:
    assert found(text, "ssn") == [ssn]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("000-12-3456", id="area-000"),
        pytest.param("666-12-3456", id="area-666"),
        pytest.param("912-34-5678", id="area-9xx"),
        pytest.param("123-00-4567", id="group-00"),
        pytest.param("123-45-0000", id="serial-0000"),
        pytest.param("SSN: 000123456", id="bare-area-000"),
        pytest.param("123456789", id="bare-without-context"),
        pytest.param("Order 123456789 shipped", id="order-number"),
        pytest.param("SSN verified, thank you. Your confirmation: 123456789", id="context-too-far"),
        pytest.param("ZIP 12345-6789", id="zip-plus-4"),
        pytest.param("123-45-67890", id="longer-serial"),
        pytest.param("1123-45-6789", id="longer-area"),
        pytest.param("Ref 1 123 45 6789", id="inside-a-longer-run"),
        pytest.param("123-45 6789", id="mixed-separators"),
        pytest.param("A123-45-6789", id="letter-before"),
    ],
)
def test_it_ignores_ssn_look_alikes(text: str) -> None:
    assert find_sensitive(text) == []


# --- passwords -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        pytest.param("password: Tr0ub4dor&3", "Tr0ub4dor&3", id="colon"),
        pytest.param("Your temporary password is kx8-Qp2!", "kx8-Qp2!", id="is"),
        pytest.param("pwd=hunter22", "hunter22", id="pwd-equals"),
        pytest.param("PIN: 4821", "4821", id="pin-colon"),
        pytest.param("Your PIN is 482193", "482193", id="pin-is"),
        pytest.param("pin = 0042", "0042", id="pin-equals"),
        pytest.param("Mot de passe : soleil2024", "soleil2024", id="french"),
        pytest.param("Contraseña: gato1234", "gato1234", id="spanish"),
        pytest.param("Passwort: Sommer2024", "Sommer2024", id="german"),
        pytest.param("KENNWORT = Geheim!9", "Geheim!9", id="german-kennwort"),
        pytest.param("passcode: 7731", "7731", id="passcode"),
        pytest.param("Pass code - 99120", "99120", id="pass-code-hyphen"),
        pytest.param("PW: blue-Horse", "blue-Horse", id="pw"),
        pytest.param("passwd was sunshine9", "sunshine9", id="was"),
        pytest.param("PASSWORD: 'hunter22'", "hunter22", id="quoted"),
        pytest.param("The wifi password is guest1234.", "guest1234", id="full-stop-after"),
        pytest.param("Your password was changed to Abc12345", "Abc12345", id="changed-to"),
        pytest.param("Your password is now Q7!zz", "Q7!zz", id="is-now"),
    ],
)
def test_it_finds_passwords(text: str, value: str) -> None:
    assert found(text, "password") == [value]


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Forgot your password? Reply HELP", id="forgot"),
        pytest.param("your password was reset", id="was-reset"),
        pytest.param("Reset your password at the front desk", id="reset-at-desk"),
        pytest.param("Password: (the one you chose)", id="parenthetical"),
        pytest.param("Your password has been reset.", id="has-been-reset"),
        pytest.param("Your password is case sensitive", id="case-sensitive"),
        pytest.param("Your password is required to log in", id="required"),
        pytest.param("Your password expired, please call us", id="expired"),
        pytest.param("Your password - here is how to change it", id="hyphen-here"),
        pytest.param("Password: sent separately", id="sent"),
        pytest.param("Password: see below", id="too-short"),
        pytest.param("Password: ********", id="already-masked"),
        pytest.param("The password-protected PDF is attached", id="compound-word"),
        pytest.param("PIN: the blue one", id="pin-not-digits"),
        pytest.param("Pin it to the top", id="pin-verb"),
        pytest.param("Spin: 1234", id="pin-inside-a-word"),
        pytest.param("PIN: 123456789", id="pin-too-long"),
        pytest.param("Passport: X1234567", id="not-a-keyword"),
    ],
)
def test_it_ignores_password_look_alikes(text: str) -> None:
    assert find_sensitive(text) == []


# --- describe --------------------------------------------------------------------------------


def findings(*kinds: str) -> list[Finding]:
    return [Finding(kind, k, k + 1) for k, kind in enumerate(kinds)]


@pytest.mark.parametrize(
    ("kinds", "expected"),
    [
        pytest.param((), "nothing sensitive", id="nothing"),
        pytest.param(("card",), "a payment card number", id="card"),
        pytest.param(("ssn",), "a US social security number", id="ssn"),
        pytest.param(("password",), "a password", id="password"),
        pytest.param(
            ("password", "card"), "a payment card number and a password", id="card-and-password"
        ),
        pytest.param(
            ("card", "ssn", "card", "password"),
            "two payment card numbers, a US social security number and a password",
            id="three-kinds",
        ),
        pytest.param(("ssn",) * 10, "ten US social security numbers", id="ten"),
        pytest.param(("card",) * 11, "more than ten payment card numbers", id="eleven"),
    ],
)
def test_it_describes_findings(kinds: tuple[str, ...], expected: str) -> None:
    assert describe(findings(*kinds)) == expected


@pytest.mark.parametrize(
    "text",
    [
        "Card 4111 1111 1111 1111 and SSN 123-45-6789, password: Tr0ub4dor&3",
        "Cards 4111111111111111 5555 5555 5555 4444 3782 822463 10005, PIN: 4821",
        "pwd=hunter22 pwd=hunter22",
    ],
)
def test_it_never_describes_the_found_text(text: str) -> None:
    result = find_sensitive(text)
    description = describe(result)
    assert result
    assert not any(ch.isdigit() for ch in description)
    for finding in result:
        assert text[finding.start : finding.end] not in description


def test_it_refuses_to_describe_an_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown kinds"):
        describe([Finding("iban", 0, 4)])


# --- mask_cards ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("4111 1111 1111 1111", "**** **** **** 1111", id="spaces"),
        pytest.param("4111-1111-1111-1111", "****-****-****-1111", id="hyphens"),
        pytest.param("4111111111111111", "************1111", id="contiguous"),
        pytest.param("3782 822463 10005", "**** ****** *0005", id="amex"),
        pytest.param(
            "Card 5555 5555 5555 4444 exp 12/27, call (201) 555-0123",
            "Card **** **** **** 4444 exp 12/27, call (201) 555-0123",
            id="in-a-sentence",
        ),
        pytest.param(
            "4111111111111111 and 6011-1111-1111-1117",
            "************1111 and ****-****-****-1117",
            id="two-cards",
        ),
        pytest.param("4111 1111 1111 1111 123", "**** **** **** 1111 123", id="cvv-left-alone"),
        pytest.param(
            "４１１１ １１１１ １１１１ １１１１", "**** **** **** １１１１", id="full-width"
        ),
    ],
)
def test_it_masks_cards(text: str, expected: str) -> None:
    assert mask_cards(text) == expected


def test_it_masks_a_card_hidden_behind_an_overlapping_one() -> None:
    # "5000 0000 0007 4111" passes Luhn as well; masking it alone would keep "4111" readable
    # next to the rest of the real card, so the result must not hold a card either.
    text = "Ref 5000 0000 0007 4111 1111 1111 1111"
    assert luhn_valid("5000 0000 0007 4111")
    assert mask_cards(text) == "Ref **** **** **** **** **** **** 1111"


@pytest.mark.parametrize(
    "text",
    [
        "+1 201 555 0123",
        "+4915112345678907",
        "Your order 4111111111111112 shipped",
        "9400 1000 0000 0000 0000 00",
        "SSN 123-45-6789",
        "password: Tr0ub4dor&3",
        "Ref 41111111111111110000",
        "",
    ],
)
def test_it_leaves_text_without_cards_alone(text: str) -> None:
    assert mask_cards(text) == text


# --- hostile input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        pytest.param("1 " * 50000, set(), id="digits-and-spaces"),
        pytest.param("1-" * 50000, set(), id="digits-and-hyphens"),
        pytest.param("4" * 100000, set(), id="one-long-number"),
        pytest.param("2222 " * 20000, set(), id="repeated-groups"),
        pytest.param("123-45-" * 15000, set(), id="ssn-prefixes"),
        pytest.param("password " * 10000, set(), id="password-words"),
        pytest.param("password" + " " * 100000, set(), id="password-then-spaces"),
        pytest.param("pin: " * 20000, set(), id="pin-prefixes"),
        pytest.param("ssn " * 20000, set(), id="ssn-words"),
        pytest.param(" is" * 30000, set(), id="separators"),
        pytest.param("password:" * 10000, {"password"}, id="password-glued"),
        pytest.param("4111 1111 1111 1111 " * 5000, {"card"}, id="many-cards"),
    ],
)
def test_it_copes_with_hostile_input(text: str, kinds: set[str]) -> None:
    # The patterns are linear; a catastrophic one would not finish here at all.
    result = find_sensitive(text)
    assert {f.kind for f in result} == kinds
    assert all(f.end - f.start <= 64 for f in result)
    masked = mask_cards(text)
    assert len(masked) == len(text)
    assert not any(f.kind == "card" for f in find_sensitive(masked))


# --- property --------------------------------------------------------------------------------

CARDS = [
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111111111111111",
    "5555 5555 5555 4444",
    "2223003122003222",
    "3782 822463 10005",
    "6011-0009-9013-9424",
    "3056 930902 5904",
    "4222222222222",
]
PHONES = [
    "+1 201 555 0123",
    "(201) 555-0123",
    "201-555-0123",
    "+44 7700 900123",
    "+4915112345678901",
    "+33 6 12 34 56 78",
]
WORDS = [
    "Hi", "card", "exp", "12/27", "CVV", "123", "Order #100234567", "1Z999AA10123456784",
    "$1,234.56", "call", "SSN", "password:", "A", "42", "2024-12-25", "ok.", "٤", "７",
]  # fmt: skip
PIECES = st.sampled_from(CARDS + PHONES + WORDS)
JOINERS = st.sampled_from([" ", ", ", "\n", " - ", ": ", " / "])


@st.composite
def mixed_texts(draw: st.DrawFn) -> tuple[str, list[str]]:
    pieces = draw(st.lists(PIECES, max_size=12))
    text = ""
    for piece in pieces:
        text += (draw(JOINERS) if text else "") + piece
    return text, [piece for piece in pieces if piece in CARDS]


@given(mixed_texts())
def test_it_masks_every_card_and_nothing_else(sample: tuple[str, list[str]]) -> None:
    text, cards = sample
    masked = mask_cards(text)
    assert len(masked) == len(text)
    for before, after in zip(text, masked, strict=True):
        assert after == before or (before.isdecimal() and after == "*")
    assert [f for f in find_sensitive(masked) if f.kind == "card"] == []
    for card in cards:
        assert card not in masked
    assert mask_cards(masked) == masked

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expense_cli.engine import Amount, normalize_amount, normalize_date

AMOUNTS = [
    ("12,30 €", "12.30", "EUR"),
    ("€12.30", "12.30", "EUR"),
    ("$1,234.56", "1234.56", "USD"),
    ("1.234,56 EUR", "1234.56", "EUR"),
    ("1,234,567.89 USD", "1234567.89", "USD"),
    ("1.234.567,89", "1234567.89", None),
    ("EUR 12.30", "12.30", "EUR"),
    ("Total: $ 7", "7.00", "USD"),
    ("£5", "5.00", "GBP"),
    ("¥1,200", "1200", "JPY"),
    ("JPY 3500", "3500", "JPY"),
    ("1 234,56 zł", "1234.56", "PLN"),
    ("CHF 1'234.50", "1234.50", "CHF"),
    ("Fr. 12.-", "12.00", "CHF"),
    ("12,-", "12.00", None),
    ("-12.00", "-12.00", None),
    ("(5.00)", "-5.00", None),
    ("12.5", "12.50", None),
    ("1,234", "1234.00", None),
    ("0,99", "0.99", None),
    ("KWD 1.234", "1.234", "KWD"),
    ("US$ 3,000.10", "3000.10", "USD"),
    ("HK$ 88.00", "88.00", "HKD"),
    ("A$19.95", "19.95", "AUD"),
    ("₹ 2,50,000.00", "250000.00", "INR"),
    ("SEK 149,00", "149.00", "SEK"),
    ("TOTAL EUR 17.37", "17.37", "EUR"),
    ("R$ 1.999,90", "1999.90", "BRL"),
]


@pytest.mark.parametrize(("text", "value", "currency"), AMOUNTS)
def test_amounts(text: str, value: str, currency: str | None) -> None:
    amount = normalize_amount(text)
    assert amount is not None
    assert (amount.value, amount.currency) == (value, currency)


@pytest.mark.parametrize("text", ["", "no amount here", "EUR", "—"])
def test_no_amount(text: str) -> None:
    assert normalize_amount(text) is None


DATES = [
    ("2024-01-03", None, "2024-01-03"),
    ("2024/1/3 14:22", None, "2024-01-03"),
    ("03/01/24", True, "2024-01-03"),
    ("03/01/24", False, "2024-03-01"),
    ("03/01/2024", None, "2024-03-01"),
    ("13/01/2024", False, "2024-01-13"),  # 13 can only be a day
    ("01/13/2024", True, "2024-01-13"),
    ("03.01.2024", None, "2024-01-03"),  # dotted dates are day first
    ("03-01-2024", True, "2024-01-03"),
    ("Jan 3, 2024", None, "2024-01-03"),
    ("January 3rd, 2024", None, "2024-01-03"),
    ("3 January 2024", None, "2024-01-03"),
    ("3-Jan-24", None, "2024-01-03"),
    ("03 JAN 2024 10:15", None, "2024-01-03"),
    ("Sept. 14, 2023", None, "2023-09-14"),
    ("12. März 2024", None, "2024-03-12"),
    ("5 févr. 2023", None, "2023-02-05"),
    ("1er juillet 2022", None, "2022-07-01"),
    ("15 de enero de 2024", None, "2024-01-15"),
    ("3rd of May 2021", None, "2021-05-03"),
    ("Date: 29/02/2024", None, "2024-02-29"),
    ("31/02/2024", None, None),  # no such day
    ("Dec 25 2023", None, "2023-12-25"),
    ("no date", None, None),
]


@pytest.mark.parametrize(("text", "day_first", "iso"), DATES)
def test_dates(text: str, day_first: bool | None, iso: str | None) -> None:
    assert normalize_date(text, day_first) == iso


def test_tables_are_big_enough() -> None:
    assert len(AMOUNTS) + len(DATES) >= 30


# --- issue 12: signs, OCR confusions, rupees, non-ASCII digits (held-out strings) ---

NEGATIVE = [
    ("-$5.00", "-5.00", "USD"),
    ("$-5.00", "-5.00", "USD"),
    ("- $5.00", "-5.00", "USD"),
    ("−€12,30", "-12.30", "EUR"),  # U+2212 MINUS SIGN
    ("–12,30 €", "-12.30", "EUR"),  # en dash, as typeset PDFs print a minus
    ("Refund: -£3.50", "-3.50", "GBP"),
    ("Gutschrift -1.234,56 EUR", "-1234.56", "EUR"),
    ("EUR -17.37", "-17.37", "EUR"),
    ("EUR-17.37", "-17.37", "EUR"),
    ("(5.00)", "-5.00", None),
    ("($5.00)", "-5.00", "USD"),
    ("$(5.00)", "-5.00", "USD"),
    ("(5.00 USD)", "-5.00", "USD"),
    ("USD (1,234.56)", "-1234.56", "USD"),
    ("( 42.10 )", "-42.10", None),
    ("5.00-", "-5.00", None),
    ("5,00- €", "-5.00", "EUR"),
    ("€5.00-", "-5.00", "EUR"),
    ("5.00 -", "-5.00", None),
    ("1.234,56-", "-1234.56", None),
    ("5.00 CR", "-5.00", None),
    ("5.00CR", "-5.00", None),
    ("$5.00 Cr.", "-5.00", "USD"),
    ("Credit note 120.00 CR", "-120.00", None),
    ("GBP 12.00 cr", "-12.00", "GBP"),
    ("(-5.00)", "-5.00", None),  # two ways of saying minus are still minus
    ("-(5.00)", "-5.00", None),
    ("¥-1,200", "-1200", "JPY"),
    ("-12,-", "-12.00", None),
    ("Total: −0.99", "-0.99", None),
    ("Rs -5.00", "-5.00", "INR"),
    ("-Rs. 500", "-500.00", "INR"),
    ("zł -12", "-12.00", "PLN"),
    ("(.99)", "-0.99", None),
    ("－１２．００", "-12.00", None),  # full-width minus and digits
]

POSITIVE = [
    ("Total - $5.00", "5.00", "USD"),  # a dash between words is punctuation
    ("Total – 5,00 €", "5.00", "EUR"),
    ("5.00 - paid by card", "5.00", None),
    ("Item 1-2 12.00", "12.00", None),
    ("Ref A-12", "12.00", None),
    ("5.00 DR", "5.00", None),
    ("5.00 CRC", "5.00", None),  # not "CR"
    ("(incl. VAT) 5.00", "5.00", None),
    ("5.00 (USD)", "5.00", "USD"),
    ("Total 5.00.", "5.00", None),
    ("Total: 5.00, thank you", "5.00", None),
    ("12,-", "12.00", None),
    ("Fr. 12.-", "12.00", "CHF"),
]


@pytest.mark.parametrize(("text", "value", "currency"), NEGATIVE + POSITIVE)
def test_amount_signs(text: str, value: str, currency: str | None) -> None:
    assert normalize_amount(text) == Amount(value, currency)


OCR = [
    ("$1O.00", "10.00", "USD"),
    ("1O.OO EUR", "10.00", "EUR"),
    ("€ 1o,5o", "10.50", "EUR"),
    ("O.99", "0.99", None),
    ("Total 2O.OO", "20.00", None),
    ("1,OOO.OO", "1000.00", None),
    ("1 OOO,OO zł", "1000.00", "PLN"),
    ("$1l.50", "11.50", "USD"),
    ("1I.50", "11.50", None),
    ("$1S.00", "15.00", "USD"),
    ("2B.40", "28.40", None),
    ("1,2B4.5O", "1284.50", None),
    ("-$1O.00", "-10.00", "USD"),
    ("(1O.OO)", "-10.00", None),
    ("Rs.1O0", "100.00", "INR"),
    ("TOTAL EUR 1O7.37", "107.37", "EUR"),
    ("SOS BOB 12.00", "12.00", None),  # letters in words are left alone
]

# Too ambiguous to read: None, never a wrong value.
UNREADABLE = [
    "S5.00",  # "$5.00" or "55.00"?
    "l0.50",  # "|0.50" or "10.50"?
    "$12.5S",
    "45.3l",
    "B2B",
    "1Okg",
    "IO.OO",
    "(5.00",
    "$1O.OOkr",
]


@pytest.mark.parametrize(("text", "value", "currency"), OCR)
def test_ocr_confusions_inside_numbers_are_corrected(
    text: str, value: str, currency: str | None
) -> None:
    assert normalize_amount(text) == Amount(value, currency)


@pytest.mark.parametrize("text", UNREADABLE)
def test_ambiguous_amounts_have_no_value(text: str) -> None:
    assert normalize_amount(text) is None


MORE_AMOUNTS = [
    ("Rs. 500", "500.00", "INR"),
    ("Rs 1,250.50", "1250.50", "INR"),
    ("Rs.99", "99.00", "INR"),
    ("RS. 2,50,000", "250000.00", "INR"),
    ("₨ 450", "450.00", "INR"),
    ("450 Rs", "450.00", "INR"),
    ("Hrs 12", "12.00", None),  # not rupees
    ("Mrs. Smith 12.00", "12.00", None),
    ("Rsvp 12.00", "12.00", None),
    ("Cappuccino 2 x 3.80 7.60", "7.60", None),
    ("3.80 7.60", "7.60", None),
    ("Total 17.37 (incl. 19% VAT)", "17.37", None),
    ("１２．５０ 円", "12.50", None),  # full-width digits and point
    ("￥１，２００", "1200", "JPY"),
    ("٣٫٥٠ AED", "3.50", "AED"),  # Arabic-Indic digits, Arabic decimal separator
    ("₹ १,२५०.००", "1250.00", "INR"),  # Devanagari digits
    ("𝟏𝟕.𝟑𝟕 EUR", "17.37", "EUR"),  # mathematical bold digits from a PDF text layer
    ("1\u202f234,56 €", "1234.56", "EUR"),
    ("1\u00a0234.56 USD", "1234.56", "USD"),
    ("CHF 1’234.50", "1234.50", "CHF"),
    ("TOTAL 😀 17.37", "17.37", None),
    (".50", "0.50", None),
    ("$.99", "0.99", "USD"),
    (",50 €", "0.50", "EUR"),
    ("2 x 3.80 = 7.60", "7.60", None),
    ("\ufffd17.37", "17.37", None),
    ("TOTAL\x01EUR\x0217.37", "17.37", "EUR"),  # control characters are spaces
    ("5.00\x00", "5.00", None),
]


@pytest.mark.parametrize(("text", "value", "currency"), MORE_AMOUNTS)
def test_more_amounts(text: str, value: str, currency: str | None) -> None:
    assert normalize_amount(text) == Amount(value, currency)


MORE_DATES = [
    ("20240103", None, "2024-01-03"),
    ("Date: 20231231", None, "2023-12-31"),
    ("20240229", None, "2024-02-29"),
    ("20230229", None, None),  # no such day
    ("20241301", None, None),  # no month 13
    ("20240103T142200", None, "2024-01-03"),
    ("20240103 1422", None, "2024-01-03"),
    ("Receipt 123456789", None, None),  # nine digits: not a date
    ("00001234", None, None),
    ("2024年1月3日", None, "2024-01-03"),
    ("2024年01月03日 14:22", None, "2024-01-03"),
    ("2024 年 1 月 3 日", None, "2024-01-03"),
    ("日付：２０２４年１２月２５日", None, "2024-12-25"),
    ("2024년 1월 3일", None, "2024-01-03"),
    ("2024/1/3(水)", None, "2024-01-03"),
    ("令和6年1月3日", None, "2024-01-03"),
    ("平成31年4月30日", None, "2019-04-30"),
    ("令和元年5月1日", None, "2019-05-01"),
    ("2024年2月30日", None, None),
    ("1月3日", None, None),  # no year: no date
    ("२०२४-०१-०३", None, "2024-01-03"),  # Devanagari digits
]


@pytest.mark.parametrize(("text", "day_first", "iso"), MORE_DATES)
def test_more_dates(text: str, day_first: bool | None, iso: str | None) -> None:
    assert normalize_date(text, day_first) == iso


@pytest.mark.parametrize(
    "text",
    ["\ud83d", "5.00\udfff", "\x00\x01", "(" * 5000 + "1", "1" * 5000, "-" * 5000, "O" * 5000],
)
def test_hostile_text_never_raises(text: str) -> None:
    normalize_amount(text)
    normalize_date(text)


_GROUPING = [(",", "."), (".", ","), (" ", ","), ("'", "."), ("\u202f", ","), ("", "."), ("", ",")]
_SIGNED = ["-{}", "−{}", "({})", "{}-", "{} CR", "- {}"]
_CURRENCY = [("{}", None), ("$ {}", "USD"), ("{} EUR", "EUR"), ("£{}", "GBP"), ("Rs. {}", "INR")]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    cents=st.integers(min_value=0, max_value=10**11),
    grouping=st.sampled_from(_GROUPING),
    signed=st.sampled_from([None, *_SIGNED]),
    currency=st.sampled_from(_CURRENCY),
    ocr=st.booleans(),
)
def test_formatted_amounts_read_back_exactly(
    cents: int,
    grouping: tuple[str, str],
    signed: str | None,
    currency: tuple[str, str | None],
    ocr: bool,
) -> None:
    group, point = grouping
    whole = f"{cents // 100:,}".replace(",", group)
    number = f"{whole}{point}{cents % 100:02d}"
    if ocr:  # an OCR'd zero inside the number: "1O5.00"
        number = number[0] + number[1:-1].replace("0", "O", 1) + number[-1]
    text = signed.format(number) if signed else number
    text = currency[0].format(text)
    value = Decimal(cents).scaleb(-2) * (-1 if signed and cents else 1)
    assert normalize_amount(text) == Amount(str(value), currency[1]), text


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(st.text(st.characters(exclude_categories=()), max_size=60))
def test_any_text_is_read_or_refused_without_raising(text: str) -> None:
    amount = normalize_amount(text)
    if amount is not None:
        Decimal(amount.value)
    date = normalize_date(text)
    if date is not None:
        assert len(date) == 10

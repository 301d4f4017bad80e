from __future__ import annotations

import pytest

from expense_cli.engine import normalize_amount, normalize_date

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

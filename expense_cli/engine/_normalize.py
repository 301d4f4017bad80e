"""Answer text → typed values: amounts (Decimal string + ISO 4217 code) and dates (ISO 8601).

Both are best effort and never raise: what cannot be read confidently returns ``None`` and the
raw answer stays available to the user.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

__all__ = ["Amount", "day_first_for", "normalize_amount", "normalize_date"]

# Longest first, so "HK$" wins over "$".
_SYMBOLS: dict[str, str] = {
    "US$": "USD", "HK$": "HKD", "NZ$": "NZD", "CA$": "CAD", "AU$": "AUD", "R$": "BRL",
    "A$": "AUD", "C$": "CAD", "S$": "SGD", "NT$": "TWD", "Fr.": "CHF", "zł": "PLN", "Kč": "CZK",
    "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₩": "KRW", "₽": "RUB", "₺": "TRY",
    "₪": "ILS", "฿": "THB", "₫": "VND", "₱": "PHP", "₴": "UAH", "$": "USD",
}  # fmt: skip
_CODES = frozenset(
    [
        "USD",
        "EUR",
        "GBP",
        "JPY",
        "CHF",
        "CAD",
        "AUD",
        "NZD",
        "SEK",
        "NOK",
        "DKK",
        "PLN",
        "CZK",
        "HUF",
        "RON",
        "BGN",
        "HRK",
        "ISK",
        "TRY",
        "RUB",
        "UAH",
        "ILS",
        "INR",
        "CNY",
        "HKD",
        "SGD",
        "TWD",
        "KRW",
        "THB",
        "VND",
        "PHP",
        "IDR",
        "MYR",
        "ZAR",
        "BRL",
        "MXN",
        "ARS",
        "CLP",
        "COP",
        "PEN",
        "AED",
        "SAR",
        "QAR",
        "KWD",
        "BHD",
        "OMR",
        "JOD",
        "EGP",
        "MAD",
        "NGN",
        "KES",
    ]
)
_MINOR_UNITS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "HUF": 2,
                "KWD": 3, "BHD": 3, "OMR": 3, "JOD": 3, "TND": 3}  # fmt: skip
_NUMBER = re.compile(r"[-−(]?\s*\d[\d.,'’\u00a0\u202f ]*\d(?:[.,]-)?|[-−(]?\d")
_MONTH_FIRST_CURRENCIES = frozenset({"USD", "PHP"})


@dataclass(frozen=True)
class Amount:
    value: str  # a Decimal as text, e.g. "1234.50"
    currency: str | None  # ISO 4217, when the answer names one


def _currency(text: str) -> str | None:
    for code in re.findall(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])", text):
        if code in _CODES:
            return str(code)
    for symbol, code in _SYMBOLS.items():
        if symbol in text:
            return code
    return None


def _number(raw: str, currency: str | None) -> Decimal | None:
    dash_suffix = raw.endswith("-") and not raw.endswith((",-", ".-"))  # "12,-" is just 12
    negative = raw.startswith(("-", "−", "(")) or dash_suffix
    digits = re.sub(r"[^\d.,'’ \u00a0\u202f]", "", raw.replace(",-", "").replace(".-", ""))
    digits = re.sub(r"['’ \u00a0\u202f]", "", digits)  # thousands separators that never decimals
    if not digits:
        return None
    dots, commas = digits.count("."), digits.count(",")
    if dots and commas:
        decimal = "." if digits.rfind(".") > digits.rfind(",") else ","
    elif dots + commas == 0:
        decimal = None
    else:
        sep = "." if dots else ","
        head, _, tail = digits.rpartition(sep)
        three_decimals = _MINOR_UNITS.get(currency or "", 2) == 3
        if dots + commas > 1 or (len(tail) == 3 and head not in ("", "0") and not three_decimals):
            decimal = None  # 1.234.567 or 1,234 → thousands
        else:
            decimal = sep
    if decimal is None:
        number = digits.replace(".", "").replace(",", "")
    else:
        thousands = "," if decimal == "." else "."
        number = digits.replace(thousands, "").replace(decimal, ".")
    try:
        value = Decimal(number)
    except InvalidOperation:
        return None
    return -value if negative else value


def normalize_amount(text: str) -> Amount | None:
    """``"1.234,56 €"`` → ``Amount("1234.56", "EUR")``; None when there is no number."""
    if not text:
        return None
    currency = _currency(text)
    numbers = _NUMBER.findall(text)
    if not numbers:
        return None
    value = _number(numbers[-1].strip(), currency)
    if value is None:
        return None
    places = _MINOR_UNITS.get(currency or "", 2)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent <= places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return Amount(str(value), currency)


def day_first_for(currency: str | None) -> bool:
    """Locale hint: US-style month-first dates go with US dollars, day-first elsewhere."""
    return currency not in _MONTH_FIRST_CURRENCIES if currency else False


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# Prefixes of month names (en, de, fr, es, it, nl), accents stripped; checked longest first.
_MONTHS: dict[str, int] = {
    "jan": 1, "ene": 1, "gen": 1, "feb": 2, "fev": 2, "mar": 3, "maa": 3, "apr": 4, "avr": 4,
    "abr": 4, "may": 5, "mai": 5, "mei": 5, "mag": 5, "jun": 6, "juin": 6, "giu": 6,
    "jul": 7, "juil": 7, "lug": 7, "aug": 8, "aou": 8, "ago": 8, "sep": 9, "set": 9,
    "oct": 10, "okt": 10, "ott": 10, "nov": 11, "dec": 12, "dez": 12, "dic": 12,
}  # fmt: skip
_MONTH_PREFIXES = sorted(_MONTHS, key=len, reverse=True)


def _month(word: str) -> int | None:
    word = _strip_accents(word.lower())
    if word in ("juin", "juni"):
        return 6
    if word.startswith("juil"):
        return 7
    for prefix in _MONTH_PREFIXES:
        if word.startswith(prefix):
            return _MONTHS[prefix]
    return None


def _year(text: str) -> int:
    year = int(text)
    if len(text) <= 2:
        pivot = dt.date.today().year % 100 + 1
        year += 2000 if year <= pivot else 1900
    return year


def _date(year: int, month: int, day: int) -> str | None:
    try:
        return dt.date(year, month, day).isoformat()
    except ValueError:
        return None


_ISO = re.compile(r"(?<!\d)(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_NUMERIC = re.compile(r"(?<!\d)(\d{1,2})([-/.])(\d{1,2})\2(\d{4}|\d{2})(?!\d)")
_WORD = r"([^\W\d_]{3,}\.?)"
_DAY_MONTH = re.compile(
    r"(?<!\d)(\d{1,2})(?:st|nd|rd|th|er)?\.?[\s\-/]*" + _WORD + r"[\s\-/,.]*(\d{4}|\d{2})(?!\d)"
)
_MONTH_DAY = re.compile(_WORD + r"[\s\-/]*(\d{1,2})(?:st|nd|rd|th)?[\s,\-/.]+(\d{4}|\d{2})(?!\d)")


def normalize_date(text: str, day_first: bool | None = None) -> str | None:
    """``"03/01/24"`` → ``"2024-01-03"`` (day first) or ``"2024-03-01"`` (month first).

    ``day_first=None`` means: decide from the numbers when one of them exceeds 12, else month
    first — except dotted dates (``03.01.2024``), which are day first everywhere they are used.
    """
    if not text:
        return None
    text = re.sub(r"(?i)\b(?:de|of)\b", " ", text)  # "15 de enero de 2024", "3rd of May"
    if found := _ISO.search(text):
        return _date(int(found[1]), int(found[2]), int(found[3]))
    if found := _NUMERIC.search(text):
        a, sep, b, year = int(found[1]), found[2], int(found[3]), _year(found[4])
        if a > 12 >= b:
            first = True
        elif b > 12 >= a:
            first = False
        elif day_first is not None:
            first = day_first
        else:
            first = sep == "."
        return _date(year, b, a) if first else _date(year, a, b)
    if (found := _DAY_MONTH.search(text)) and (month := _month(found[2])):
        return _date(_year(found[3]), month, int(found[1]))
    if (found := _MONTH_DAY.search(text)) and (month := _month(found[1])):
        return _date(_year(found[3]), month, int(found[2]))
    return None

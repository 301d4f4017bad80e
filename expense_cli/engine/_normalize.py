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
_MONTH_FIRST_CURRENCIES = frozenset({"USD", "PHP"})
_MAX_DIGITS = 18  # no receipt total has more; Decimal's quantize fails past its precision


@dataclass(frozen=True)
class Amount:
    value: str  # a Decimal as text, e.g. "1234.50"
    currency: str | None  # ISO 4217, when the answer names one


# Answer text → one spelling: ASCII digits (full-width, Arabic-Indic, Devanagari, mathematical
# digits from PDF text layers: any Unicode decimal digit), ASCII punctuation for full-width forms,
# "-" for every minus and dash that prints as one, " " for the spaces used between thousands
# and for control characters.
_CANONICAL = (
    {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
    | {code: 0x20 for code in [*range(0x20), 0x7F]}
    | {
        ord(char): ascii_form
        for chars, ascii_form in [
            ("\u2212\u2010\u2011\u2012\u2013\ufe63", "-"),
            ("\u00a0\u2007\u2009\u202f", " "),
            ("\u066b", "."),
            ("\u066c", ","),
            ("\uffe5", "¥"),
            ("\uffe1", "£"),
            ("\uffe6", "₩"),
            ("\u20a8", "Rs"),
        ]
        for char in chars
    }
)


def _canonical(text: str) -> str:
    text = text.translate(_CANONICAL)
    if text.isascii():
        return text
    return "".join(
        str(unicodedata.decimal(c)) if c.isdecimal() and not c.isascii() else c for c in text
    )


_CODE = r"(?<![A-Za-z])[A-Z]{3}(?![A-Za-z])"
_RUPEES = r"(?<![A-Za-z])(?:Rs\.?|RS\.)(?![A-Za-z])"
_CURRENCY = re.compile(
    "|".join([_CODE, _RUPEES, *(re.escape(symbol) for symbol in _SYMBOLS)])  # longest first
)
_MARK = "¤"  # stands for a currency in the masked text the number is read from


def _currency(text: str) -> str | None:
    for code in re.findall(_CODE, text):
        if code in _CODES:
            return str(code)
    if re.search(_RUPEES, text):
        return "INR"
    for symbol, code in _SYMBOLS.items():
        if symbol in text:
            return code
    return None


def _mask_currencies(text: str) -> str:
    """Every currency code or symbol → ``¤`` (one character), so that its letters never count
    as digits and signs can be read around it (``-$5.00``, ``$-5.00``)."""

    def mask(match: re.Match[str]) -> str:
        word = match[0]
        return word if re.fullmatch("[A-Z]{3}", word) and word not in _CODES else _MARK

    return _CURRENCY.sub(mask, text)


# OCR letter/digit confusions, corrected only inside a number (see _fix_ocr).
_OCR_DIGITS = str.maketrans("OoIlSB", "001158")
_OCR_RUN = re.compile(r"[0-9OoIlSB]+(?:[.,'’][0-9OoIlSB]+)*")
_UNREADABLE = "\x00"


def _fix_ocr(text: str) -> str:
    """Read ``O o I l S B`` as ``0 0 1 1 5 8`` inside numbers: ``1O.00`` → ``10.00``.

    A run of digits and those letters (with separators) is corrected when it holds a real digit,
    no other letter touches it, and only ``O``/``o`` stand at its ends (``S5.00`` may be
    ``$5.00``, ``45.3l`` may be litres). A run of ``O``/``o`` and separators alone
    (``OOO,OO``) is zeros. Anything else with a digit is unreadable: replaced by NUL so that no
    value is read from it. Runs without digits (``SOS``, ``BOB``) are words and stay.
    """

    def fix(match: re.Match[str]) -> str:
        run = match[0]
        if run.isdigit() or not any(c in "OoIlSB" for c in run):
            return run
        before = text[match.start() - 1] if match.start() else " "
        after = text[match.end()] if match.end() < len(text) else " "
        has_digit = any(c.isdigit() for c in run)
        if before.isalpha() or after.isalpha():
            return _UNREADABLE * len(run) if has_digit else run
        if has_digit:
            if run[0] in "IlSB" or run[-1] in "IlSB":
                return _UNREADABLE * len(run)
            return run.translate(_OCR_DIGITS)
        if set(run) <= set("Oo.,'’") and set(run) & set(".,'’"):
            return run.translate(_OCR_DIGITS)
        return run

    return _OCR_RUN.sub(fix, text)


# Digits with separators between them; a space only before a group of exactly three digits
# (``1 234,56``), so ``3.80 7.60`` are two numbers. ``12,-`` and ``12.-`` are whole amounts;
# ``.50`` is a fraction.
_NUMBER = re.compile(
    r"(?:(?<![\w.,])[.,](?=\d))?\d(?:(?:[.,'’]|\s(?=\d{3}(?!\d)))?\d)*(?:[.,]-)?|"
    + _UNREADABLE
    + "+"
)
_CREDIT = re.compile(r"(?i)cr\b")


def _prefix_minus(core: str, gap: str) -> bool:
    """``core`` ends with "-": a minus sign, not a hyphen (``A-12``) nor a dash between words
    (``Total - 5.00``)? ``gap`` is what stands between it and the number (spaces, currency)."""
    before = core[:-1]
    if not before.strip(" " + _MARK):
        return True
    last = before[-1]
    return not (last.isalnum() or (last.isspace() and " " in gap))


def _negative(text: str, start: int, end: int) -> bool | None:
    """Whether the number at ``text[start:end]`` is negative: ``-5.00``, ``(5.00)``, ``5.00-``,
    ``5.00 CR`` (currency marks may stand in between); None for an unclosed ``(5.00``."""
    head, tail = text[:start], text[end:]
    core = head.rstrip(" " + _MARK)
    negative = opened = False
    if core.endswith("-") and _prefix_minus(core, head[len(core) :]):
        negative = True
        core = core[:-1].rstrip(" " + _MARK)
    if core.endswith("("):
        opened = True
        negative = negative or core[:-1].rstrip(" " + _MARK).endswith("-")
    rest = tail.lstrip(" " + _MARK)
    gap = tail[: len(tail) - len(rest)]
    if opened:
        if not rest.startswith(")"):
            return None
        return True
    if rest.startswith("-") and not rest[1:2].isdigit():
        if " " not in gap or not rest[1:].strip(" " + _MARK):  # "5.00-", "5.00 -" at the end
            negative = True
    elif _CREDIT.match(rest):
        negative = True
    return negative


def _number(raw: str, currency: str | None) -> Decimal | None:
    digits = re.sub(r"[,.]-$", "", raw)  # "12,-" is just 12
    digits = re.sub(r"['’\s]", "", digits)  # thousands separators that never decimals
    if digits.startswith((".", ",")):
        digits = "0" + digits
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
    if len(number.lstrip("0").split(".")[0]) > _MAX_DIGITS:
        return None
    try:
        return Decimal(number)
    except InvalidOperation:
        return None


def normalize_amount(text: str) -> Amount | None:
    """``"1.234,56 €"`` → ``Amount("1234.56", "EUR")``; None when there is no number, or when
    the number cannot be read for sure (never a wrong value).

    The last number that is not a percentage counts. Signs: ``-$5.00``, ``$-5.00``, ``(5.00)``,
    ``5.00-`` and ``5.00 CR`` are negative (refunds, credit notes). OCR confusions inside a
    number are corrected (``$1O.00`` → 10.00, see ``_fix_ocr``); ``Rs``/``Rs.`` is INR; digits
    in any script count.
    """
    if not text:
        return None
    text = _canonical(text)
    currency = _currency(text)
    masked = _fix_ocr(_mask_currencies(text))
    found = [m for m in _NUMBER.finditer(masked) if not masked[m.end() :].lstrip().startswith("%")]
    if not found or found[-1][0].startswith(_UNREADABLE):
        return None
    last = found[-1]
    negative = _negative(masked, last.start(), last.end())
    value = _number(last[0], currency)
    if value is None or negative is None:
        return None
    places = _MINOR_UNITS.get(currency or "", 2)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent <= places:
        value = value.quantize(Decimal(1).scaleb(-places))
    return Amount(str(-value if negative else value), currency)


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
_MONTH_DAY = re.compile(  # starts at a word's start: linear time on long runs of letters
    r"(?<![^\W\d_])" + _WORD + r"[\s\-/]*(\d{1,2})(?:st|nd|rd|th)?[\s,\-/.]+(\d{4}|\d{2})(?!\d)"
)
# 2024年1月3日 (Chinese, Japanese), 令和6年1月3日 (Japanese era years), 2024년 1월 3일 (Korean)
_CJK = re.compile(
    r"(?:(令和|平成|昭和)\s*(元|\d{1,2})|(?<!\d)(\d{4}|\d{2}))\s*[年년]\s*(\d{1,2})\s*[月월]"
    r"\s*(\d{1,2})(?!\d)\s*[日일]?"
)
_ERAS = {"令和": 2018, "平成": 1988, "昭和": 1925}  # year 1 (元年) of each era is this + 1
# ISO 8601 basic format, 20240103 (optionally with a time, 20240103T142200): years 1900-2099
_COMPACT = re.compile(r"(?<!\d)((?:19|20)\d\d)(\d\d)(\d\d)(?!\d)")


def normalize_date(text: str, day_first: bool | None = None) -> str | None:
    """``"03/01/24"`` → ``"2024-01-03"`` (day first) or ``"2024-03-01"`` (month first).

    ``day_first=None`` means: decide from the numbers when one of them exceeds 12, else month
    first — except dotted dates (``03.01.2024``), which are day first everywhere they are used.
    Also read: ``2024年1月3日`` (and Japanese era years, ``令和6年1月3日``), ``2024년 1월 3일``,
    ``20240103`` (only when nothing else in the text is a date), digits in any script.
    """
    if not text:
        return None
    text = _canonical(text)
    text = re.sub(r"(?i)\b(?:de|of)\b", " ", text)  # "15 de enero de 2024", "3rd of May"
    if found := _ISO.search(text):
        return _date(int(found[1]), int(found[2]), int(found[3]))
    if found := _CJK.search(text):
        if found[1]:
            year = _ERAS[found[1]] + (1 if found[2] == "元" else int(found[2]))
        else:
            year = _year(found[3])
        return _date(year, int(found[4]), int(found[5]))
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
    if found := _COMPACT.search(text):
        return _date(int(found[1]), int(found[2]), int(found[3]))
    return None

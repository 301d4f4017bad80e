"""Likely duplicates: the same receipt photographed and scanned (different bytes, so a different
content hash) is flagged ``possible_duplicate_of`` the first such row when merchant, date and total
agree.

- The date (ISO) and the total (Decimal) must be equal, and the currencies must not disagree (one
  missing is fine: a photo may lose the symbol).
- The merchant is compared after OCR-tolerant normalisation (:func:`merchant_key`: NFKC, case
  folded, only letters and digits, the look-alikes ``0 1 i | 5 8`` read as ``o l l l s b``): the
  normalised Levenshtein distance must be at most :data:`MERCHANT_TOLERANCE`.
- A flagged row stays in the totals (a false alarm must not lose money) until the user confirms
  it: ``--drop-duplicates`` confirms every flagged row of the run, and a row whose
  ``duplicate_of`` names the same file as its ``possible_duplicate_of`` (typed or copied into the
  report by the user) is a confirmation that re-runs keep. A confirmed row is left out of the
  totals like a byte-identical duplicate (``_rows.summarize``).

Rows are bucketed by (date, total) first, so a report of thousands of receipts compares only the
few rows that could match. ``_run.py`` applies :func:`mark_possible_duplicates` to the ordered rows
before every write.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal

from ._rows import Row

__all__ = [
    "MERCHANT_TOLERANCE",
    "confirmed",
    "mark_possible_duplicates",
    "merchant_key",
    "same_merchant",
]

MERCHANT_TOLERANCE = 0.2  # edits / length of the longer name
_LOOK_ALIKES = str.maketrans({"0": "o", "1": "l", "i": "l", "|": "l", "5": "s", "8": "b"})


def merchant_key(name: str) -> str:
    """The merchant as compared: ``"ACME  C0FFEE-Roasters"`` → ``"acmecoffeeroasters"``."""
    folded = unicodedata.normalize("NFKC", name).casefold().translate(_LOOK_ALIKES)
    return "".join(ch for ch in folded if ch.isalnum())


def _distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance of ``a`` and ``b``, or ``limit + 1`` once it must exceed ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        if min(current) > limit:
            return limit + 1
        previous = current
    return previous[-1]


def same_merchant(a: str, b: str) -> bool:
    """True when two merchant names differ by OCR noise only (see the module docstring)."""
    ka, kb = merchant_key(a), merchant_key(b)
    if not ka or not kb:
        return False
    limit = int(MERCHANT_TOLERANCE * max(len(ka), len(kb)))
    return _distance(ka, kb, limit) <= limit


def confirmed(row: Row) -> bool:
    """A likely duplicate the user confirmed: ``duplicate_of`` names its possible first copy."""
    return row.possible_duplicate_of is not None and row.duplicate_of == row.possible_duplicate_of


def _candidate(row: Row) -> tuple[str, Decimal] | None:
    if row.error is not None or row.date is None or row.total is None or not row.merchant:
        return None
    return row.date, row.total


def mark_possible_duplicates(
    rows: Sequence[Row], *, drop: bool = False, keep_confirmed: Iterable[str] = ()
) -> list[Row]:
    """``rows`` with ``possible_duplicate_of`` recomputed (new Row objects where it changes).

    Byte-identical duplicates (``duplicate_of`` set and not a confirmation) are left as they are.
    A flagged row is confirmed (``duplicate_of`` = its first copy) when ``drop`` is true, when it
    was confirmed before (:func:`confirmed`), or when its sha256 is in ``keep_confirmed``.
    """
    keep = set(keep_confirmed)
    firsts: dict[tuple[str, Decimal], list[Row]] = {}
    out: list[Row] = []
    for row in rows:
        was_confirmed = confirmed(row)
        if row.duplicate_of is not None and not was_confirmed:  # byte-identical
            out.append(
                row if row.possible_duplicate_of is None else row.copy(possible_duplicate_of=None)
            )
            continue
        key = _candidate(row)
        first = None
        if key is not None:
            bucket = firsts.setdefault(key, [])
            first = next(
                (
                    f
                    for f in bucket
                    if (row.currency is None or f.currency is None or row.currency == f.currency)
                    and same_merchant(row.merchant or "", f.merchant or "")
                ),
                None,
            )
            if first is None:
                bucket.append(row)
        confirm = drop or was_confirmed or row.sha256 in keep
        possible = None if first is None else first.file
        duplicate = possible if confirm else None
        if (row.possible_duplicate_of, row.duplicate_of) == (possible, duplicate):
            out.append(row)  # unchanged: no copy (this runs before every checkpoint write)
        else:
            out.append(row.copy(possible_duplicate_of=possible, duplicate_of=duplicate))
    return out

"""Labelled synthetic documents: rendered receipts and dense A4 invoices with known fields.

The built-in set of the accuracy gate (``expense_cli/engine/_gate.py``, run by ``expense-cli
build``) and the documents of ``bench/bench_speed.py``. Every document is written with a
sidecar JSON of its expected fields, the format ``expense-cli eval`` reads
(``expense_cli/engine/_eval.py``):
``invoice-03.pdf`` + ``invoice-03.json`` = ``{"fields": {"total": "1234.56", ...}}``.

Variety on purpose: three invoice layouts (header/table/totals; bill-to first with the vendor in
the footer; key: value blocks), currencies written four ways (``USD 1,234.56``, ``1.234,56 EUR``,
``CHF 1'234.56``, ``GBP 99.10``), dates written the way each currency's country does
(``03/01/2024`` month first with USD, ``01.03.2024`` day first with EUR, ``3 January 2024``,
``2024-01-03``), one page or several (totals on the last). Invoices are PDFs with a text layer
(Helvetica, Latin-1: no OCR needed, the words are exact); receipts are PNG images that are OCR'd.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from .synthetic import receipt_pdf, render_receipt

__all__ = ["LabelledDocument", "invoice", "labelled_set", "receipt"]

_VENDORS = (
    ("Northwind Traders Ltd", "221 Baker Street London NW1 6XE"),
    ("Mueller und Soehne GmbH", "Hauptstrasse 12 10115 Berlin"),
    ("Contoso Consulting Inc", "500 Fifth Avenue New York NY 10110"),
    ("Alpenblick Software AG", "Bahnhofstrasse 7 8001 Zuerich"),
    ("Fabrikam Office Supplies", "18 Rue de Rivoli 75004 Paris"),
    ("Tailspin Logistics LLC", "4100 Harbor Drive San Diego CA 92101"),
)
_CUSTOMERS = ("Adventure Works", "Blue Yonder Airlines", "Litware Labs", "Wingtip Toys")
_ITEMS = (
    "Consulting hours senior engineer",
    "Annual software licence renewal",
    "Shipping and handling charges",
    "Printer paper A4 80g box",
    "Cloud hosting monthly plan",
    "Onsite installation and setup",
    "USB-C docking station",
    "Training workshop full day",
    "Maintenance contract quarterly",
    "Ergonomic office chair black",
)
_FILLER = str.split(
    "Payment is due within 30 days of the invoice date. Late payments accrue interest at the "
    "statutory rate. Please quote the invoice number with every payment. Goods remain our "
    "property until paid in full. Questions about this invoice: accounts department."
)
# currency code → (how an amount is written, how the date is written, tax label, tax rate)
_STYLES: dict[str, tuple[str, str, str, Decimal]] = {
    "USD": ("{code} {us}", "%m/%d/%Y", "Sales tax", Decimal("0.08")),
    "EUR": ("{eu} {code}", "%d.%m.%Y", "VAT", Decimal("0.19")),
    "CHF": ("{code} {ch}", "%Y-%m-%d", "MWST", Decimal("0.081")),
    "GBP": ("{code} {us}", "{day} %B %Y", "VAT", Decimal("0.20")),
}


@dataclass(frozen=True)
class LabelledDocument:
    name: str  # file name, e.g. invoice-03.pdf
    data: bytes
    fields: dict[str, str]  # expected values: amounts as decimals, dates ISO 8601
    pages: int
    words: int  # words on the densest page


def _money(value: Decimal, code: str) -> str:
    us = f"{value:,.2f}"
    eu = us.replace(",", "_").replace(".", ",").replace("_", ".")
    ch = us.replace(",", "'")
    return _STYLES[code][0].format(code=code, us=us, eu=eu, ch=ch)


def _date(day: dt.date, code: str) -> str:
    pattern = _STYLES[code][1].replace("{day}", str(day.day))
    return day.strftime(pattern)


def _labels(
    vendor: tuple[str, str], number: str, day: dt.date, sub: Decimal, tax: Decimal
) -> dict[str, str]:
    return {
        "merchant": vendor[0],
        "merchant_address": vendor[1],
        "receipt_number": number,
        "date": day.isoformat(),
        "subtotal": f"{sub:.2f}",
        "tax": f"{tax:.2f}",
        "total": f"{sub + tax:.2f}",
    }


def _line_items(rng: random.Random, count: int, code: str) -> tuple[list[str], Decimal]:
    lines, subtotal = [], Decimal(0)
    for i in range(count):
        quantity = rng.randint(1, 12)
        price = Decimal(rng.randint(150, 90_000)) / 100
        amount = price * quantity
        subtotal += amount
        item = rng.choice(_ITEMS)
        sku = f"SKU-{rng.randint(1000, 9999)}"
        lines.append(
            f"{i + 1:>2}  {sku}  {item}  {quantity} x {_money(price, code)}  {_money(amount, code)}"
        )
    return lines, subtotal


def invoice(seed: int, *, pages: int = 1, layout: int | None = None) -> LabelledDocument:
    """A dense A4 invoice PDF (text layer, 200-300 words a page) and its expected fields."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    layout = rng.randrange(3) if layout is None else layout % 3
    code = rng.choice(sorted(_STYLES))
    vendor = rng.choice(_VENDORS)
    number = f"INV-{rng.randint(2020, 2026)}-{rng.randint(0, 99999):05d}"
    day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
    # continuation pages are all table; the last one has the totals and terms as well
    counts = [rng.randint(18, 22) for _ in range(pages - 1)] + [rng.randint(14, 18)]
    per_page = [_line_items(rng, count, code) for count in counts]
    sub = sum((total for _, total in per_page), Decimal(0))
    tax = (sub * _STYLES[code][3]).quantize(Decimal("0.01"))
    header = {
        0: [vendor[0], vendor[1], "", f"INVOICE  No. {number}", f"Invoice date {_date(day, code)}",
            f"Bill to: {rng.choice(_CUSTOMERS)}", ""],
        1: [f"Bill to: {rng.choice(_CUSTOMERS)}", "Attn: Accounts Payable", "",
            f"Invoice number: {number}    Date of issue: {_date(day, code)}", ""],
        2: [f"Vendor: {vendor[0]}", f"Address: {vendor[1]}", f"Invoice no: {number}",
            f"Issued: {_date(day, code)}", f"Customer: {rng.choice(_CUSTOMERS)}", ""],
    }[layout]  # fmt: skip
    totals = [
        "",
        f"Subtotal  {_money(sub, code)}",
        f"{_STYLES[code][2]} {_STYLES[code][3] * 100:g}%  {_money(tax, code)}",
        f"Total due  {_money(sub + tax, code)}",
        "",
    ]
    footer = [" ".join(_FILLER[: rng.randint(12, len(_FILLER))])]
    if layout == 1:
        footer += [f"{vendor[0]}  {vendor[1]}"]
    texts: list[list[str]] = []
    for index, (items, _) in enumerate(per_page):
        lines = list(header) if index == 0 else [f"{vendor[0]}  Invoice {number} (continued)"]
        lines += ["No  Item  Description  Qty x Unit price  Amount", *items]
        if index == pages - 1:
            lines += totals + footer
        lines.append(f"Page {index + 1} of {pages}")
        texts.append(lines)
    words = max(sum(len(line.split()) for line in lines) for lines in texts)
    data = receipt_pdf([], text_layer=texts)
    return LabelledDocument(
        f"invoice-{seed:03d}.pdf", data, _labels(vendor, number, day, sub, tax), pages, words
    )


def receipt(seed: int) -> LabelledDocument:
    """A rendered till receipt (PNG, read by OCR) and its expected fields."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    code = rng.choice(["USD", "EUR", "GBP"])
    vendor = rng.choice(_VENDORS)
    number = f"{rng.randint(0, 999_999):06d}"
    day = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
    prices = [Decimal(rng.randint(150, 4_000)) / 100 for _ in range(rng.randint(2, 5))]
    sub = sum(prices, Decimal(0))
    tax = (sub * _STYLES[code][3]).quantize(Decimal("0.01"))
    items = [f"{rng.choice(_ITEMS).split()[0]}  {price:.2f}" for price in prices]
    lines = [
        vendor[0].upper(),
        vendor[1][:34],
        f"Receipt No {number}",
        f"Date {_date(day, code)}",
        *items,
        f"Subtotal  {sub:.2f}",
        f"{_STYLES[code][2]}  {tax:.2f}",
        f"TOTAL {_money(sub + tax, code)}",
        "Thank you",
    ]
    buffer = io.BytesIO()
    render_receipt(lines).save(buffer, format="PNG")
    fields = _labels((vendor[0].upper(), vendor[1][:34]), number, day, sub, tax)
    return LabelledDocument(f"receipt-{seed:03d}.png", buffer.getvalue(), fields, 1, 0)


def labelled_set(
    out_dir: str | Path, *, receipts: int = 3, invoices: int = 6, seed: int = 0
) -> list[Path]:
    """Write ``receipts`` receipts and ``invoices`` invoices (every layout, one to three pages)
    with their sidecar JSON into ``out_dir``; the document paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    documents: Sequence[LabelledDocument] = [
        *(receipt(seed + i) for i in range(receipts)),
        *(invoice(seed + i, pages=1 + i % 3, layout=i) for i in range(invoices)),
    ]
    written = []
    for document in documents:
        path = out / document.name
        path.write_bytes(document.data)
        sidecar = {"fields": document.fields}
        path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2) + "\n")
        written.append(path)
    return written

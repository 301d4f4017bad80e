"""Synthetic receipts and randomly initialised models, for tests, benchmarks and offline demos.

Nothing here is a trained model. ``build_model(..., plant=...)`` makes a tiny LayoutLM whose
weights are set by hand so that it answers with a chosen marker word: a deterministic model that
lets tests check the plumbing (windows, pages, spans, the token head) end to end.
"""

from __future__ import annotations

import json
import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

__all__ = [
    "INVOICE_VOCABULARY",
    "RECEIPT_ANSWERS",
    "RECEIPT_LINES",
    "FieldPlant",
    "Plant",
    "build_model",
    "dense_invoice",
    "receipt_pdf",
    "render_receipt",
    "word_boxes",
]

RECEIPT_LINES: tuple[str, ...] = (
    "ACME COFFEE ROASTERS",
    "12 Market Street, Springfield",
    "Receipt No 004217",
    "Date 03/01/2024  14:22",
    "Cappuccino        2 x 3.80    7.60",
    "Croissant                     2.90",
    "Orange juice                  4.10",
    "Subtotal                     14.60",
    "VAT 19%                       2.77",
    "TOTAL EUR                    17.37",
    "Card payment            VISA  17.37",
    "Thank you for your visit",
)


def render_receipt(
    lines: Sequence[str] = RECEIPT_LINES,
    *,
    width: int = 1000,
    height: int = 1400,
    font_size: int = 30,
    margin: int = 60,
) -> Image.Image:
    """A clean receipt image (white paper, black text) that tesseract reads reliably."""
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=font_size)
    for line, y in zip(lines, _line_tops(len(lines), font_size, margin), strict=True):
        draw.text((margin, y), line, fill=0, font=font)
    return image


def _line_tops(count: int, font_size: int, margin: int) -> list[int]:
    return [margin + i * int(font_size * 1.7) for i in range(count)]


def word_boxes(
    lines: Sequence[str] = RECEIPT_LINES,
    *,
    width: int = 1000,
    height: int = 1400,
    font_size: int = 30,
    margin: int = 60,
) -> list[list[tuple[float, float, float, float]]]:
    """Per line, the ink box (pixels) of each whitespace-separated word as
    :func:`render_receipt` draws it with the same arguments: where OCR will find the words."""
    draw = ImageDraw.Draw(Image.new("L", (width, height), 255))
    font = ImageFont.load_default(size=font_size)
    boxes: list[list[tuple[float, float, float, float]]] = []
    for line, y in zip(lines, _line_tops(len(lines), font_size, margin), strict=True):
        row = []
        for word in re.finditer(r"\S+", line):
            x = margin + draw.textlength(line[: word.start()], font=font)
            left, top, right, bottom = draw.textbbox((x, y), word.group(), font=font)
            row.append((float(left), float(top), float(right), float(bottom)))
        boxes.append(row)
    return boxes


def receipt_pdf(pages: Sequence[Image.Image], *, text_layer: Sequence[Sequence[str]] = ()) -> bytes:
    """A PDF of the given page images; with ``text_layer``, those lines as real PDF text."""
    import io

    if not text_layer:
        buffer = io.BytesIO()
        first, *rest = [page.convert("RGB") for page in pages]
        first.save(buffer, format="PDF", save_all=True, append_images=rest, resolution=150)
        return buffer.getvalue()
    return _text_pdf(text_layer)


def _text_pdf(pages: Sequence[Sequence[str]]) -> bytes:
    """A minimal PDF (Helvetica text, A4) written by hand: one page per list of lines."""
    objects: list[bytes] = []
    kids = []
    for i, lines in enumerate(pages):
        content = (
            "BT /F1 12 Tf 14 TL 72 770 Td "
            + " ".join(
                "(" + line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") + ") '"
                for line in lines
            )
            + " ET"
        )
        page_id, content_id = 4 + 2 * i, 5 + 2 * i
        kids.append(f"{page_id} 0 R")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents {content_id} 0 R "
            "/Resources << /Font << /F1 3 0 R >> >> >>".encode()
        )
        data = content.encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
    head = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(head + objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(offsets) + 1,
        xref,
    )
    return bytes(out)


_NAMES = ("ACME", "Müller & Söhne GmbH", "Zoë's Café", "O'Brien-Smith Ltd.", "株式会社サンプル",
          "𝔄𝔠𝔪𝔢 𝔚𝔥𝔬𝔩𝔢𝔰𝔞𝔩𝔢", "Łódź Trading", "ΑΒΓ Εμπορική", "Smith, Jones & Co")  # fmt: skip
_ITEMS = ("Consulting hours", "Widget (blue)", "Shipping & handling", "Licence 12 months",
          "Café crème", "Cable 3m USB-C", "Service fee", "Röstkaffee 1kg", "Discount -5%",
          "Paper A4 500 sheets", "Item 🧾 misc", "Installation/setup")  # fmt: skip
_LABELS = ("Invoice", "No.", "Date:", "Due", "Bill to:", "Ship to:", "VAT", "Subtotal",
           "Total", "Amount due", "Qty", "Unit price", "IBAN", "Reference", "Page", "of", "EUR",
           "USD")  # fmt: skip
# the invoice words a real 30-50k token vocabulary holds whole (for build_model's vocab_words)
INVOICE_VOCABULARY: tuple[str, ...] = tuple(" ".join(_LABELS + _ITEMS + _NAMES).split())


def _invoice_word(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.3:
        value = rng.randint(1, 999_999) / 100
        return rng.choice([f"{value:,.2f}", f"€{value:.2f}", f"{value:.2f}", f"${value:,.2f}",
                           f"{value:_.2f}".replace("_", ".").replace(".", ",", 1)])  # fmt: skip
    if kind < 0.4:
        return rng.choice(["03/01/2024", "2024-01-03", "1.3.24", "Jan", "3rd,", "14:22"])
    if kind < 0.5:
        return f"INV-{rng.randint(0, 99999):05d}"
    if kind < 0.75:
        return rng.choice(_LABELS)
    return rng.choice(rng.choice(rng.choice([_ITEMS, _NAMES])).split())


def dense_invoice(
    seed: int, *, pages: tuple[int, int] = (2, 4), words: tuple[int, int] = (250, 650)
) -> list[tuple[list[str], list[tuple[int, int, int, int]]]]:
    """Random dense invoice pages (words + boxes in 0..1000, rows left to right): amounts, dates,
    invoice numbers, labels and names in several scripts, some outside the BMP. Hundreds of words
    a page, so a page needs several 512-token windows."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    out = []
    for _ in range(rng.randint(*pages)):
        page = [w for w in (_invoice_word(rng) for _ in range(rng.randint(*words))) if w.strip()]
        boxes = []
        x, y = 20, 20
        for word in page:
            width = min(200, 12 * len(word))
            if x + width > 990:
                x, y = 20, y + 12
            top = min(y, 985)
            boxes.append((x, top, x + width, top + 10))
            x += width + 8
        out.append((page, boxes))
    return out


@dataclass(frozen=True)
class Plant:
    """Hand-set weights: answers start at word ``start`` and end at word ``end``.

    With ``keep`` (token head checkpoints only), the head marks just those words as answer
    tokens, so the answer skips the words between them.
    """

    start: str
    end: str
    keep: tuple[str, ...] = ()


@dataclass(frozen=True)
class FieldPlant:
    """Hand-set weights for one field: a question containing ``keyword`` is answered with words
    ``first``..``last`` (0-based, whitespace-separated) of line ``line`` of the rendered receipt.

    Where several keywords are in one question (``merchant address``), the highest ``priority``
    wins.
    """

    keyword: str
    line: int
    first: int
    last: int
    priority: float = 1.0


# One planted answer per expense field of RECEIPT_LINES (expense_cli/engine/_fields.py asks
# "What is the <keyword> ...?"): what `expense-cli demo` shows when the Hub is unreachable.
RECEIPT_ANSWERS: tuple[FieldPlant, ...] = (
    FieldPlant("merchant", 0, 0, 2),  # ACME COFFEE ROASTERS
    FieldPlant("address", 1, 0, 3, priority=2.0),  # 12 Market Street, Springfield
    FieldPlant("number", 2, 2, 2),  # 004217
    FieldPlant("date", 3, 1, 1),  # 03/01/2024
    FieldPlant("subtotal", 7, 1, 1),  # 14.60
    FieldPlant("tax", 8, 2, 2),  # 2.77
    FieldPlant("total", 9, 1, 2),  # EUR 17.37 (the currency, so amounts and dates normalise)
)


_CORPUS = " ".join(RECEIPT_LINES) + (
    " what is the merchant name address date total amount subtotal tax receipt number"
    " invoice due vendor customer paid card cash change item qty price"
)


def build_model(
    out_dir: Path,
    *,
    size: str = "tiny",
    tokenizer: str = "wordpiece",
    token_head: bool = False,
    plant: Plant | None = None,
    fields: Sequence[FieldPlant] = (),
    seed: int = 0,
    vocab_words: Sequence[str] = (),
) -> Path:
    """Save a randomly initialised LayoutLM QA checkpoint (+ tokenizer) to ``out_dir``.

    ``size="tiny"``: 2 layers × 32 hidden (tests); ``"base"``: 12 × 768 like the real model
    (benchmarks; speed does not depend on the weights). ``vocab_words`` become whole tokens, as
    they would in a real 50k-token vocabulary (sequence length, and so speed, depends on it).

    ``plant`` answers every question with the same marker words; ``fields`` (e.g.
    :data:`RECEIPT_ANSWERS`) instead answers each field's question with that field's words of the
    :func:`render_receipt` image: a one-layer model (``_plant_fields``), used by
    ``expense-cli demo`` offline (expense_cli/cli/demo.py).
    """
    import torch
    from transformers import AutoTokenizer, LayoutLMConfig, LayoutLMForQuestionAnswering
    from transformers.utils import logging as hf_logging

    if fields and (plant is not None or token_head or size != "tiny"):
        raise ValueError("fields= builds its own tiny model: no plant, token_head or size")
    hf_logging.disable_progress_bar()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = [*(plant.start, plant.end, *plant.keep)] if plant else []
    extra += [w.strip(string.punctuation) for w in vocab_words]
    extra += [f(field.keyword) for field in fields for f in (str.lower, str.capitalize, str.upper)]
    if tokenizer == "wordpiece":
        _wordpiece(out_dir, extra)
    elif tokenizer == "bpe":
        _bpe(out_dir, extra)
    else:
        raise ValueError(f"unknown tokenizer kind {tokenizer!r}")
    tok = AutoTokenizer.from_pretrained(str(out_dir))
    dims = {"tiny": (32, 2, 2, 64), "base": (768, 12, 12, 3072)}[size]
    if fields:
        dims = (_FIELD_HIDDEN, 1, 1, len(fields))
    hidden, layers, heads, intermediate = dims
    config = LayoutLMConfig(  # type: ignore[call-arg]
        vocab_size=len(tok),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
        hidden_act="relu" if fields else "gelu",
        max_position_embeddings=514 if tokenizer == "bpe" else 512,
        max_2d_position_embeddings=1024,
        type_vocab_size=2,
        pad_token_id=tok.pad_token_id,
        token_classification=token_head,  # the invoices checkpoint's extra flag
        # tiny models: larger random weights, so different inputs give clearly different answers
        initializer_range=0.3 if size == "tiny" else 0.02,
    )
    torch.manual_seed(seed)
    from .engine._qa import DocumentQAModel

    model = DocumentQAModel(config) if token_head else LayoutLMForQuestionAnswering(config)
    if plant is not None:
        _plant(model, tok, plant)
    if fields:
        _plant_fields(model, tok, fields)
    model.save_pretrained(str(out_dir))
    tok.save_pretrained(str(out_dir))
    return out_dir


def _words(extra: Sequence[str]) -> list[str]:
    words = {w.lower().strip(string.punctuation) for w in _CORPUS.split()} | {
        w.lower() for w in extra
    }
    return sorted(w for w in words if w)


def _wordpiece(out_dir: Path, extra: Sequence[str]) -> None:
    chars = string.ascii_lowercase + string.digits + string.punctuation + "€£$"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab += list(chars) + ["##" + c for c in chars] + _words(extra)
    (out_dir / "vocab.txt").write_text("\n".join(dict.fromkeys(vocab)) + "\n")
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "BertTokenizer", "do_lower_case": True,
                    "model_max_length": 512})
    )  # fmt: skip


def _bpe(out_dir: Path, extra: Sequence[str]) -> None:
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer(add_prefix_space=True)
    corpus = [_CORPUS, " ".join(_words(extra)), " ".join(extra)]
    bpe.train_from_iterator(
        corpus, vocab_size=600, min_frequency=1,
        special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"],
    )  # fmt: skip
    bpe.save_model(str(out_dir))
    (out_dir / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "RobertaTokenizer", "add_prefix_space": True,
                    "model_max_length": 512})
    )  # fmt: skip


def _plant(model: Any, tok: Any, plant: Plant) -> None:
    """Route the marker words' identity through the (silenced) encoder to the output heads."""
    import torch

    start_dim, end_dim, keep_dim = 0, 1, 2
    with torch.no_grad():
        emb = model.layoutlm.embeddings
        for table in (emb.word_embeddings, emb.position_embeddings, emb.token_type_embeddings,
                      emb.x_position_embeddings, emb.y_position_embeddings,
                      emb.h_position_embeddings, emb.w_position_embeddings):  # fmt: skip
            table.weight[:, :3] = 0.0
        for layer in model.layoutlm.encoder.layer:  # every layer becomes LayerNorm(identity)
            layer.attention.output.dense.weight.zero_()
            layer.attention.output.dense.bias.zero_()
            layer.output.dense.weight.zero_()
            layer.output.dense.bias.zero_()
        for word, dim in [(plant.start, start_dim), (plant.end, end_dim)] + [
            (w, keep_dim) for w in (plant.start, plant.end, *plant.keep)
        ]:
            for token in tok(word, add_special_tokens=False)["input_ids"]:
                emb.word_embeddings.weight[token, dim] = 4.0
        model.qa_outputs.weight.zero_()
        model.qa_outputs.bias.zero_()
        model.qa_outputs.weight[0, start_dim] = 10.0
        model.qa_outputs.weight[1, end_dim] = 10.0
        head = getattr(model, "token_classifier_head", None)
        if head is not None:
            # markers end with ~+2 in keep_dim, every other token with ~-2: a wide margin at 0
            model.layoutlm.encoder.layer[-1].output.LayerNorm.bias[keep_dim] = -2.0
            head.weight.zero_()
            head.bias.zero_()
            head.weight[1, keep_dim] = 10.0


_FIELD_HIDDEN = 64
_ANCHOR = 1000.0  # ±_ANCHOR in two dimensions: every LayerNorm sees (almost) the same spread


def _plant_fields(model: Any, tok: Any, fields: Sequence[FieldPlant]) -> None:
    """One layer that answers each field's question with that field's words of the receipt.

    Embeddings: the question keyword tokens carry "field f is asked" (a one-hot) and a key
    strength (its priority); every token's 1-D position says whether it is in the question (the
    first positions; context tokens' type 1 takes that back) and where it is (tie-break); its box
    says, per field, whether it lies on that field's line and columns (x and y tables, 0.5 for
    each of the 4 coordinates inside). Attention: a constant query, so every token attends to the
    question's keyword and copies its one-hot. Feed-forward: ReLU(asked_f + inside_f - 2.5), an
    AND, summed into one "answer" dimension that the QA head reads; the start (end) logit also
    falls (rises) with the position, so the span runs from the first to the last answer token.

    Two constant anchor dimensions (+/-_ANCHOR) and a balance dimension that keeps every
    vector's mean at 0 make each LayerNorm a fixed scaling, undone by its weight.
    """
    import torch

    n = len(fields)
    anchor_pos, anchor_neg, balance, key, question, position, answer = range(7)
    asked = list(range(7, 7 + n))
    got = list(range(7 + n, 7 + 2 * n))
    inside = list(range(7 + 2 * n, 7 + 3 * n))
    hidden = model.config.hidden_size
    if inside[-1] >= hidden:
        raise ValueError(f"too many fields for a {hidden}-wide model")
    scale = _ANCHOR * (2 / hidden) ** 0.5  # the anchors' standard deviation
    boxes = word_boxes()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.zero_()
        emb = model.layoutlm.embeddings
        for f, field in enumerate(fields):
            for token in _keyword_tokens(tok, field.keyword):
                emb.word_embeddings.weight[token, key] = field.priority
                emb.word_embeddings.weight[token, asked[f]] = 1.0
            x0, x1, y0, y1 = _field_region(boxes, field)
            emb.x_position_embeddings.weight[x0:x1, inside[f]] = 0.5
            emb.y_position_embeddings.weight[y0:y1, inside[f]] = 0.5
        positions = emb.position_embeddings.weight
        positions[:, anchor_pos] = _ANCHOR
        positions[:, anchor_neg] = -_ANCHOR
        positions[:16, question] = 1.0
        positions[:, position] = torch.arange(positions.shape[0]) / 100
        emb.token_type_embeddings.weight[1, question] = -1.0
        for table in (emb.word_embeddings, emb.position_embeddings, emb.token_type_embeddings,
                      emb.x_position_embeddings, emb.y_position_embeddings):  # fmt: skip
            table.weight[:, balance] = -table.weight.sum(dim=1)
        layer = model.layoutlm.encoder.layer[0]
        attention = layer.attention.self
        attention.query.bias[0] = 1.0
        head = attention.attention_head_size**0.5
        attention.key.weight[0, key] = 40.0 * head  # question keyword: 80+, others <= 40+...
        attention.key.weight[0, question] = 40.0 * head
        for f in range(n):
            attention.value.weight[f, asked[f]] = 1.0
            layer.attention.output.dense.weight[got[f], f] = 1.0
            layer.attention.output.dense.weight[balance, f] = -1.0
            layer.intermediate.dense.weight[f, got[f]] = 1.0
            layer.intermediate.dense.weight[f, inside[f]] = 1.0
            layer.intermediate.dense.bias[f] = -2.5
            layer.output.dense.weight[answer, f] = 2.0
            layer.output.dense.weight[balance, f] = -2.0
        for norm in (emb.LayerNorm, layer.attention.output.LayerNorm, layer.output.LayerNorm):
            norm.weight.fill_(scale)
        qa = model.qa_outputs.weight  # answer tokens: +4000; 5 logits per token of position
        qa[0, answer] = qa[1, answer] = 4000.0
        qa[0, position], qa[1, position] = -500.0, 500.0


def _keyword_tokens(tok: Any, keyword: str) -> set[int]:
    """The keyword's token ids as it may be written (a cased BPE vocabulary has several)."""
    found = set()
    for variant in (keyword.lower(), keyword.capitalize(), keyword.upper()):
        ids = tok(variant, add_special_tokens=False)["input_ids"]
        if len(ids) == 1:
            found.add(ids[0])
        elif variant == keyword.lower():
            raise ValueError(f"keyword {keyword!r} is not one token: {ids}")
    return found


def _field_region(
    boxes: Sequence[Sequence[tuple[float, float, float, float]]], field: FieldPlant
) -> tuple[int, int, int, int]:
    """Grid ranges [x0, x1) and [y0, y1) that hold the field's words and no other word whole:
    the columns of its words (+/- 12 px) and its line's band (half a line pitch each side)."""
    width, height, pitch, tolerance = 1000, 1400, int(30 * 1.7), 12  # render_receipt's defaults
    line = boxes[field.line]
    left, right = line[field.first][0] - tolerance, line[field.last][2] + tolerance
    middle = (min(b[1] for b in line) + max(b[3] for b in line)) / 2
    top, bottom = middle - pitch / 2, middle + pitch / 2
    return (
        int(1000 * left / width),
        int(1000 * right / width) + 1,
        int(1000 * top / height),
        int(1000 * bottom / height) + 1,
    )

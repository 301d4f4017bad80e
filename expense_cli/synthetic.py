"""Synthetic receipts and randomly initialised models, for tests, benchmarks and offline demos.

Nothing here is a trained model. ``build_model(..., plant=...)`` makes a tiny LayoutLM whose
weights are set by hand so that it answers with a chosen marker word: a deterministic model that
lets tests check the plumbing (windows, pages, spans, the token head) end to end.
"""

from __future__ import annotations

import json
import string
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw, ImageFont

__all__ = ["RECEIPT_LINES", "Plant", "build_model", "receipt_pdf", "render_receipt"]

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
    y = margin
    for line in lines:
        draw.text((margin, y), line, fill=0, font=font)
        y += int(font_size * 1.7)
    return image


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


@dataclass(frozen=True)
class Plant:
    """Hand-set weights: answers start at word ``start`` and end at word ``end``.

    With ``keep`` (token head checkpoints only), the head marks just those words as answer
    tokens, so the answer skips the words between them.
    """

    start: str
    end: str
    keep: tuple[str, ...] = ()


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
    seed: int = 0,
    vocab_words: Sequence[str] = (),
) -> Path:
    """Save a randomly initialised LayoutLM QA checkpoint (+ tokenizer) to ``out_dir``.

    ``size="tiny"``: 2 layers × 32 hidden (tests); ``"base"``: 12 × 768 like the real model
    (benchmarks; speed does not depend on the weights). ``vocab_words`` become whole tokens, as
    they would in a real 50k-token vocabulary (sequence length, and so speed, depends on it).
    """
    import torch
    from transformers import AutoTokenizer, LayoutLMConfig, LayoutLMForQuestionAnswering
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    extra = [*(plant.start, plant.end, *plant.keep)] if plant else []
    extra += [w.strip(string.punctuation) for w in vocab_words]
    if tokenizer == "wordpiece":
        _wordpiece(out_dir, extra)
    elif tokenizer == "bpe":
        _bpe(out_dir, extra)
    else:
        raise ValueError(f"unknown tokenizer kind {tokenizer!r}")
    tok = AutoTokenizer.from_pretrained(str(out_dir))
    dims = {"tiny": (32, 2, 2, 64), "base": (768, 12, 12, 3072)}[size]
    hidden, layers, heads, intermediate = dims
    config = LayoutLMConfig(  # type: ignore[call-arg]
        vocab_size=len(tok),
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        intermediate_size=intermediate,
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

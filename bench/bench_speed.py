"""Speed on dense A4 invoices (issue 15): ONNX Runtime and int8 vs torch fp32 vs the naive way.

One process, ratios against baselines measured here, on a base-size random LayoutLM with the
invoices checkpoint's token head (the real model's shape and heads, so its speed) whose
vocabulary holds the invoices' words (so sequences are as long as with the real tokenizer).
Documents: generated A4 invoices (expense_cli/synthetic_invoices.py: three layouts, 200-300
words a page, text layers, so no OCR in any path) and one 5-page invoice PDF; the cost figures use
the ~100-word rendered receipt of bench/_common.py (OCR'd), served by the container's program.

    python bench/bench_speed.py [--invoices N] [--price USD_PER_HOUR] [--vcpus N]
                                [--model DIR] [--gate]

Random weights are the worst case for int8 agreement (flat scores); the gate's choice printed
here is the one the build would make for THIS model, not for impira/layoutlm-invoices. With a
local copy of the real checkpoint (``expense-cli export impira/layoutlm-invoices DIR`` where the
Hub is reachable), ``--model DIR --gate`` measures the same figures on it and runs the build's own
accuracy gate (``run_gate``: the built-in labelled set), so "the gate's choice" row is the
configuration the image would run.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from _common import base_model, bench_receipt_lines, measure, report  # noqa: E402
from bench_server import load  # noqa: E402

from expense_cli.engine import DEFAULT_FIELDS, Engine, EngineConfig, load_document  # noqa: E402
from expense_cli.engine._eval import VARIANTS, Labelled, evaluate  # noqa: E402
from expense_cli.engine._gate import choose, run_gate  # noqa: E402
from expense_cli.engine._onnx import export_onnx  # noqa: E402
from expense_cli.engine._qa import PageWords  # noqa: E402
from expense_cli.synthetic import render_receipt  # noqa: E402
from expense_cli.synthetic_invoices import invoice  # noqa: E402
from tests._servers import server_process  # noqa: E402

QUESTIONS = [spec.question for spec in DEFAULT_FIELDS.values()]


def _model(documents: list[bytes], checkpoint: str | None) -> Path:
    """The base-size model (or ``checkpoint``), copied so that its ONNX export does not touch
    the original."""
    if checkpoint:
        source = Path(checkpoint).expanduser()
    else:
        words = {w for data in documents for p in load_document(data) for w in p.words}
        source = base_model(token_head=True, vocab_words=sorted(words))
    model = Path(tempfile.mkdtemp(prefix="bench-speed-")) / "model"
    shutil.copytree(source, model)
    export_onnx(model, int8=True)
    return model


def _peak_rss_mib(model: Path, variant: str, data: bytes) -> float:
    """Peak RSS (VmHWM) of a fresh process that loads ``variant`` and answers one document."""
    backend, int8 = VARIANTS[variant]
    code = (
        "import sys\n"
        "from expense_cli.engine import Engine, EngineConfig\n"
        f"e = Engine(EngineConfig(model={str(model)!r}, backend={backend!r}, quantize={int8!r},"
        " device='cpu'))\n"
        "e.extract(sys.stdin.buffer.read())\n"
        # VmHWM, not ru_maxrss: Linux carries ru_maxrss over exec from the forked parent
        "print([l.split()[1] for l in open('/proc/self/status') if l.startswith('VmHWM')][0])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, check=True, timeout=600
    )
    return int(out.stdout.split()[-1]) / 1024


def _naive(model: Path, documents: list[bytes]) -> float:
    """The transformers document-QA pipeline, one call per question and page (words given, as
    the text layer has them), torch fp32: seconds for all documents."""
    from transformers import pipeline

    engine = Engine(EngineConfig(model=str(model), device="cpu"))
    qa = pipeline(
        "document-question-answering", model=engine.qa.model, tokenizer=engine.qa.tokenizer
    )
    from PIL import Image

    blank = Image.new("RGB", (1240, 1754), "white")
    pages = [p for data in documents for p in load_document(data)]
    start = time.perf_counter()
    for page in pages:
        boxes = [list(box) for box in page.boxes]
        word_boxes = list(zip(page.words, boxes, strict=True))
        for question in QUESTIONS:
            qa(image=blank, question=question, word_boxes=word_boxes)
    return time.perf_counter() - start


def _forward_rows(model: Path, page: PageWords, repeat: int) -> tuple[list[tuple[str, str]], dict]:
    """One batched forward (7 questions x one dense page) per variant."""
    times: dict[str, float] = {}
    work: dict[str, float] = {}
    for variant, (backend, int8) in VARIANTS.items():
        engine = Engine(
            EngineConfig(model=str(model), backend=backend, quantize=int8, device="cpu")
        )
        start = time.perf_counter()
        inputs, _, _ = engine.qa.encode([(q, page) for q in QUESTIONS])
        work["encode"] = time.perf_counter() - start
        times[variant] = measure(lambda e=engine, i=inputs: e.qa.forward(i), repeat=repeat)
        work["tokens"] = float(inputs["attention_mask"].numel())
        work["real"] = float(inputs["attention_mask"].sum())
    base = times["torch"]
    rows = [(f"{v} forward", f"{t:.3f} s  ({base / t:.2f}x torch fp32)") for v, t in times.items()]
    return rows, work


def _padding(model: Path, data: bytes) -> list[tuple[str, str]]:
    """Padded tokens the forward computes for a multi-page document: as one padded batch (the
    engine before issue 15) and grouped by length (``_length_groups`` in the engine now)."""
    from expense_cli.engine._qa import TOKEN_BUDGET

    engine = Engine(EngineConfig(model=str(model), device="cpu"))
    pages = [PageWords(p.words, p.boxes) for p in load_document(data)]
    start = time.perf_counter()
    inputs, _, _ = engine.qa.encode([(q, p) for q in QUESTIONS for p in pages])
    encode_s = time.perf_counter() - start
    lengths = inputs["attention_mask"].sum(dim=1).tolist()
    per_chunk = max(1, TOKEN_BUDGET // inputs["input_ids"].shape[1])

    def computed(order: list[int]) -> int:
        chunks = [order[i : i + per_chunk] for i in range(0, len(order), per_chunk)]
        return sum(len(c) * max(lengths[i] for i in c) for c in chunks)

    real = sum(lengths)
    as_is = computed(list(range(len(lengths))))
    grouped = computed(sorted(range(len(lengths)), key=lambda i: lengths[i]))
    return [
        (f"{len(pages)}-page PDF: {len(lengths)} windows, tokens", f"{real}"),
        ("computed as one padded batch (before)", f"{as_is} ({as_is / real - 1:.1%} padding)"),
        (
            "computed grouped by length (the engine)",
            f"{grouped} ({grouped / real - 1:.1%} padding)",
        ),
        ("tokenising all pairs", f"{encode_s * 1000:.0f} ms"),
    ]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=1, help="one-page A4 invoices")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--price", type=float, default=0.23, help="USD/hour (ml.m5.xlarge)")
    parser.add_argument("--vcpus", type=int, default=4, help="vCPUs of that instance")
    parser.add_argument("--requests", type=int, default=4, help="server requests at c=4")
    parser.add_argument("--model", help="a local checkpoint folder instead of the random one")
    parser.add_argument(
        "--gate", action="store_true", help="choose by the build's gate (built-in labelled set)"
    )
    args = parser.parse_args()
    torch.zeros(1).sum()
    os.environ["OMP_THREAD_LIMIT"] = "1"  # tesseract subprocesses
    cores = len(os.sched_getaffinity(0))

    docs = [invoice(100 + i, pages=1, layout=i) for i in range(args.invoices)]
    docs.append(invoice(200, pages=5, layout=1))
    started = time.perf_counter()
    model = _model([d.data for d in docs], args.model)
    print(
        f"{cores} cores; {args.model or 'base LayoutLM + token head'} built and exported in "
        f"{time.perf_counter() - started:.0f} s; {args.invoices} one-page invoices "
        f"({', '.join(str(d.words) for d in docs[:-1])} words) + one 5-page invoice "
        f"({docs[-1].words} words on its densest page); {len(QUESTIONS)} questions"
    )

    # -- the forward alone, and the work around it ----------------------------------------------
    first = load_document(docs[0].data)[0]
    page = PageWords(first.words, first.boxes)
    rows, work = _forward_rows(model, page, args.repeat)
    rows.append(("tokenising the 7 pairs (once per request)", f"{work['encode'] * 1000:.0f} ms"))
    rows.append(("padding if one batch", f"{1 - work['real'] / work['tokens']:.1%} of tokens"))
    report("one batched forward, 7 questions x one A4 page", rows)
    report("padding and tokenising (less work per forward?)", _padding(model, docs[-1].data))

    # -- end to end on the invoices: every variant on the same loaded documents -----------------
    with tempfile.TemporaryDirectory() as tmp:
        labelled = []
        for d in docs:
            path = Path(tmp) / d.name
            path.write_bytes(d.data)
            labelled.append(Labelled(path, d.fields))
        config = EngineConfig(model=str(model), device="cpu")
        result = evaluate(labelled, config, list(VARIANTS))
    t_naive = _naive(model, [d.data for d in docs]) / len(docs)
    scores = {s.name: s for s in result.variants}
    chosen = choose(result.variants)
    if args.gate:
        decision = run_gate(EngineConfig(model=str(model), device="cpu"))
        rows = [(line, "") for line in decision.lines()]
        report("the build's accuracy gate (built-in labelled set)", rows)
        chosen = decision.variant
    fp32 = scores["torch"].ms_per_document / 1000
    rows = [("naive pipeline (call per question and page, fp32)", f"{t_naive:.2f} s/document")]
    for name, score in scores.items():
        seconds = score.ms_per_document / 1000
        rows.append(
            (
                f"engine {name}" + ("  <- gate's choice" if name == chosen else ""),
                f"{seconds:.2f} s/document  naive/this {t_naive / seconds:.2f}x  "
                f"torch fp32/this {fp32 / seconds:.2f}x  agreement {score.agreement:.0%}",
            )
        )
    report(
        f"end to end per document ({len(docs)} documents, {sum(d.pages for d in docs)} pages)", rows
    )

    # -- peak memory ------------------------------------------------------------------------------
    rows = [
        (variant, f"{_peak_rss_mib(model, variant, docs[0].data):.0f} MiB") for variant in VARIANTS
    ]
    report("peak RSS of a process that loads the variant and answers one A4 invoice", rows)

    # -- server throughput and cost, receipts, chosen backend (and onnx-int8) -------------------
    image = render_receipt(bench_receipt_lines())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    payload = json.dumps({"document": base64.b64encode(buffer.getvalue()).decode()}).encode()
    rows = []
    for variant in dict.fromkeys([chosen, "torch"]):
        backend, int8 = VARIANTS[variant]
        env = {"EXPENSE_BACKEND": backend, "EXPENSE_QUANTIZE": str(int(int8))}
        with server_process(model, env=env) as server:
            load(server, payload, 1, 1)  # warm-up
            one = load(server, payload, 1, 2)
            four = load(server, payload, 4, args.requests)
        per_hour_vcpu = four.throughput * 3600 / cores
        cost = args.price / (per_hour_vcpu * args.vcpus) * 1000
        rows.append(
            (
                f"{variant}: c=4 vs c=1",
                f"{four.throughput:.2f} vs {one.throughput:.2f} req/s "
                f"({four.throughput / one.throughput:.2f}x); {per_hour_vcpu:.0f} receipts/h/vCPU; "
                f"${cost:.3f} per 1,000 receipts at ${args.price}/h for {args.vcpus} vCPUs",
            )
        )
    report("server (container program, 127.0.0.1), 100-word receipt, all 7 fields", rows)


if __name__ == "__main__":
    main()

"""LayoutLM extractive question answering over OCR words, all questions × pages in one batch.

Works with any LayoutLM QA checkpoint and its tokenizer (WordPiece or RoBERTa-style BPE). When the
checkpoint carries the invoices model's extra token-classifier head (config flag
``token_classification``), the head is loaded too and used the way it was trained: decode the best
start/end span with no length cap, then keep only the tokens inside it that the head marks as part
of the answer. Without the head: the usual span decoding with a short maximum answer length.

Decoding is the reference's (impira's docquery on transformers' document-QA pipeline), so scores
mean what they meant in training (issue 19; ``tests/engine/test_decode_oracle.py`` compares the
two on random dense multi-page invoices):

- windows of 512 tokens overlapping by ``min(512 // 2, 256)`` = 256 tokens;
- the start/end softmax covers the page's tokens and the CLS token ("no answer in this window"),
  whose probability is then set to 0: a window whose mass sits on CLS scores low;
- with the head, a window whose best span has no head-marked token gives no answer (never the
  raw span); the best score over all windows and pages wins, none → empty answer, score 0.

The previous decoding (stride 128, CLS masked before the softmax, raw span fallback) survives
only in ``bench/bench_engine.py``, which counts the answers the alignment changed.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn
from transformers import AutoTokenizer, LayoutLMForQuestionAnswering, PreTrainedTokenizerBase

from ..errors import ConfigError
from ._device import resolve_device
from ._documents import Box

if TYPE_CHECKING:
    from ._onnx import OnnxModel

__all__ = ["Answer", "DocumentQAModel", "PageWords", "QAModel"]

log = logging.getLogger("expense.engine")

MAX_LENGTH = 512
STRIDE = min(MAX_LENGTH // 2, 256)  # tokens shared by consecutive windows, as the reference
TOKEN_BUDGET = 8192  # padded tokens per forward chunk: bounds activation memory
NO_ANSWER: tuple[float, tuple[int, ...]] = (-1.0, ())
DECODE_CHUNK = 64  # windows decoded at once: 64 x 512 x 512 span scores = 64 MiB at most


@dataclass(frozen=True)
class PageWords:
    words: Sequence[str]
    boxes: Sequence[Box]


@dataclass(frozen=True)
class Answer:
    question: str
    answer: str
    score: float
    page: int | None  # 1-based; None when the document has no words at all
    boxes: tuple[Box, ...] = ()  # the answer words' boxes on ``page``, 0..1000 like LayoutLM's


class DocumentQAModel(LayoutLMForQuestionAnswering):
    """Stock LayoutLM QA plus the optional ``token_classifier_head`` of the invoices checkpoint."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        if getattr(config, "token_classification", False):
            self.token_classifier_head = nn.Linear(config.hidden_size, 2)

    @property
    def has_token_head(self) -> bool:
        return hasattr(self, "token_classifier_head")

    def logits(
        self, inputs: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        hidden = self.layoutlm(**inputs)[0]
        start, end = self.qa_outputs(hidden).split(1, dim=-1)
        tokens = self.token_classifier_head(hidden) if self.has_token_head else None
        return start.squeeze(-1), end.squeeze(-1), tokens


def _is_local(source: str) -> bool:
    return Path(source).expanduser().is_dir()


def load_tokenizer(source: str, **kwargs: Any) -> PreTrainedTokenizerBase:
    """The checkpoint's own tokenizer, set up for pre-split words (BPE needs a prefix space)."""
    tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
    if getattr(tokenizer, "add_prefix_space", None) is False:
        tokenizer = AutoTokenizer.from_pretrained(source, add_prefix_space=True, **kwargs)
    if not tokenizer.is_fast:
        raise ConfigError(f"{source}: a fast tokenizer is required (word ids per token)")
    tokenizer.model_max_length = MAX_LENGTH
    tokenizer.padding_side = "right"
    return tokenizer


class QAModel:
    """Tokenizer + LayoutLM QA model, loaded once; ``answer()`` runs one batched forward."""

    model: DocumentQAModel | OnnxModel  # OnnxModel: EXPENSE_BACKEND=onnx (_onnx.py)

    def __init__(
        self,
        source: str,
        revision: str | None = None,
        *,
        quantize: bool = False,
        max_answer_tokens: int = 15,
        device: str = "auto",
        fp16: bool = False,
        backend: str = "torch",
    ) -> None:
        local = _is_local(source)
        if local:
            source = str(Path(source).expanduser())
        where = source if local else f"{source}@{revision or 'main'}"
        self.backend = backend
        self.source = where
        self.quantized = quantize
        self.fp16 = fp16 and backend != "onnx"
        self.max_answer_tokens = max_answer_tokens
        if backend == "onnx":  # the exported graph replaces the torch weights (_onnx.py)
            self._load_onnx(source, local, where, quantize)
            return
        self.device = resolve_device(device, fp16=fp16, quantize=quantize)
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # no "Loading weights" bars in the CLI or server logs
        try:
            try:  # the Hub cache first: no network round trip when the revision is there
                self.tokenizer, model, info = _load(source, local, revision, cached_only=True)
            except OSError:
                if local:
                    raise
                self.tokenizer, model, info = _load(source, local, revision, cached_only=False)
        except (OSError, ValueError) as exc:
            first_line = (
                str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            )
            raise ConfigError(f"cannot load model {where}: {first_line}") from None
        if info.get("unexpected_keys"):
            log.warning("model %s: ignored weights %s", where, info["unexpected_keys"])
        if info.get("missing_keys"):
            log.warning("model %s: freshly initialised weights %s", where, info["missing_keys"])
        model.eval()
        if quantize:
            model = _quantize(model)
        if self.device.type != "cpu":
            movable: Any = model  # transformers wraps .to() in a signature mypy misreads
            model = movable.to(self.device)
        if fp16:
            model = model.half()  # the logits are decoded in fp32 (see forward)
        self.model = model
        self._sep = self.tokenizer.sep_token_id
        self._cls = self.tokenizer.cls_token_id

    def _load_onnx(self, source: str, local: bool, where: str, int8: bool) -> None:
        """Tokenizer from the checkpoint folder, logits from its ONNX export (CPU only)."""
        from ._onnx import OnnxModel

        if not local:
            raise ConfigError(
                f"EXPENSE_BACKEND=onnx needs a local model folder with an export, not {where}: "
                f"run `expense-cli export {source} DIR` and set EXPENSE_MODEL=DIR"
            )
        self.device = torch.device("cpu")
        self.tokenizer = load_tokenizer(source)
        self.model = OnnxModel(source, int8=int8)
        self._sep = self.tokenizer.sep_token_id
        self._cls = self.tokenizer.cls_token_id

    @property
    def has_token_head(self) -> bool:
        return self.model.has_token_head

    def encode(
        self, pairs: Sequence[tuple[str, PageWords]], *, stride: int = STRIDE
    ) -> tuple[dict[str, torch.Tensor], list[list[int | None]], list[int]]:
        """Tokenize (question, page) pairs; long pages become several windows sharing ``stride``
        tokens (256, as the reference; ``bench/bench_engine.py`` passes the previous 128)."""
        encoding = self.tokenizer(
            [question.split() for question, _ in pairs],
            [list(page.words) for _, page in pairs],
            is_split_into_words=True,
            truncation="only_second",
            max_length=MAX_LENGTH,
            stride=stride,
            return_overflowing_tokens=True,
            padding="longest",
            return_token_type_ids=True,
        )
        samples: list[int] = list(encoding["overflow_to_sample_mapping"])
        input_ids = np.asarray(encoding["input_ids"], dtype=np.int64)
        bbox = np.zeros((*input_ids.shape, 4), dtype=np.int64)
        context: list[list[int | None]] = []  # per feature: token → page word index (context only)
        for feature, sample in enumerate(samples):
            boxes = np.asarray(pairs[sample][1].boxes, dtype=np.int64).reshape(-1, 4).clip(0, 1000)
            word_ids = encoding.word_ids(feature)
            sequence_ids = encoding.sequence_ids(feature)
            words: list[int | None] = [
                w if s == 1 else None for w, s in zip(word_ids, sequence_ids, strict=True)
            ]
            index = [i for i, w in enumerate(words) if w is not None]
            bbox[feature, index] = boxes[[w for w in words if w is not None]]
            bbox[feature, input_ids[feature] == self._sep] = 1000
            context.append(words)
        inputs = {
            "input_ids": torch.from_numpy(input_ids),
            "bbox": torch.from_numpy(bbox),
            "attention_mask": torch.tensor(encoding["attention_mask"], dtype=torch.int64),
            "token_type_ids": torch.tensor(encoding["token_type_ids"], dtype=torch.int64),
        }
        return inputs, context, samples

    def forward(
        self, inputs: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Start/end (and token-class) logits, in groups of windows of similar length, each of
        at most TOKEN_BUDGET padded tokens (``_length_groups``): the short last windows of long
        pages are not padded to 512 (``bench/bench_speed.py``: 14.7 % → 3.8 % padding computed
        on a 5-page invoice)."""
        length = inputs["input_ids"].shape[1]
        lengths = inputs["attention_mask"].sum(dim=1).tolist()
        groups = _length_groups(lengths, TOKEN_BUDGET)
        outputs: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]] = []
        with torch.inference_mode():
            for group in groups:
                index = torch.tensor(group)
                longest = int(lengths[group[-1]])
                chunk = {k: v[index, :longest].to(self.device) for k, v in inputs.items()}
                start, end, tokens = self.model.logits(chunk)
                start, end = start.float().cpu(), end.float().cpu()  # decoded in fp32 on the CPU
                tokens = None if tokens is None else tokens.float().cpu()
                pad = length - longest
                outputs.append(
                    (
                        nn.functional.pad(start, (0, pad), value=-1e4),
                        nn.functional.pad(end, (0, pad), value=-1e4),
                        None if tokens is None else nn.functional.pad(tokens, (0, 0, 0, pad)),
                    )
                )
        back = torch.argsort(torch.tensor([i for group in groups for i in group]))
        start = torch.cat([o[0] for o in outputs])[back] if outputs else torch.empty(0, length)
        end = torch.cat([o[1] for o in outputs])[back] if outputs else torch.empty(0, length)
        token_parts = [o[2] for o in outputs if o[2] is not None]
        return start, end, torch.cat(token_parts)[back] if token_parts else None

    def decode(
        self,
        start: torch.Tensor,
        end: torch.Tensor,
        tokens: torch.Tensor | None,
        context: list[list[int | None]],
        input_ids: torch.Tensor,
    ) -> list[tuple[float, tuple[int, ...]]]:
        """Per feature: the best span's probability and its page word ids, the reference's way.

        The softmax runs over the context tokens AND the CLS token ("no answer here"), whose
        probability (index 0) is then dropped: a window whose mass sits on CLS scores low. With the
        token head, only the span's tokens the head marks are the answer; none → no answer.
        A feature without an answer is ``(-1.0, ())``.
        """
        n, length = start.shape
        context_mask = torch.zeros((n, length), dtype=torch.bool)
        for feature, words in enumerate(context):
            context_mask[feature, : len(words)] = torch.tensor([w is not None for w in words])
        kept = context_mask | (input_ids[:, :length] == self._cls)  # CLS stays in the softmax
        p_start = torch.where(kept, start.float(), -1e4).softmax(dim=-1)
        p_end = torch.where(kept, end.float(), -1e4).softmax(dim=-1)
        p_start[:, 0] = 0.0  # ... and is then zeroed
        p_end[:, 0] = 0.0
        max_len = length if tokens is not None else self.max_answer_tokens
        band = torch.ones((length, length), dtype=torch.bool).triu().tril(max_len - 1)
        best: list[tuple[int, float]] = []  # per feature: flat (i, j) index and its score
        for first in range(0, n, DECODE_CHUNK):  # [chunk, i, j] = P(start=i) P(end=j)
            part = slice(first, first + DECODE_CHUNK)
            scores = torch.where(band, p_start[part].unsqueeze(2) * p_end[part].unsqueeze(1), 0.0)
            top = scores.flatten(1).max(dim=1)
            best += zip(top.indices.tolist(), top.values.tolist(), strict=True)
        results: list[tuple[float, tuple[int, ...]]] = []
        for feature, (flat, score) in enumerate(best):
            i, j = divmod(flat, length)
            span: Sequence[int] = range(i, j + 1)
            if tokens is not None:
                span = [t for t in span if int(tokens[feature, t].argmax()) == 1]
            words = context[feature]
            ids = list(dict.fromkeys(words[t] for t in span))
            if not ids or ids[0] is None or ids[-1] is None:
                results.append(NO_ANSWER)
            else:
                results.append((score, tuple(w for w in ids if w is not None)))
        return results

    def answer(self, pairs: Sequence[tuple[str, PageWords]]) -> list[tuple[float, tuple[int, ...]]]:
        """Best (score, word ids) for every (question, page) pair, via one batched forward."""
        if not pairs:
            return []
        inputs, context, samples = self.encode(pairs)
        start, end, tokens = self.forward(inputs)
        per_feature = self.decode(start, end, tokens, context, inputs["input_ids"])
        best = [NO_ANSWER] * len(pairs)
        for (score, ids), sample in zip(per_feature, samples, strict=True):
            if score > best[sample][0]:
                best[sample] = (score, ids)
        return best


def _length_groups(lengths: Sequence[int], budget: int, slack: float = 1.25) -> list[list[int]]:
    """Feature indices, shortest first, in groups padded together: a group ends when the next
    feature is longer than ``slack`` × the group's shortest or would take the group over
    ``budget`` padded tokens (one feature is always a group)."""
    groups: list[list[int]] = []
    for i in sorted(range(len(lengths)), key=lambda i: lengths[i]):
        group = groups[-1] if groups else None
        if (
            group
            and lengths[i] <= slack * lengths[group[0]]
            and (len(group) + 1) * lengths[i] <= budget
        ):
            group.append(i)
        else:
            groups.append([i])
    return groups


def _load(
    source: str, local: bool, revision: str | None, *, cached_only: bool
) -> tuple[PreTrainedTokenizerBase, DocumentQAModel, dict[str, Any]]:
    kwargs: dict[str, Any] = (
        {} if local else {"revision": revision, "local_files_only": cached_only}
    )
    tokenizer = load_tokenizer(source, **kwargs)
    loaded: Any = DocumentQAModel.from_pretrained(source, output_loading_info=True, **kwargs)
    model, info = loaded
    return tokenizer, model, info


def _quantize(model: DocumentQAModel) -> DocumentQAModel:
    """Dynamic int8 quantisation of the encoder's Linear layers (weights int8, activations fp32).

    The output heads stay fp32: they are a negligible share of the time, and quantising them
    moved the chosen span more often (bench: 93 % → 96 % same spans on a random base model).
    """
    import warnings

    from torch.ao.quantization import default_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        # torch >= 2.10 marks its quantized tensor types deprecated (in favour of torchao); the
        # path still works and is what the benchmark measures.
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        warnings.filterwarnings("ignore", message=r".*quantiz.*deprecated", category=UserWarning)
        quantized: DocumentQAModel = quantize_dynamic(  # type: ignore[no-untyped-call]
            model, {"layoutlm.encoder": default_dynamic_qconfig}, dtype=torch.qint8
        )
    return quantized

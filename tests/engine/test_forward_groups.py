"""The forward in groups of similar length (expense_cli/engine/_qa.py ``_length_groups``): less
padding computed, the same logits and answers as one padded batch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import torch

from expense_cli.engine._qa import PageWords, QAModel, _length_groups
from expense_cli.synthetic import dense_invoice
from tests.conftest import MERCHANT_PLANT


@pytest.mark.parametrize(
    ("lengths", "budget", "groups"),
    [
        ([512, 200, 512, 200], 8192, [[1, 3], [0, 2]]),  # two windows of a long page
        ([100, 101, 102, 120], 8192, [[0, 1, 2, 3]]),  # questions of different lengths
        ([300] * 5, 900, [[0, 1, 2], [3, 4]]),  # the budget still bounds a group
        ([10, 12, 17, 21, 28], 8192, [[0, 1], [2, 3], [4]]),  # 1.25x the group's shortest
        ([], 8192, []),
        ([600], 512, [[0]]),  # one feature is always a group
    ],
)
def test_length_groups(lengths: list[int], budget: int, groups: list[list[int]]) -> None:
    assert _length_groups(lengths, budget) == groups


def _padded_once(qa: QAModel, inputs: dict[str, torch.Tensor]) -> tuple[torch.Tensor, ...]:
    with torch.inference_mode():
        start, end, tokens = qa.model.logits(inputs)
    assert tokens is not None
    return start, end, tokens


@pytest.mark.parametrize("tokenizer", ["wordpiece", "bpe"])
def test_grouped_forward_equals_one_padded_batch(
    tokenizer: str, model_factory: Callable[..., Path]
) -> None:
    qa = QAModel(str(model_factory(tokenizer=tokenizer, token_head=True, plant=MERCHANT_PLANT)))
    pages = [PageWords(words, boxes) for words, boxes in dense_invoice(7, pages=(3, 3))]
    pages.append(PageWords(["ACME", "total", "12.30"], [(1, 1, 9, 9)] * 3))  # a short page
    questions = ["What is the total?", "What is the merchant name and full address please?"]
    inputs, context, _ = qa.encode([(q, p) for q in questions for p in pages])
    lengths = inputs["attention_mask"].sum(dim=1).tolist()
    assert len(set(lengths)) > 2  # windows of several lengths
    start, end, tokens = qa.forward(inputs)
    ref_start, ref_end, ref_tokens = _padded_once(qa, inputs)
    mask = inputs["attention_mask"].bool()
    torch.testing.assert_close(start[mask], ref_start[mask], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(end[mask], ref_end[mask], atol=1e-4, rtol=1e-4)
    assert tokens is not None
    torch.testing.assert_close(tokens[mask], ref_tokens[mask], atol=1e-4, rtol=1e-4)
    decoded = qa.decode(start, end, tokens, context, inputs["input_ids"])
    reference = qa.decode(ref_start, ref_end, ref_tokens, context, inputs["input_ids"])
    assert decoded == reference

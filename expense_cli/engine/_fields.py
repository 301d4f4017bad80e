"""The expense-report questions, and how a request's questions are resolved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .. import contract
from ..errors import BadRequest
from ._config import Limits

__all__ = ["DEFAULT_FIELDS", "FieldSpec", "Query", "plan_queries"]


@dataclass(frozen=True)
class FieldSpec:
    question: str
    kind: str  # "text" | "amount" | "date"


DEFAULT_FIELDS: dict[str, FieldSpec] = {
    "merchant": FieldSpec("What is the merchant name?", "text"),
    "merchant_address": FieldSpec("What is the merchant address?", "text"),
    "date": FieldSpec("What is the date?", "date"),
    "total": FieldSpec("What is the total amount?", "amount"),
    "subtotal": FieldSpec("What is the subtotal?", "amount"),
    "tax": FieldSpec("What is the tax amount?", "amount"),
    "receipt_number": FieldSpec("What is the receipt number?", "text"),
}


@dataclass(frozen=True)
class Query:
    question: str
    field: str | None = None  # the DEFAULT_FIELDS key, for predefined questions
    kind: str = "text"


def plan_queries(questions: Sequence[str] | None, limits: Limits) -> list[Query]:
    """No questions → every default field; a field name (``total``) → that field's question.

    The questions obey the wire contract's rules (``expense_cli/contract.py``), so ``--local``
    refuses exactly what the server and the function URL refuse.
    """
    if questions is None or len(questions) == 0:
        return [Query(spec.question, name, spec.kind) for name, spec in DEFAULT_FIELDS.items()]
    if isinstance(questions, str):
        questions = [questions]
    rules = contract.Limits(
        max_questions=limits.max_questions, max_question_chars=limits.max_question_chars
    )
    try:
        checked = contract.check_questions(questions, rules)
    except contract.ContractError as exc:  # the engine's callers catch ExpenseError
        raise BadRequest(exc.message, code=exc.code) from None
    queries: list[Query] = []
    for text in checked:
        key = text.lower().replace("-", "_").replace(" ", "_")
        spec = DEFAULT_FIELDS.get(key)
        queries.append(Query(spec.question, key, spec.kind) if spec else Query(text))
    return queries

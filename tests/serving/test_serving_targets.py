"""``expense-cli ask --server URL`` goes through ServerTarget: it must work against this server."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from expense_cli.errors import BadRequest, UnreadableDocument, UnsupportedDocument
from expense_cli.targets import ServerTarget
from tests.serving.conftest import MERCHANT

pytestmark = [pytest.mark.server, pytest.mark.model, pytest.mark.ocr]


@pytest.fixture
def target() -> Iterator[Callable[[str], ServerTarget]]:
    """ServerTarget has no close(); close its HTTP client here (else: unclosed sockets)."""
    made: list[ServerTarget] = []

    def make(url: str) -> ServerTarget:
        made.append(ServerTarget(url))
        return made[-1]

    yield make
    for each in made:
        each._client.close()


def test_server_target_extracts(
    server_url: str, receipt_png: bytes, target: Callable[[str], ServerTarget]
) -> None:
    result = target(server_url).extract(receipt_png, content_type="image/png")
    assert result["fields"]["merchant"]["answer"] == MERCHANT
    assert result["pages"] == 1


def test_server_target_with_questions(
    server_url: str, receipt_png: bytes, target: Callable[[str], ServerTarget]
) -> None:
    result = target(server_url + "/").extract(receipt_png, questions=["Who is it?"])
    assert [a["answer"] for a in result["answers"]] == [MERCHANT]


@pytest.mark.parametrize(
    ("data", "questions", "error"),
    [
        (b"plain text", None, UnsupportedDocument),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 50, None, UnreadableDocument),
        (b"\x89PNG\r\n\x1a\n", ["q"] * 50, BadRequest),
    ],
)
def test_server_errors_become_the_matching_exceptions(
    server_url: str,
    data: bytes,
    questions: list[str] | None,
    error: type[Exception],
    target: Callable[[str], ServerTarget],
) -> None:
    with pytest.raises(error):
        target(server_url).extract(data, questions=questions)

"""The wire contract's own rules (expense_cli/contract.py), and the defaults derived from it.

The contract applied end to end, through the handler and the server, is tests/test_conformance.py.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from expense_cli import contract
from expense_cli.aws._config import DeploySettings
from expense_cli.contract import (
    ERRORS,
    ContractError,
    Limits,
    check_questions,
    clean_text,
    document_limit,
    dumps,
    env_bool,
    env_float,
    env_int,
    parse_request,
    sniff_type,
)
from expense_cli.engine._config import Limits as EngineLimits

ROOT = Path(__file__).resolve().parents[1]
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 40


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (PNG, "image/png"),
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (b"II*\x00rest", "image/tiff"),
        (b"MM\x00*rest", "image/tiff"),
        (b"GIF89a..", "image/gif"),
        (b"GIF87a..", "image/gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "image/webp"),
        (b"%PDF-1.7\n", "application/pdf"),
        (b"%PDF-2.0\n", "application/pdf"),
        (b"\xef\xbb\xbf%PDF-1.4", "application/pdf"),  # a byte-order mark first
        (b"\r\n\t %PDF-1.4", "application/pdf"),
        (b"\0" * 500 + b"%PDF-1.4", "application/pdf"),
        (b"\0" * 1100 + b"%PDF-1.4", None),  # past the first KiB
        (b"name,notes\nscan,%PDF-1.4 header\n", None),  # a CSV that mentions it
        (b"<html>%PDF-1.4", None),
        (b"%PDF-x", None),  # no version digit
        (b"%PDF", None),
        (b"RIFF\0\0\0\0WAVEfmt ", None),
        (b"\x89PNG", None),  # truncated magic
        (b"", None),
    ],
)
def test_sniff_type(head: bytes, expected: str | None) -> None:
    assert sniff_type(head) == expected


def test_every_error_status_comes_from_the_table() -> None:
    for code, spec in ERRORS.items():
        error = ContractError(code, "m")
        assert (error.status, error.code) == (spec.status, code)
        assert error.body() == {"error": {"code": code, "message": "m"}}
        if spec.retry_after is not None:
            assert error.headers["retry-after"] == str(spec.retry_after)
    with pytest.raises(KeyError):
        ContractError("not_a_code", "m")
    assert ContractError("throttled", "m", retry_after=9).headers["retry-after"] == "9"
    assert ContractError("internal_error", "m").body("r1")["error"]["request_id"] == "r1"


def test_error_statuses_are_http_error_statuses() -> None:
    assert all(400 <= spec.status < 600 for spec in ERRORS.values())
    assert {spec.sides for spec in ERRORS.values()} == {"both", "server", "handler", "cli"}


@pytest.mark.parametrize(
    ("questions", "code"),
    [
        (["q"] * 21, "too_many_questions"),
        (["x" * 201], "question_too_long"),
        ([""], "invalid_question"),
        (["\n\t "], "invalid_question"),
        ([1], "invalid_question"),
        ([None], "invalid_question"),
        ([["total"]], "invalid_question"),
        (["total\x07"], "invalid_question"),
        (["total\x00"], "invalid_question"),
        (["a\x9bb"], "invalid_question"),
        (["a\ud800b"], "invalid_question"),  # a lone surrogate (JSON "\\ud800")
        (["a\udfffb"], "invalid_question"),
    ],
)
def test_bad_questions(questions: list[object], code: str) -> None:
    with pytest.raises(ContractError) as caught:
        check_questions(questions)
    assert caught.value.code == code


def test_questions_are_collapsed_and_unicode_is_welcome() -> None:
    asked = ["  What  is\tthe\ntotal? ", "Summe 💶 (𝐓𝐨𝐭𝐚𝐥)?", "合計は?", "x" * 200]
    assert check_questions(asked) == ("What is the total?", *asked[1:])
    assert check_questions(["q"] * 20) == ("q",) * 20
    assert check_questions([]) == ()
    with pytest.raises(ContractError):
        check_questions(["q"] * 4, Limits(max_questions=3))


def test_clean_text_joins_pairs_and_replaces_lone_surrogates() -> None:
    assert clean_text("a\ud83d\ude00b") == "a😀b"  # a pair split in two, as pdfium hands it over
    assert clean_text("a\ud83db") == "a\ufffdb"
    assert clean_text("\ude00") == "\ufffd"
    assert clean_text("plain 😀") == "plain 😀"


def test_dumps_never_fails_on_odd_text() -> None:
    value = {"answer": "x\ud800y", "answers": [{"a\udc00": ["\ud83d\ude00"]}], "n": 1.5}
    text = dumps(value).decode("utf-8")
    assert json.loads(text) == {"answer": "x\ufffdy", "answers": [{"a\ufffd": ["😀"]}], "n": 1.5}
    assert dumps({"a": "é"}) == '{"a":"é"}'.encode()
    with pytest.raises(ValueError):
        dumps({"score": float("nan")})  # never invalid JSON


def test_raw_base64_bodies_are_checked_without_being_decoded() -> None:
    import base64

    body = base64.b64encode(PNG)
    parsed = parse_request(body, "image/png", "question=total", body_is_base64=True)
    assert (parsed.source, parsed.raw, parsed.size, parsed.questions) == (
        "raw",
        None,
        len(PNG),
        ("total",),
    )
    assert parsed.document() == PNG and parsed.document_b64() == body
    with pytest.raises(ContractError) as caught:
        parse_request(b"!!!!" + body, "image/png", body_is_base64=True)
    assert caught.value.code == "invalid_base64"


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_a_json_body_may_start_with_a_byte_order_mark(content_type: str | None) -> None:
    import base64

    body = "\ufeff" + json.dumps({"document": base64.b64encode(PNG).decode()})  # PowerShell
    parsed = parse_request(body.encode("utf-8"), content_type, "question=total")
    assert (parsed.source, parsed.document(), parsed.questions) == ("document", PNG, ("total",))
    with pytest.raises(ContractError) as caught:  # only at the start, and only once
        parse_request(("\ufeff" + body).encode("utf-8"), content_type)
    assert caught.value.code == "invalid_json"


@pytest.mark.parametrize(
    ("query", "named"), [("=x", "''"), ("Question=a", "'Question'"), ("%00=1", "'\\x00'")]
)
def test_unknown_query_parameters_are_named_visibly(query: str, named: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_request(b'{"document": ""}', "application/json", query)
    assert caught.value.code == "unknown_parameter"
    assert f"parameter(s): {named};" in caught.value.message


@pytest.mark.parametrize("query", ["question=%C0%AF", "question=total%FF", "question=%ED%A0%80"])
def test_a_query_question_that_is_not_utf8_is_refused(query: str) -> None:
    with pytest.raises(ContractError) as caught:
        parse_request(PNG, "image/png", query)
    assert caught.value.code == "invalid_question"
    assert parse_request(PNG, "image/png", "question=total%20%E2%82%AC").questions == ("total €",)


def test_env_readers_refuse_bad_values_and_default_when_unset() -> None:
    env = {"N": " 7 ", "F": "2.5", "B": "Yes", "E": "", "BAD": "seven", "NEG": "-1", "INF": "inf"}
    assert env_int(env, "N", 1) == 7
    assert env_int(env, "E", 3) == 3 and env_int(env, "MISSING", 4) == 4
    assert env_float(env, "F", 1.0) == 2.5
    assert env_float({"Z": "0"}, "Z", 1.0, minimum=0.0) == 0.0
    with pytest.raises(contract.SettingError, match="Z must be a positive number"):
        env_float({"Z": "0"}, "Z", 1.0)
    with pytest.raises(contract.SettingError, match="at least 0"):
        env_float({"Z": "nan"}, "Z", 1.0, minimum=0.0)
    assert env_bool(env, "B", False) is True and env_bool(env, "E", None) is None
    for reader, name in ((env_int, "BAD"), (env_int, "NEG"), (env_float, "INF"), (env_bool, "N")):
        with pytest.raises(contract.SettingError, match=name):
            reader(env, name, 1)  # type: ignore[operator]


# --- one place for each default ---------------------------------------------------------------


def test_document_limits_follow_the_payload_limits() -> None:
    assert document_limit(contract.ENDPOINT_MAX_PAYLOAD) == 4_400_000
    assert document_limit(contract.SERVERLESS_MAX_PAYLOAD) == 2_900_000
    for payload in (contract.ENDPOINT_MAX_PAYLOAD, contract.SERVERLESS_MAX_PAYLOAD):
        limit = document_limit(payload)
        assert -(-limit * 4 // 3) + contract.JSON_ROOM <= payload


def test_engine_and_contract_share_their_defaults() -> None:
    engine = EngineLimits()
    assert (engine.max_bytes, engine.max_questions, engine.max_question_chars) == (
        Limits().max_document_bytes,
        contract.MAX_QUESTIONS,
        contract.MAX_QUESTION_CHARS,
    )


def _terraform_defaults(path: Path) -> dict[str, str]:
    text = path.read_text()
    found = re.findall(r'variable "(\w+)" \{(.*?)\n\}', text, re.DOTALL)
    defaults = {}
    for name, body in found:
        if match := re.search(r"^\s*default\s*=\s*(.+)$", body, re.MULTILINE):
            defaults[name] = match[1].strip().strip('"')
    return defaults


def test_the_root_stack_defaults_are_the_clis() -> None:
    """`expense-cli deploy` with no options deploys what the root stack deploys by default."""
    defaults = _terraform_defaults(ROOT / "terraform" / "variables.tf")
    cli = dataclasses.asdict(DeploySettings())
    pairs = {
        "name": "name",
        "instance_type": "instance_type",
        "min_instances": "min_instances",
        "max_instances": "max_instances",
        "serverless": "serverless",
        "serverless_memory_mb": "serverless_memory_mb",
        "serverless_max_concurrency": "serverless_max_concurrency",
        "auth": "auth",
    }
    for variable, field in pairs.items():
        assert defaults[variable] == str(cli[field]).lower(), variable


def test_the_function_gets_the_contracts_limits() -> None:
    """What terraform/main.tf passes the handler is derived from the AWS payload limits."""
    text = (ROOT / "terraform" / "main.tf").read_text()
    numbers = {
        name: {int(n) for n in re.findall(r"\d{6,}", value)}
        for name, value in re.findall(r"^\s*(max_\w+_bytes)\s*=\s*(.+)$", text, re.MULTILINE)
    }
    assert numbers["max_body_bytes"] == {contract.FUNCTION_URL_MAX_BODY}
    payloads = {contract.ENDPOINT_MAX_PAYLOAD, contract.SERVERLESS_MAX_PAYLOAD}
    assert numbers["max_payload_bytes"] == payloads
    assert numbers["max_document_bytes"] == {document_limit(p) for p in payloads}

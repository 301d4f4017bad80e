"""FunctionUrlTarget: SigV4 / token auth, retries, shrinking, and remote_target()."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import os
import re
from pathlib import Path

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from PIL import Image

from expense_cli.aws import (
    FunctionUrlTarget,
    ProjectConfig,
    remote_target,
    save_config,
    shrink_document,
)
from expense_cli.aws._target import MAX_UPLOAD_BYTES, MAX_UPLOAD_BYTES_SERVERLESS
from expense_cli.errors import ConfigError, DocumentTooLarge, ModelNotReady, Overloaded, RemoteError
from tests.aws.conftest import OK_RESULT, FakeFunctionUrl, Received

CREDS = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<signed>[^,]+), "
    r"Signature=(?P<sig>[0-9a-f]{64})$"
)


def verify_sigv4(request: Received, credentials: Credentials, region: str, service: str) -> bool:
    """Recompute the signature of a received request with botocore's signer, as AWS would."""
    match = _AUTH_RE.match(request.headers.get("authorization", ""))
    if match is None:
        return False
    if (match["key"], match["region"], match["service"]) != (
        credentials.access_key,
        region,
        service,
    ):
        return False
    # The signed payload hash must be the hash of the body that actually arrived.
    if request.headers.get("x-amz-content-sha256") != hashlib.sha256(request.body).hexdigest():
        return False
    signed = match["signed"].split(";")
    aws_request = AWSRequest(
        method=request.method,
        url=f"http://{request.headers['host']}{request.path}",
        data=request.body,
        headers={name: request.headers[name] for name in signed},
    )
    aws_request.context["timestamp"] = request.headers["x-amz-date"]
    signer = SigV4Auth(credentials, service, region)
    canonical = signer.canonical_request(aws_request)
    expected = signer.signature(signer.string_to_sign(aws_request, canonical), aws_request)
    return hmac.compare_digest(expected, match["sig"])


def _png(width: int, height: int, noise: bool = False) -> bytes:
    if noise:
        image = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    else:
        image = Image.new("RGB", (width, height), "white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _sent_document(request: Received) -> bytes:
    return base64.b64decode(json.loads(request.body)["document"])


def _iam_target(url: str, **kwargs: object) -> FunctionUrlTarget:
    return FunctionUrlTarget(url, auth="iam", credentials=CREDS, region="eu-west-1", **kwargs)  # type: ignore[arg-type]


# --- SigV4 ------------------------------------------------------------------------------------


def test_iam_request_is_signed_for_lambda_and_verifies(function_url: FakeFunctionUrl) -> None:
    document = _png(40, 30)
    result = _iam_target(function_url.url).extract(document, questions=["What is the total?"])

    assert result == OK_RESULT
    (request,) = function_url.requests
    assert verify_sigv4(request, CREDS, "eu-west-1", "lambda")
    signed = _AUTH_RE.match(request.headers["authorization"])["signed"].split(";")  # type: ignore[index]
    assert {"host", "x-amz-content-sha256", "x-amz-date", "x-amz-security-token"} <= set(signed)
    assert request.headers["x-amz-security-token"] == "session-token"
    payload = json.loads(request.body)
    assert payload["questions"] == ["What is the total?"]
    assert _sent_document(request) == document  # small documents go as they are


def test_verifier_detects_wrong_secret_and_tampered_body(function_url: FakeFunctionUrl) -> None:
    _iam_target(function_url.url).extract(_png(10, 10))
    (request,) = function_url.requests
    wrong = Credentials(CREDS.access_key, "not-the-secret", CREDS.token)
    assert not verify_sigv4(request, wrong, "eu-west-1", "lambda")
    tampered = Received(request.method, request.path, request.headers, request.body + b" ")
    assert not verify_sigv4(tampered, CREDS, "eu-west-1", "lambda")
    assert not verify_sigv4(request, CREDS, "us-east-1", "lambda")
    assert verify_sigv4(request, CREDS, "eu-west-1", "lambda")


def test_credentials_come_from_the_session(
    function_url: FakeFunctionUrl, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    FunctionUrlTarget(function_url.url, region="ap-south-1").extract(_png(10, 10))
    (request,) = function_url.requests
    env_creds = Credentials("AKIDFROMENV", "secret-from-env")
    assert verify_sigv4(request, env_creds, "ap-south-1", "lambda")
    assert "x-amz-security-token" not in request.headers


def test_no_credentials_is_a_config_error(
    function_url: FakeFunctionUrl, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(ConfigError, match="no AWS credentials found: run `aws configure`"):
        FunctionUrlTarget(function_url.url, region="us-east-1").extract(_png(10, 10))
    assert function_url.requests == []


# --- token mode, errors, retries -------------------------------------------------------------


def test_token_mode_sends_bearer_and_no_signature(function_url: FakeFunctionUrl) -> None:
    FunctionUrlTarget(function_url.url, auth="token", token="t0k-" + "x" * 20).extract(_png(8, 8))
    (request,) = function_url.requests
    assert request.headers["authorization"] == "Bearer t0k-" + "x" * 20
    assert "x-amz-date" not in request.headers
    assert request.headers["content-type"] == "application/json"


def test_token_mode_without_token_is_refused() -> None:
    with pytest.raises(ConfigError, match="bearer token"):
        FunctionUrlTarget("https://example.invalid/", auth="token")


def test_retry_after_is_honoured_then_succeeds(function_url: FakeFunctionUrl) -> None:
    busy = json.dumps({"error": {"code": "throttled", "message": "slow down"}}).encode()
    function_url.script = [(429, {"retry-after": "2"}, busy), (503, {"retry-after": "7"}, busy)]
    sleeps: list[float] = []
    result = _iam_target(function_url.url, sleep=sleeps.append).extract(_png(8, 8))
    assert result == OK_RESULT
    assert sleeps == [2.0, 7.0]
    assert len(function_url.requests) == 3
    # Every attempt is signed afresh and verifies.
    assert all(verify_sigv4(r, CREDS, "eu-west-1", "lambda") for r in function_url.requests)


@pytest.mark.parametrize(("status", "error"), [(429, Overloaded), (503, ModelNotReady)])
def test_retries_are_bounded(
    function_url: FakeFunctionUrl, status: int, error: type[Exception]
) -> None:
    body = json.dumps({"error": {"code": "x", "message": "endpoint is Creating"}}).encode()
    function_url.script = [(status, {"retry-after": "120"}, body)] * 5
    sleeps: list[float] = []
    target = _iam_target(function_url.url, sleep=sleeps.append, max_retries=2)
    with pytest.raises(error, match=r"endpoint is Creating \(after 3 tries") as caught:
        target.extract(_png(8, 8))
    assert len(function_url.requests) == 3
    assert sleeps == [30.0, 30.0]  # Retry-After capped at max_retry_after
    assert caught.value.retry_after == 120  # type: ignore[attr-defined]


def test_forbidden_says_what_to_check(function_url: FakeFunctionUrl) -> None:
    function_url.script = [(403, {}, b'{"Message":"Forbidden"}')]
    with pytest.raises(RemoteError, match=r"not authorised \(403\).*lambda:InvokeFunctionUrl"):
        _iam_target(function_url.url).extract(_png(8, 8))


def test_unreachable_url_is_a_remote_error() -> None:
    with pytest.raises(RemoteError, match="cannot reach"):
        _iam_target("http://127.0.0.1:9/", timeout=5).extract(_png(8, 8))


# --- shrinking --------------------------------------------------------------------------------


def test_oversized_image_is_downscaled_to_jpeg_before_upload(function_url: FakeFunctionUrl) -> None:
    original = _png(1400, 1000, noise=True)
    limit = 800_000
    assert len(original) > limit
    _iam_target(function_url.url, upload_bytes=limit).extract(original)
    sent = _sent_document(function_url.requests[0])
    assert len(sent) <= limit
    assert sent[:3] == b"\xff\xd8\xff"  # JPEG
    with Image.open(io.BytesIO(sent)) as image:
        assert image.width < 1400
        assert abs(image.width / image.height - 1.4) < 0.01  # aspect ratio kept


def test_shrink_applies_exif_orientation() -> None:
    image = Image.frombytes("RGB", (900, 600), os.urandom(900 * 600 * 3))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=100, exif=exif)
    data = buffer.getvalue()
    shrunk, content_type = shrink_document(data, limit=len(data) - 1)
    assert content_type == "image/jpeg"
    with Image.open(io.BytesIO(shrunk)) as result:
        assert result.height > result.width  # portrait now, as displayed


def test_small_documents_are_untouched() -> None:
    data = _png(20, 20)
    assert shrink_document(data) == (data, None)


def test_oversized_pdf_is_refused_with_advice(function_url: FakeFunctionUrl) -> None:
    pdf = b"%PDF-1.7\n" + b"0" * 1_000
    with pytest.raises(DocumentTooLarge, match=r"PDF is .* over the .* limit.*split it"):
        _iam_target(function_url.url, upload_bytes=500).extract(pdf)
    assert function_url.requests == []


def test_oversized_non_image_is_refused() -> None:
    with pytest.raises(DocumentTooLarge, match="not an image that can be shrunk"):
        shrink_document(b"GIF89a-but-not-really" * 100, limit=100)


def test_image_that_cannot_fit_readably_is_refused() -> None:
    data = _png(800, 800, noise=True)
    with pytest.raises(DocumentTooLarge, match="does not fit"):
        shrink_document(data, limit=10_000)


# --- remote_target ------------------------------------------------------------------------------


def test_remote_target_without_deployment(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        remote_target(tmp_path)
    assert caught.value.message == (
        f"no deployment found in {tmp_path}: run `expense-cli deploy`, "
        "or use --local / --server URL"
    )


def test_remote_target_reads_the_project_config(tmp_path: Path) -> None:
    config = ProjectConfig(
        outputs={"function_url": "https://abc.lambda-url.eu-west-1.on.aws/", "auth": "token"},
        auth_token="secret-token-1234567",
    )
    config.settings.region = "eu-west-1"
    save_config(config, tmp_path)
    target = remote_target(tmp_path)
    assert isinstance(target, FunctionUrlTarget)
    assert target.url == "https://abc.lambda-url.eu-west-1.on.aws/"
    assert target.auth == "token"
    assert target.upload_bytes == MAX_UPLOAD_BYTES

    config.settings.serverless = True
    config.outputs["auth"] = "iam"
    save_config(config, tmp_path)
    target = remote_target(tmp_path)
    assert isinstance(target, FunctionUrlTarget)
    assert (target.auth, target.upload_bytes) == ("iam", MAX_UPLOAD_BYTES_SERVERLESS)


def test_remote_target_defaults_to_the_current_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match=re.escape(f"no deployment found in {tmp_path}")):
        remote_target()

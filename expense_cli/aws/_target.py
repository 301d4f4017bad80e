"""The deployed function URL as a :class:`~expense_cli.targets.Target`.

Request: ``POST`` JSON ``{"document": "<base64>", "questions": [...]}``. Auth:

* ``iam`` — signed with SigV4 for service ``lambda`` by botocore's own ``SigV4Auth``, with the
  user's credentials (``boto3.Session(profile, region)``) and the ``x-amz-content-sha256`` header
  that function URLs expect for a POST body (it is part of the signed headers).
* ``token`` — ``Authorization: Bearer <token>``.

A function URL takes at most 6 MB, so a document must stay under ~4.4 MB before base64 (less for a
serverless endpoint, whose payload limit is 4 MB). Larger images are re-encoded as JPEG, downscaled
step by step until they fit; larger PDFs are refused with advice. 429 and 503 answers are retried
after their ``Retry-After`` (capped) a bounded number of times, then raised as Overloaded /
ModelNotReady.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..contract import sniff_type
from ..errors import (
    ConfigError,
    DocumentTooLarge,
    ExpenseError,
    ModelNotReady,
    Overloaded,
    RemoteError,
)
from ..targets import HttpTarget, Target
from ._config import load_config
from ._session import make_session, require_credentials

if TYPE_CHECKING:
    import httpx

__all__ = [
    "MAX_UPLOAD_BYTES",
    "MAX_UPLOAD_BYTES_SERVERLESS",
    "FunctionUrlTarget",
    "remote_target",
    "shrink_document",
    "sign_request",
]

MAX_UPLOAD_BYTES = 4_400_000  # 6 MB request limit of a function URL, after base64 and JSON
MAX_UPLOAD_BYTES_SERVERLESS = 2_900_000  # 4 MB payload limit of serverless endpoints
_MIN_SIDE = 600  # pixels: below this the text is no longer readable
_RETRY_STATUSES = {429: Overloaded, 503: ModelNotReady}


# --- shrinking --------------------------------------------------------------------------------


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def shrink_document(data: bytes, limit: int = MAX_UPLOAD_BYTES) -> tuple[bytes, str | None]:
    """``(data, None)`` when it fits, else ``(jpeg bytes, "image/jpeg")`` of a smaller image.

    Raises DocumentTooLarge for a PDF (or anything not an image) over the limit, and for an
    image that cannot shrink under it while staying readable.
    """
    if len(data) <= limit:
        return data, None
    advice = "split it, scan at a lower resolution, or run it locally with --local / --server URL"
    if sniff_type(data) == "application/pdf":
        raise DocumentTooLarge(
            f"the PDF is {_mb(len(data))}, over the {_mb(limit)} upload limit of the function URL: "
            + advice
        )
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            opened = Image.open(io.BytesIO(data))
            frames = getattr(opened, "n_frames", 1)
            opened.load()
    except (
        UnidentifiedImageError,
        Image.DecompressionBombError,
        Image.DecompressionBombWarning,
        OSError,
    ) as exc:
        raise DocumentTooLarge(
            f"the document is {_mb(len(data))}, over the {_mb(limit)} upload limit of the function "
            f"URL, and is not an image that can be shrunk ({type(exc).__name__}): {advice}"
        ) from exc
    if frames > 1:
        raise DocumentTooLarge(
            f"the {frames}-page image is {_mb(len(data))}, over the {_mb(limit)} upload limit: "
            + advice
        )
    image: Image.Image = ImageOps.exif_transpose(opened)
    if image.mode not in ("RGB", "L"):
        background = Image.new("RGB", image.size, "white")
        rgba = image.convert("RGBA")
        background.paste(rgba, mask=rgba.getchannel("A"))
        image = background
    scale = 1.0
    while True:
        width, height = round(image.width * scale), round(image.height * scale)
        if min(width, height) < _MIN_SIDE and scale < 1.0:
            raise DocumentTooLarge(
                f"the image is {_mb(len(data))} and does not fit the {_mb(limit)} upload limit "
                f"even at {width}x{height} pixels: " + advice
            )
        candidate = (
            image if scale == 1.0 else image.resize((width, height), Image.Resampling.LANCZOS)
        )
        buffer = io.BytesIO()
        candidate.save(buffer, format="JPEG", quality=85, optimize=True)
        encoded = buffer.getvalue()
        if len(encoded) <= limit:
            return encoded, "image/jpeg"
        # JPEG size grows roughly with the pixel count: aim under the limit, at least 15 % smaller.
        scale *= min(0.85, (limit / len(encoded)) ** 0.5 * 0.95)


# --- signing ----------------------------------------------------------------------------------


def sign_request(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    credentials: Any,
    region: str,
    service: str = "lambda",
) -> dict[str, str]:
    """The headers of a SigV4-signed ``POST url`` (with ``x-amz-content-sha256``) for ``body``."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    all_headers = {**headers, "x-amz-content-sha256": hashlib.sha256(body).hexdigest()}
    request = AWSRequest(method="POST", url=url, data=body, headers=all_headers)
    SigV4Auth(credentials, service, region).add_auth(request)
    return {str(k): str(v) for k, v in request.headers.items()}


# --- the target -------------------------------------------------------------------------------


class FunctionUrlTarget(HttpTarget):
    """POSTs documents to the deployed Lambda function URL (``iam`` or ``token`` auth)."""

    def __init__(
        self,
        url: str,
        *,
        auth: str = "iam",
        token: str | None = None,
        region: str | None = None,
        profile: str | None = None,
        credentials: Any = None,
        upload_bytes: int = MAX_UPLOAD_BYTES,
        **kwargs: Any,
    ) -> None:
        if auth not in ("iam", "token"):
            raise ConfigError(f"unknown auth mode {auth!r}: use iam or token")
        if auth == "token" and not token:
            raise ConfigError(
                "token auth needs the bearer token: it is in .expense/config.json after "
                "`expense-cli deploy --auth token`"
            )
        super().__init__(url, **kwargs)
        self.auth = auth
        self._token = token
        self._region = region
        self._profile = profile
        self._credentials = credentials
        self.upload_bytes = upload_bytes  # images over it are shrunk: ``max_bytes`` is larger

    def _signing(self) -> tuple[Any, str]:
        if self._credentials is None or self._region is None:
            session = make_session(self._profile, self._region)
            self._region = str(session.region_name)
            self._credentials = require_credentials(session)
        return self._credentials, self._region

    def _prepare(self, data: bytes) -> bytes:
        return shrink_document(data, self.upload_bytes)[0]

    def _headers(self, body: bytes) -> dict[str, str]:
        return self.authorize(self.url, body, super()._headers(body))

    def authorize(self, url: str, body: bytes, headers: dict[str, str]) -> dict[str, str]:
        """``headers`` for ``POST url`` with ``body``, plus the auth of this deployment: the
        bearer token, or a SigV4 signature (``expense-cli serve --deployment`` forwards the web
        page's requests through this)."""
        if self.auth == "token":
            return {**headers, "authorization": f"Bearer {self._token}"}
        credentials, region = self._signing()
        return sign_request(url, body, headers, credentials, region)

    def _error(self, response: httpx.Response) -> ExpenseError:
        error = super()._error(response)
        status = response.status_code
        if status in _RETRY_STATUSES:
            tries = self.max_retries + 1
            advice = (
                "the endpoint is busy: try again shortly, or raise --max-instances"
                if status == 429
                else "the model is not ready yet (endpoint starting or scaling): try again in a "
                "minute, `expense-cli status` shows its state"
            )
            return _RETRY_STATUSES[status](
                f"{error.message} (after {tries} tries; {advice})", retry_after=error.retry_after
            )
        if status in (401, 403):
            how = (
                "check that your AWS credentials (--profile/--region) may call "
                "lambda:InvokeFunctionUrl on this function"
                if self.auth == "iam"
                else "check the token in .expense/config.json (redeploy to rotate it)"
            )
            return RemoteError(f"{error.message}: {how}")
        return error


def remote_target(project_dir: Path | None = None) -> Target:
    """The deployed function URL of the project in ``project_dir`` (default: current directory),
    or its asynchronous endpoint for a deployment made with ``--async`` (``_async.py``)."""
    where = project_dir or Path.cwd()
    config = load_config(where)
    if config.settings.async_inference and config.outputs.get("async_input_path"):
        from ._async import async_target

        return async_target(config)
    url = config.outputs.get("function_url")
    if not url:
        raise ConfigError(
            f"no deployment found in {where}: run `expense-cli deploy`, "
            "or use --local / --server URL"
        )
    settings = config.settings
    limit = MAX_UPLOAD_BYTES_SERVERLESS if settings.serverless else MAX_UPLOAD_BYTES
    region = config.outputs.get("region") or settings.region
    return FunctionUrlTarget(
        str(url),
        auth=str(config.outputs.get("auth") or settings.auth),
        token=config.auth_token,
        region=str(region) if region else None,
        profile=settings.profile,
        upload_bytes=limit,
    )

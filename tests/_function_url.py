"""A local stand-in for a Lambda function URL, for tests: real HTTP in, a payload-2.0 event to the
handler, the handler's response out.

    with function_url(handler) as url: ...                          # AuthType NONE
    with function_url(handler, iam=Credentials(...)) as url: ...    # AuthType AWS_IAM

It does what the URL service does before and after the function: binary bodies (anything but
text types) arrive base64-encoded with ``isBase64Encoded``, header names lower-case, the raw
query string kept; with ``iam`` it checks the SigV4 signature (service ``lambda``, the URL's
region, the signed payload hash) and answers 403 like AWS when it is missing or wrong. Listens
on 127.0.0.1 only and always stops.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["Credentials", "function_url"]

_TEXT = ("text/", "application/json", "application/x-www-form-urlencoded", "application/xml")


@dataclass(frozen=True)
class Credentials:
    access_key: str = "AKIDEXAMPLE"
    secret_key: str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    region: str = "eu-west-1"
    seen: list[str] = field(default_factory=list, compare=False)  # verified signatures' scopes


def _verify(
    credentials: Credentials, method: str, url: str, headers: dict[str, str], body: bytes
) -> str | None:
    """None when the request carries a valid SigV4 signature by ``credentials``, else why not."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials as BotoCredentials

    authorization = headers.get("authorization", "")
    if not authorization.startswith("AWS4-HMAC-SHA256 "):
        return "missing SigV4 Authorization"
    parts = dict(
        part.strip().split("=", 1)
        for part in authorization.removeprefix("AWS4-HMAC-SHA256 ").split(",")
    )
    scope = parts.get("Credential", "").split("/")
    if len(scope) != 5 or scope[0] != credentials.access_key:
        return "unknown access key"
    if scope[2:] != [credentials.region, "lambda", "aws4_request"]:
        return f"signed for {scope[2:]}, not {credentials.region}/lambda"
    if headers.get("x-amz-content-sha256") != hashlib.sha256(body).hexdigest():
        return "x-amz-content-sha256 is not the body's hash"
    signed = parts.get("SignedHeaders", "").split(";")
    request = AWSRequest(
        method=method, url=url, data=body, headers={h: headers[h] for h in signed if h in headers}
    )
    request.context["timestamp"] = headers.get("x-amz-date", "")
    auth = SigV4Auth(
        BotoCredentials(credentials.access_key, credentials.secret_key),
        "lambda",
        credentials.region,
    )
    expected = auth.signature(
        auth.string_to_sign(request, auth.canonical_request(request)), request
    )
    if expected != parts.get("Signature"):
        return "the signature does not match"
    credentials.seen.append("/".join(scope[2:]))
    return None


def _event(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> dict[str, Any]:
    media = headers.get("content-type", "").split(";")[0].strip().lower()
    text: str | None = None
    if media.startswith(_TEXT) or media.endswith("+json"):
        with contextlib.suppress(UnicodeDecodeError):
            text = body.decode("utf-8")
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
            },
            "requestId": hashlib.sha256(body + path.encode()).hexdigest()[:16],
        },
        "body": text if text is not None else base64.b64encode(body).decode("ascii"),
        "isBase64Encoded": text is None,
    }


@contextlib.contextmanager
def function_url(
    handler: Callable[[dict[str, Any], Any], dict[str, Any]], *, iam: Credentials | None = None
) -> Iterator[str]:
    """Serve ``handler`` (a Lambda entry point) on 127.0.0.1; yield the base URL."""

    class Request(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:
            pass

        def _handle(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            split = urllib.parse.urlsplit(self.path)
            headers = {k.lower(): v for k, v in self.headers.items()}
            if iam is not None:
                url = f"http://{headers.get('host', '127.0.0.1')}{self.path}"
                problem = _verify(iam, self.command, url, headers, body)
                if problem is not None:
                    self._send(
                        403,
                        {"content-type": "application/json"},
                        json.dumps({"Message": f"Forbidden ({problem})"}).encode(),
                    )
                    return
            response = handler(
                _event(self.command, split.path or "/", split.query, headers, body), None
            )
            payload = response.get("body") or ""
            data = (
                base64.b64decode(payload)
                if response.get("isBase64Encoded")
                else payload.encode("utf-8")
            )
            self._send(int(response["statusCode"]), response.get("headers") or {}, data)

        def _send(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                if name.lower() not in ("content-length", "connection"):
                    self.send_header(name, value)
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

    server = ThreadingHTTPServer(("127.0.0.1", 0), Request)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="function-url", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)

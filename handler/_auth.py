"""Caller authentication.

Two modes, chosen by ``AUTH_MODE``:

* ``iam`` (default): the function URL has ``AuthType = AWS_IAM``; AWS checks the SigV4 signature
  and the caller's ``lambda:InvokeFunctionUrl`` permission before this code runs, so the handler
  does nothing. ``expense-cli`` signs its requests with the user's AWS credentials.
* ``token``: the URL is public (``AuthType = NONE``) and every request must carry
  ``Authorization: Bearer <token>``. The token is the SSM Parameter Store SecureString named by
  ``TOKEN_PARAMETER`` (read with decryption, cached for 60 s per container so a rotation takes
  effect within a minute) and is compared in constant time. Missing or malformed header: 401 with
  ``WWW-Authenticate: Bearer``; wrong token: 403. An empty stored token admits nobody.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from expense_cli.contract import ContractError

__all__ = ["TokenAuthenticator", "ssm_token_loader"]

TOKEN_TTL_S = 60.0


def _utf8(text: str) -> bytes:
    """``text`` as bytes to compare; a lone surrogate (an event may carry one, no HTTP header can)
    is kept rather than raising, so it is simply a token that does not match."""
    return text.encode("utf-8", "surrogatepass")


def ssm_token_loader(parameter_name: str, client_factory: Callable[[], Any]) -> Callable[[], str]:
    """A loader that reads the SecureString ``parameter_name`` (decrypted) via SSM."""

    def load() -> str:
        response = client_factory().get_parameter(Name=parameter_name, WithDecryption=True)
        return str(response["Parameter"]["Value"])

    return load


class TokenAuthenticator:
    """Checks ``Authorization: Bearer`` against a token loaded by ``load`` (cached ``ttl_s``)."""

    def __init__(
        self,
        load: Callable[[], str],
        *,
        ttl_s: float = TOKEN_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._token: bytes | None = None
        self._loaded_at = 0.0

    def _expected(self) -> bytes:
        with self._lock:
            now = self._clock()
            if self._token is None or now - self._loaded_at >= self._ttl_s:
                try:
                    value = self._load()
                except Exception as exc:
                    raise ContractError(
                        "auth_unavailable",
                        "the access token could not be loaded; try again shortly",
                    ) from exc
                self._token = _utf8(value.strip())
                self._loaded_at = now
            return self._token

    def check(self, headers: Mapping[str, str]) -> None:
        """Raise :class:`ContractError` (401/403) unless ``headers`` carry the right token."""
        header = headers.get("authorization", "")
        scheme, _, presented = header.strip().partition(" ")
        presented = presented.strip()
        if scheme.lower() != "bearer" or not presented:
            raise ContractError(
                "unauthorized",
                "send the access token as 'Authorization: Bearer <token>'",
                headers={"www-authenticate": 'Bearer realm="expense"'},
            )
        expected = self._expected()
        if not expected or not hmac.compare_digest(_utf8(presented), expected):
            raise ContractError("forbidden", "the access token is not valid")

"""SSRF rules of the URL fetch: a corpus of refused URLs (no server, no network) and live
refusals/acceptances against local servers admitted only by a test policy."""

from __future__ import annotations

import ipaddress
import socket
import ssl
from typing import Any

import _fetch
import pytest
from _addr import is_public_address, normalise_host
from _drip import drip_scripts, drip_server
from _handler_support import (
    JPEG,
    PDF,
    PNG,
    TLS_NAME,
    DocServer,
    FakeResolver,
    LocalPKI,
    Route,
    local_policy,
    serve_docs,
)

from expense_cli.contract import ContractError

# Names the corpus resolves (the fake resolver never touches the network).
RESOLVER_TABLE = {
    "metadata.test": ["169.254.169.254"],
    "internal.test": ["10.1.2.3"],
    "mixed.test": ["93.184.216.34", "10.0.0.5"],
    "mixed6.test": ["2606:4700::1111", "fd00::5"],
    "v6private.test": ["fd00::5"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "nat64.test": ["64:ff9b::a9fe:a9fe"],
    "localhost": ["127.0.0.1", "::1"],
    "cgnat.test": ["100.64.1.1"],
    "scoped.test": ["fe80::1%eth0"],
    "public.test": ["93.184.216.34"],
}

# (url, fragment expected in the refusal message)
NOT_PUBLIC = "not a public"
QUAD = "dotted quad"
REFUSED_URLS: list[tuple[str, str]] = [
    # The instance metadata service, every spelling.
    ("https://169.254.169.254/latest/meta-data/", NOT_PUBLIC),
    ("https://2852039166/latest/meta-data/", QUAD),
    ("https://0xa9fea9fe/", QUAD),
    ("https://0xA9.0xFE.0xA9.0xFE/", QUAD),
    ("https://0251.0376.0251.0376/", QUAD),
    ("https://169.254.43518/", QUAD),
    ("https://169.16689662/", QUAD),
    ("https://[fd00:ec2::254]/latest/meta-data/", NOT_PUBLIC),
    ("https://[::ffff:169.254.169.254]/", NOT_PUBLIC),
    ("https://[::ffff:a9fe:a9fe]/", NOT_PUBLIC),
    ("https://[64:ff9b::a9fe:a9fe]/", NOT_PUBLIC),
    ("https://[2002:a9fe:a9fe::]/", NOT_PUBLIC),
    ("https://metadata.test/", NOT_PUBLIC),
    # Loopback.
    ("https://127.0.0.1/", NOT_PUBLIC),
    ("https://127.1/", QUAD),
    ("https://0177.0.0.1/", QUAD),
    ("https://0x7f.1/", QUAD),
    ("https://0x7f000001/", QUAD),
    ("https://2130706433/", QUAD),
    ("https://127.0.0.1./", NOT_PUBLIC),
    ("https://\uff11\uff12\uff17.\uff10.\uff10.\uff11/", NOT_PUBLIC),  # full-width digits
    ("https://[::1]/", NOT_PUBLIC),
    ("https://[::127.0.0.1]/", NOT_PUBLIC),  # IPv4-compatible
    ("https://[::ffff:127.0.0.1]/", NOT_PUBLIC),
    ("https://[2002:7f00:1::]/", NOT_PUBLIC),  # 6to4
    ("https://[64:ff9b::7f00:1]/", NOT_PUBLIC),  # NAT64
    ("https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", NOT_PUBLIC),  # Teredo
    ("https://localhost/", NOT_PUBLIC),
    ("https://mapped.test/", NOT_PUBLIC),
    # Unspecified, private, CGNAT, link-local, multicast, reserved, special use.
    ("https://0.0.0.0/", NOT_PUBLIC),
    ("https://0/", QUAD),
    ("https://[::]/", NOT_PUBLIC),
    ("https://10.0.0.1/", NOT_PUBLIC),
    ("https://172.16.5.4/", NOT_PUBLIC),
    ("https://172.31.255.254/", NOT_PUBLIC),
    ("https://192.168.1.1/", NOT_PUBLIC),
    ("https://100.64.0.1/", NOT_PUBLIC),
    ("https://cgnat.test/", NOT_PUBLIC),
    ("https://169.254.1.1/", NOT_PUBLIC),
    ("https://[fe80::1]/", NOT_PUBLIC),
    ("https://224.0.0.1/", NOT_PUBLIC),
    ("https://239.255.255.250/", NOT_PUBLIC),
    ("https://[ff02::1]/", NOT_PUBLIC),
    ("https://240.0.0.1/", NOT_PUBLIC),
    ("https://255.255.255.255/", NOT_PUBLIC),
    ("https://192.0.2.10/", NOT_PUBLIC),
    ("https://198.18.0.1/", NOT_PUBLIC),
    ("https://[fd00::1]/", NOT_PUBLIC),
    ("https://[fec0::1]/", NOT_PUBLIC),
    ("https://[2001:db8::1]/", NOT_PUBLIC),
    ("https://[64:ff9b:1::a00:1]/", NOT_PUBLIC),
    # DNS names that resolve (partly) into private space.
    ("https://internal.test/receipt.png", NOT_PUBLIC),
    ("https://mixed.test/receipt.png", NOT_PUBLIC),
    ("https://mixed6.test/receipt.png", NOT_PUBLIC),
    ("https://v6private.test/", NOT_PUBLIC),
    ("https://nat64.test/", NOT_PUBLIC),
    ("https://scoped.test/", "invalid address"),
    ("https://nowhere.test/", "could not be resolved"),
    # Schemes, credentials, ports, malformed URLs.
    ("file:///etc/passwd", "https"),
    ("gopher://public.test:70/_GET", "https"),
    ("ftp://public.test/receipt.png", "https"),
    ("data:image/png;base64,iVBORw0KGgo=", "as 'document'"),
    ("DATA:,hello", "as 'document'"),
    ("javascript:alert(1)", "https"),
    ("http://public.test/receipt.png", "plain http is disabled"),
    ("//public.test/receipt.png", "https"),
    ("https://user:secret@public.test/receipt.png", "credentials"),
    ("https://user@public.test/receipt.png", "credentials"),
    ("https://public.test@169.254.169.254/", "credentials"),
    ("https://public.test:8080/receipt.png", "port 8080"),
    ("https://public.test:22/", "port 22"),
    ("https://public.test:80/", "port 80"),
    ("https://public.test:0/", "port 0"),
    ("https://public.test:99999/", "malformed"),
    ("https://[fe80::1%25eth0]/", ""),
    ("https://public.test\\@169.254.169.254/", "backslash"),
    ("https://public .test/", "whitespace"),
    ("https://public.test/\r\nX-Injected: 1", "control"),
    ("https:///receipt.png", "no host"),
    ("https://" + "a" * 64 + ".test/", "valid hostname"),
    ("https://public.test/" + "x" * 3000, "longer than"),
    # Lone UTF-16 surrogates (a JSON string can hold "\ud800"; no URL can): a 500 before.
    ("https://public.test/r\ud800.png", "surrogate"),
    ("https://public.test/r.png?sig=\udfff", "surrogate"),
    ("https://public.test/\U0001f9fe\udc00", "surrogate"),
    ("https://pub\ud83dlic.test/", "surrogate"),
    ("https://public.test/#\ud800", "surrogate"),
]


@pytest.mark.parametrize(("url", "reason"), REFUSED_URLS)
def test_refused_without_dialling(url: str, reason: str, no_dial: list[Any]) -> None:
    resolver = FakeResolver(RESOLVER_TABLE)
    policy = _fetch.FetchPolicy(max_bytes=1_000_000, timeout_s=2.0, resolver=resolver)
    with pytest.raises(ContractError) as caught:
        _fetch.fetch_document(url, policy)
    assert caught.value.status == 400
    assert caught.value.code in ("url_refused", "url_fetch_failed")
    assert reason.lower() in caught.value.message.lower()
    assert no_dial == []


def test_corpus_is_large_enough() -> None:
    assert len(REFUSED_URLS) >= 40


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/",
        "http://2852039166/",
        "http://[::ffff:10.0.0.1]/",
        "http://internal.test/",
        "http://public.test:443/",
        "http://public.test:8080/",
    ],
)
def test_refused_with_http_enabled(url: str, no_dial: list[Any]) -> None:
    policy = _fetch.FetchPolicy(
        max_bytes=1000, timeout_s=2.0, allow_http=True, resolver=FakeResolver(RESOLVER_TABLE)
    )
    with pytest.raises(ContractError) as caught:
        _fetch.fetch_document(url, policy)
    assert caught.value.status == 400
    assert no_dial == []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://public.test:443/", "port 443 is not allowed in http URLs (only 80"),
        ("https://public.test:80/", "port 80 is not allowed in https URLs (only 443"),
        ("https://public.test:8443/", "port 8443 is not allowed in https URLs (only 443"),
        ("http://public.test:0/", "port 0 is not allowed in http URLs (only 80"),
        ("HTTP://public.test:65535/", "port 65535 is not allowed in http URLs (only 80"),
    ],
)
def test_a_refused_port_names_the_one_its_scheme_allows(
    url: str, expected: str, no_dial: list[Any]
) -> None:
    """Not "only 443, or 80 when plain http is enabled" for http://host:443 (which names the port
    it refuses as allowed) or https://host:80 (which no setting allows)."""
    policy = _fetch.FetchPolicy(
        max_bytes=1000, timeout_s=2.0, allow_http=True, resolver=FakeResolver(RESOLVER_TABLE)
    )
    with pytest.raises(ContractError) as caught:
        _fetch.fetch_document(url, policy)
    assert caught.value.code == "url_refused"
    assert caught.value.message.startswith(expected)


@pytest.mark.parametrize(
    "address",
    # (Public 6to4 addresses such as 2002:808:808:: are global up to Python 3.12.3 only.)
    ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"],
)
def test_public_addresses_pass_the_rule(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("Example.COM.", "example.com"),
        ("b\u00fccher.de", "xn--bcher-kva.de"),
        ("93.184.216.34", "93.184.216.34"),
        ("3com.example", "3com.example"),
    ],
)
def test_normalise_host_keeps_valid_names(host: str, expected: str) -> None:
    assert normalise_host(host)[0] == expected


def test_production_policy_never_admits_loopback() -> None:
    from _config import Settings

    policy = _fetch.FetchPolicy.from_settings(Settings(endpoint_name="e", allow_http_urls=True))
    assert not policy.address_allowed(ipaddress.ip_address("127.0.0.1"))
    assert not policy.address_allowed(ipaddress.ip_address("::1"))
    assert policy.extra_ports == frozenset()
    assert policy.port_allowed("https", 443) and policy.port_allowed("http", 80)
    assert not policy.port_allowed("https", 8443)
    assert policy.resolver is _fetch.system_resolver


# ------------------------------------------------------------------ live local servers


def _fetch_local(
    server: DocServer, path: str, resolver: FakeResolver | None = None, **kwargs: Any
) -> _fetch.Fetched:
    resolver = resolver or FakeResolver({"docs.test": ["127.0.0.1"], **RESOLVER_TABLE})
    policy = local_policy(resolver, [server.port], allow_http=True, **kwargs)
    return _fetch.fetch_document(server.url(path, host="docs.test"), policy)


@pytest.mark.server
@pytest.mark.parametrize(
    ("body", "kind"), [(PNG, "image/png"), (PDF, "application/pdf"), (JPEG, "image/jpeg")]
)
def test_fetches_a_document_from_an_admitted_server(
    doc_server: DocServer, body: bytes, kind: str
) -> None:
    doc_server.routes["/r"] = Route(body=body, content_type="application/octet-stream")
    fetched = _fetch_local(doc_server, "/r?sig=abc")
    assert fetched.data == body
    assert fetched.media_type == kind
    assert fetched.host == "docs.test"
    assert doc_server.hits == ["/r?sig=abc"]
    assert doc_server.host_headers == [f"docs.test:{doc_server.port}"]


@pytest.mark.server
def test_dials_the_checked_address_without_a_second_lookup(
    doc_server: DocServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[str] = []
    real_getaddrinfo = socket.getaddrinfo

    def recording(host: Any, *args: Any, **kwargs: Any) -> Any:
        looked_up.append(str(host))
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", recording)
    doc_server.routes["/r"] = Route()
    resolver = FakeResolver({"docs.test": ["127.0.0.1"]})
    assert _fetch_local(doc_server, "/r", resolver).data == PNG
    assert resolver.calls == ["docs.test"]
    # Whatever the socket layer looked up was the pinned literal, never the name.
    assert all(ipaddress.ip_address(host) for host in looked_up)


@pytest.mark.server
@pytest.mark.parametrize(
    "target",
    [
        "https://169.254.169.254/latest/meta-data/",
        "http://2852039166/",
        "http://internal.test/x",
        "http://[::ffff:10.0.0.1]/",
        "file:///etc/passwd",
        "http://mixed.test/x",
        "http://docs.test@169.254.169.254/",
    ],
)
def test_redirect_into_private_space_is_refused(doc_server: DocServer, target: str) -> None:
    doc_server.routes["/go"] = Route(status=302, location=target, body=b"", content_type=None)
    with pytest.raises(ContractError) as caught:
        _fetch_local(doc_server, "/go")
    assert caught.value.status == 400
    assert caught.value.code == "url_refused"
    # The caller sent a public URL: the message must say the redirect's target was refused.
    assert caught.value.message.startswith("after 1 redirect: ")
    assert doc_server.hits == ["/go"]


@pytest.mark.server
@pytest.mark.parametrize(
    ("route", "code", "fragment"),
    [
        (None, "url_refused", "the URL host is not a public"),
        (Route(status=404, body=b"gone", content_type="text/plain"), "url_fetch_failed", "404"),
        (Route(content_type="text/html"), "unsupported_media_type", "'text/html'"),
        (Route(body=b"", content_type="image/png"), "empty_document", "empty body"),
        (Route(body=b"<html/>", content_type="image/png"), "unsupported_media_type", "PNG"),
        (Route(body=PNG * 50), "document_too_large", "larger than"),
    ],
    ids=["private-after-three", "404", "html", "empty", "not-a-document", "too-large"],
)
def test_a_failure_after_redirects_says_so(
    doc_server: DocServer, route: Route | None, code: str, fragment: str
) -> None:
    """Whatever fails at a redirect's target is reported as such, with the same code and status
    as at the first hop."""
    doc_server.routes["/a"] = Route(status=301, location="/b", body=b"", content_type=None)
    doc_server.routes["/b"] = Route(status=302, location="/c", body=b"", content_type=None)
    if route is None:
        doc_server.routes["/c"] = Route(
            status=307, location="https://internal.test/x", body=b"", content_type=None
        )
    else:
        doc_server.routes["/c"] = route
    with pytest.raises(ContractError) as caught:
        _fetch_local(doc_server, "/a", max_bytes=len(PNG) * 10)
    hops = 3 if route is None else 2
    assert caught.value.code == code
    assert caught.value.message.startswith(f"after {hops} redirects: ")
    assert fragment in caught.value.message
    # Refused at the first hop, the same failure carries no such prefix.
    if route is not None:
        with pytest.raises(ContractError) as first:
            _fetch_local(doc_server, "/c", max_bytes=len(PNG) * 10)
        assert (first.value.code, first.value.status) == (code, caught.value.status)
        assert caught.value.message == f"after 2 redirects: {first.value.message}"


@pytest.mark.server
def test_https_redirect_to_plain_http_is_refused_when_http_is_off(
    tls_server: DocServer, test_pki: LocalPKI
) -> None:
    tls_server.routes["/go"] = Route(status=301, location="http://public.test/r", body=b"")
    resolver = FakeResolver({TLS_NAME: ["127.0.0.1"]})
    policy = local_policy(resolver, [tls_server.port], ssl_context=test_pki.client_context())
    with pytest.raises(ContractError) as caught:
        _fetch.fetch_document(tls_server.url("/go", host=TLS_NAME), policy)
    assert "plain http is disabled" in caught.value.message
    assert tls_server.hits == ["/go"]


@pytest.mark.server
def test_at_most_three_redirects(doc_server: DocServer) -> None:
    for i in range(4):
        doc_server.routes[f"/hop{i}"] = Route(status=307, location=f"/hop{i + 1}", body=b"")
    doc_server.routes["/hop4"] = Route()
    doc_server.routes["/start"] = Route(status=302, location="/hop2", body=b"")
    # Three redirects (start → hop2 → hop3 → hop4) are followed ...
    fetched = _fetch_local(doc_server, "/start")
    assert fetched.data == PNG and fetched.redirects == 3
    # ... four are not.
    doc_server.hits.clear()
    with pytest.raises(ContractError) as caught:
        _fetch_local(doc_server, "/hop0")
    assert "redirected more than 3 times" in caught.value.message
    assert doc_server.hits == ["/hop0", "/hop1", "/hop2", "/hop3"]


@pytest.mark.server
@pytest.mark.parametrize(
    "route",
    [
        Route(body=PNG * 200),  # declared too large
        Route(body=PNG * 200, chunked=True),  # no length, too many bytes
        Route(body=PNG * 200, send_length=False),  # no length, read until close
    ],
    ids=["content-length", "chunked", "until-close"],
)
def test_oversized_body_is_refused(doc_server: DocServer, route: Route) -> None:
    doc_server.routes["/big"] = route
    with pytest.raises(ContractError) as caught:
        _fetch_local(doc_server, "/big", max_bytes=len(PNG) * 10)
    assert caught.value.status == 413
    assert "split" in caught.value.message


@pytest.mark.server
@pytest.mark.parametrize(
    ("route", "status", "fragment"),
    [
        (Route(content_type="text/html"), 415, "text/html"),
        (Route(content_type="application/json"), 415, "application/json"),
        (Route(body=b"<html>hello</html>", content_type="image/png"), 415, "did not return"),
        (Route(body=b"", content_type="image/png"), 400, "empty"),
        (Route(status=404, content_type="text/plain", body=b"nope"), 400, "HTTP 404"),
        (Route(headers={"Content-Encoding": "gzip"}), 400, "gzip"),
        (Route(status=302, location=None, body=b""), 400, "without a Location"),
    ],
    ids=["html", "json", "magic", "empty", "404", "gzip", "no-location"],
)
def test_wrong_responses_are_refused(
    doc_server: DocServer, route: Route, status: int, fragment: str
) -> None:
    doc_server.routes["/r"] = route
    with pytest.raises(ContractError) as caught:
        _fetch_local(doc_server, "/r")
    assert caught.value.status == status
    assert fragment in caught.value.message


@pytest.mark.server
@pytest.mark.parametrize(
    "route",
    [Route(body=PNG, trickle_s=0.1), Route(header_delay_s=3.0)],
    ids=["slow-body", "slow-headers"],
)
def test_slow_server_exceeds_the_time_cap(doc_server: DocServer, route: Route) -> None:
    doc_server.routes["/slow"] = route
    with pytest.raises(ContractError) as caught:
        _fetch_local(doc_server, "/slow", timeout_s=0.6)
    assert caught.value.code == "url_timeout"


def test_slow_resolver_counts_against_the_time_cap() -> None:
    import threading

    release = threading.Event()

    def stuck(host: str, port: int) -> list[str]:
        release.wait(5)
        return ["93.184.216.34"]

    policy = _fetch.FetchPolicy(max_bytes=1000, timeout_s=0.2, resolver=stuck)
    try:
        with pytest.raises(ContractError) as caught:
            _fetch.fetch_document("https://public.test/r", policy)
        assert caught.value.code == "url_timeout"
    finally:
        release.set()


@pytest.mark.server
def test_tls_checks_the_name_while_dialling_the_pinned_address(
    tls_server: DocServer, test_pki: LocalPKI
) -> None:
    tls_server.routes["/r"] = Route()
    resolver = FakeResolver({TLS_NAME: ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    policy = local_policy(resolver, [tls_server.port], ssl_context=test_pki.client_context())
    fetched = _fetch.fetch_document(tls_server.url("/r", host=TLS_NAME), policy)
    assert fetched.data == PNG
    # Same address, a name the certificate does not cover: refused by the certificate check.
    with pytest.raises(ContractError) as caught:
        _fetch.fetch_document(tls_server.url("/r", host="other.test"), policy)
    assert "certificate" in caught.value.message
    # Without the test CA the default trust store refuses the certificate.
    untrusted = local_policy(resolver, [tls_server.port])
    with pytest.raises(ContractError):
        _fetch.fetch_document(tls_server.url("/r", host=TLS_NAME), untrusted)
    assert tls_server.hits == ["/r"]


def _tls12_only(pki: LocalPKI) -> ssl.SSLContext:
    """A server context for TLS_NAME that speaks TLS 1.2 at most."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    folder = pki.ca_file.parent
    context.load_cert_chain(str(folder / "server.pem"), str(folder / "server.key"))
    return context


@pytest.mark.server
@pytest.mark.parametrize(
    ("server", "host", "fragment"),
    [
        # (OpenSSL's reason, in the parentheses, varies between its versions.)
        ("plain-http", TLS_NAME, "the TLS connection to the URL failed ("),
        ("tls-1.2-only", TLS_NAME, "the TLS connection to the URL failed ("),
        ("tls", "other.test", "certificate could not be verified"),
        ("untrusted", TLS_NAME, "certificate could not be verified"),
    ],
)
def test_tls_failures_say_what_failed(
    test_pki: LocalPKI, server: str, host: str, fragment: str
) -> None:
    """Only a certificate that fails verification is reported as one: a port without TLS, or no
    common protocol version, was also called "could not be verified"."""
    tls: ssl.SSLContext | None = {"plain-http": None, "tls-1.2-only": _tls12_only(test_pki)}.get(
        server, test_pki.server_context
    )
    client = test_pki.client_context()
    client.minimum_version = ssl.TLSVersion.TLSv1_3
    if server == "untrusted":
        client = ssl.create_default_context()
    with serve_docs(tls) as docs:
        docs.routes["/r"] = Route()
        resolver = FakeResolver({TLS_NAME: ["127.0.0.1"], "other.test": ["127.0.0.1"]})
        policy = local_policy(resolver, [docs.port], ssl_context=client)
        with pytest.raises(ContractError) as caught:
            _fetch.fetch_document(f"https://{host}:{docs.port}/r", policy)
    assert caught.value.code == "url_fetch_failed"
    assert caught.value.message.startswith(fragment) or fragment in caught.value.message
    assert ("certificate" in caught.value.message) == ("certificate" in fragment)
    assert docs.hits == []


@pytest.mark.server
def test_falls_back_to_the_next_checked_address(doc_server: DocServer) -> None:
    doc_server.routes["/r"] = Route()
    dialled: list[str] = []
    real_connect = socket.create_connection

    def recording(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        dialled.append(address[0])
        return real_connect(address, *args, **kwargs)

    loopback = ipaddress.ip_network("127.0.0.0/8")
    policy = _fetch.FetchPolicy(
        max_bytes=100_000,
        timeout_s=5.0,
        allow_http=True,
        resolver=FakeResolver({"docs.test": ["127.0.0.2", "127.0.0.1", "127.0.0.1"]}),
        address_allowed=lambda ip: ip in loopback,
        extra_ports=frozenset({doc_server.port}),
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_fetch.socket, "create_connection", recording)
        fetched = _fetch.fetch_document(doc_server.url("/r", host="docs.test"), policy)
    assert fetched.data == PNG
    assert dialled == ["127.0.0.2", "127.0.0.1"]  # nothing listens on .2; duplicates dropped


# ------------------------------------------------------------ drip attacks: a wall-clock cap

DRIP_INTERVAL_S = 0.02
DRIP_CAP_S = 0.5


@pytest.mark.server
@pytest.mark.parametrize("attack", sorted(drip_scripts(PNG)))
def test_a_dripping_server_is_cut_off_at_the_time_cap(attack: str) -> None:
    """Issue 12 item 6: one byte every 20 ms keeps every socket read under its timeout, and each
    script dripped to its end is a valid answer; the fetch must still end at its cap."""
    prefix, drip = drip_scripts(PNG)[attack]
    scheme = "https" if attack.startswith("tls") else "http"
    with drip_server(prefix, drip, DRIP_INTERVAL_S) as server:
        resolver = FakeResolver({"docs.test": ["127.0.0.1"]})
        policy = local_policy(resolver, [server.port], allow_http=True, timeout_s=DRIP_CAP_S)
        with pytest.raises(ContractError) as caught:
            _fetch.fetch_document(f"{scheme}://docs.test:{server.port}/r.png", policy)
    assert caught.value.code == "url_timeout"
    assert "took too long" in caught.value.message
    # Cut off at the cap: in 0.5 s a byte per 20 ms is 25 bytes (fewer if the machine is slow,
    # never more); the script runs to hundreds.
    assert server.sent and max(server.sent) < 2 * DRIP_CAP_S / DRIP_INTERVAL_S < len(drip)


@pytest.mark.server
def test_the_time_cap_spans_redirect_hops() -> None:
    """Each hop within the cap is not enough: the hops share one deadline. The first answers
    its redirect after 0.3 s, the second drips a whole PDF in about 0.35 s; cap 0.5 s."""
    prefix = f"HTTP/1.1 200 OK\r\nContent-Length: {len(PDF)}\r\n\r\n".encode()
    with drip_server(prefix, PDF, 0.35 / len(PDF)) as slow, serve_docs() as docs:
        target = f"http://docs.test:{slow.port}/r"
        docs.routes["/go"] = Route(status=302, location=target, body=b"", header_delay_s=0.3)
        resolver = FakeResolver({"docs.test": ["127.0.0.1"]})
        policy = local_policy(resolver, [slow.port, docs.port], allow_http=True, timeout_s=0.5)
        with pytest.raises(ContractError) as caught:
            _fetch.fetch_document(f"http://docs.test:{docs.port}/go", policy)
    assert caught.value.code == "url_timeout"
    assert docs.hits == ["/go"]


def test_the_watchdog_shuts_a_blocked_read_down() -> None:
    """The mechanism on its own: a read blocked with no socket timeout ends at the deadline."""
    import time

    left, right = socket.socketpair()
    with left, right:
        watchdog = _fetch._Watchdog(time.monotonic() + 0.2)
        try:
            watchdog.watch(left)
            assert left.recv(10) == b""  # shut down: end-of-file instead of blocking for ever
            assert watchdog.expired
        finally:
            watchdog.close()


# ------------------------------------------- responses whose framing lies about their length


def _answer(headers: bytes, body: bytes) -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n" + headers + b"\r\n" + body


_FULL = f"Content-Length: {len(PNG)}\r\n".encode()
_PDF_HALF = PDF[: len(PDF) // 2]
_CHUNKED = b"Transfer-Encoding: chunked\r\n"

LYING_RESPONSES = {
    # The server closes before the length it announced: the document is cut short.
    "length-longer-than-body": _answer(f"Content-Length: {len(PNG) + 500}\r\n".encode(), PNG),
    "pdf-cut-in-half": _answer(f"Content-Length: {len(PDF)}\r\n".encode(), _PDF_HALF),
    "length-but-no-body": _answer(b"Content-Length: 4096\r\n", b""),
    # Lengths that are not one plain number: which one frames the body is anybody's guess.
    "two-lengths": _answer(b"Content-Length: 10\r\n" + _FULL, PNG),
    "length-list": _answer(f"Content-Length: 10, {len(PNG)}\r\n".encode(), PNG),
    "negative-length": _answer(b"Content-Length: -5\r\n", PNG),
    "signed-length": _answer(f"Content-Length: +{len(PNG)}\r\n".encode(), PNG),
    "length-with-junk": _answer(f"Content-Length: {len(PNG)}abc\r\n".encode(), PNG),
    "hex-length": _answer(f"Content-Length: 0x{len(PNG):x}\r\n".encode(), PNG),
    "exponent-length": _answer(b"Content-Length: 1e3\r\n", PNG),
    "superscript-length": _answer("Content-Length: 1\u00b9\r\n".encode("latin-1"), PNG),
    "empty-length": _answer(b"Content-Length: \r\n", PNG),
    "huge-length": _answer(b"Content-Length: " + b"9" * 40 + b"\r\n", PNG),
    # Chunked bodies that stop in the middle of a chunk or before the last chunk.
    "chunk-cut-short": _answer(_CHUNKED, f"{len(PNG):x}\r\n".encode() + PNG[:100]),
    "no-last-chunk": _answer(_CHUNKED, f"{len(PNG):x}\r\n".encode() + PNG + b"\r\n"),
}


@pytest.mark.server
@pytest.mark.parametrize("answer", LYING_RESPONSES.values(), ids=LYING_RESPONSES.keys())
def test_a_response_whose_length_lies_is_refused(answer: bytes) -> None:
    """http.client returns a body the server cut short as if it were whole, and reads to the close
    past a length it cannot parse; neither may reach the model as the caller's document."""
    with drip_server(answer, b"", 0.0) as server:
        resolver = FakeResolver({"docs.test": ["127.0.0.1"]})
        policy = local_policy(resolver, [server.port], allow_http=True)
        with pytest.raises(ContractError) as caught:
            _fetch.fetch_document(f"http://docs.test:{server.port}/r.png", policy)
    assert caught.value.code == "url_fetch_failed"
    assert caught.value.status == 400
    assert "ended" in caught.value.message or "Content-Length" in caught.value.message


@pytest.mark.server
@pytest.mark.parametrize(
    "headers",
    [
        _FULL,
        _FULL + _FULL,  # the same length twice is one length (RFC 9112, section 6.3)
        f"Content-Length: {len(PNG)}, {len(PNG)}\r\n".encode(),
        f"Content-Length:   {len(PNG)}  \r\n".encode(),
        _CHUNKED + b"Content-Length: 7\r\n",  # chunked framing wins; the length is ignored
        b"",  # no length: read to the close
    ],
    ids=["one", "twice", "listed-twice", "padded", "chunked-and-length", "none"],
)
def test_honest_framings_are_fetched_whole(headers: bytes) -> None:
    body = PNG
    if b"chunked" in headers:
        body = f"{len(PNG):x}\r\n".encode() + PNG + b"\r\n0\r\n\r\n"
    with drip_server(_answer(headers, body), b"", 0.0) as server:
        resolver = FakeResolver({"docs.test": ["127.0.0.1"]})
        policy = local_policy(resolver, [server.port], allow_http=True)
        fetched = _fetch.fetch_document(f"http://docs.test:{server.port}/r.png", policy)
    assert fetched.data == PNG

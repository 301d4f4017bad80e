"""Host normalisation and the "is this address safe to dial" rule for URL fetches.

A fetched URL may only reach addresses that are publicly routable. :func:`is_public_address`
requires ``ipaddress``'s ``is_global`` *and* no loopback/private/link-local/multicast/reserved/
unspecified/site-local flag *and* no match in an explicit deny list (the stdlib's ``is_global``
differs between Python patch releases and calls multicast and some transition ranges global).
IPv6 forms that embed an IPv4 address are unwrapped and the embedded address must be public too:
IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d`` (always refused), 6to4
``2002:AABB:CCDD::`` (Python >= 3.12.4 calls all of 2002::/16 non-global, so refused there),
Teredo ``2001:0::/32`` (always refused) and NAT64 ``64:ff9b::a.b.c.d``.

:func:`normalise_host` turns a URL host into the ASCII name that is resolved and sent as SNI/Host,
refusing numeric hosts that are not a canonical dotted quad (``2852039166``, ``0x7f.1``,
``0177.0.0.1``, ``127.1``: C resolvers read those as IPv4 addresses) and IPv6 zone ids.
"""

from __future__ import annotations

import ipaddress
import re
from typing import TypeAlias

__all__ = ["IPAddress", "is_public_address", "normalise_host", "parse_address"]

IPAddress: TypeAlias = "ipaddress.IPv4Address | ipaddress.IPv6Address"

_DENY_V4 = tuple(
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
)
_DENY_V6 = tuple(
    ipaddress.IPv6Network(n)
    for n in (
        "::/96",  # unspecified, loopback, IPv4-compatible
        "64:ff9b:1::/48",  # local-use NAT64
        "100::/64",  # discard
        "2001::/23",  # IETF protocol assignments, Teredo included
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # SRv6 SIDs
        "fc00::/7",  # unique local (fd00:ec2::254 is the EC2 metadata service)
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
        "ff00::/8",  # multicast
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = ipaddress.IPv6Network("2002::/16")

_LABEL = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_OCTET = r"(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CANONICAL_V4 = re.compile(rf"^{_OCTET}(\.{_OCTET}){{3}}$")


def _flags_ok(ip: IPAddress) -> bool:
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def _public_v4(ip: ipaddress.IPv4Address) -> bool:
    return _flags_ok(ip) and not any(ip in net for net in _DENY_V4)


def is_public_address(ip: IPAddress) -> bool:
    """True only for an address that is globally routable under every reading of it."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _public_v4(ip)
    if ip.ipv4_mapped is not None:
        return _public_v4(ip.ipv4_mapped)
    if ip in _NAT64:
        # Well-known NAT64 prefix: what gets dialled is the embedded IPv4 address.
        return _public_v4(ipaddress.IPv4Address(ip.packed[12:]))
    if any(ip in net for net in _DENY_V6) or ip.is_site_local:
        return False
    if ip.sixtofour is not None and not _public_v4(ip.sixtofour):
        return False
    if ip.teredo is not None:
        return False
    return _flags_ok(ip)


def parse_address(text: str) -> IPAddress:
    """Parse a resolver's answer (no zone ids); raises ``ValueError``."""
    if "%" in text:
        raise ValueError("scoped IPv6 addresses are not allowed")
    return ipaddress.ip_address(text)


def normalise_host(host: str) -> tuple[str, IPAddress | None]:
    """The ASCII host to resolve (and send as SNI/Host) and its address when it is a literal.

    Raises ``ValueError`` with a caller-facing reason for hosts that must not be fetched.
    """
    if not host:
        raise ValueError("the URL has no host")
    if ":" in host:  # urlsplit strips the brackets of an IPv6 literal
        return host, parse_address(host)
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("the URL host is not a valid hostname") from None
    ascii_host = ascii_host.lower()
    if ascii_host.endswith("."):
        ascii_host = ascii_host[:-1]
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in labels):
        raise ValueError("the URL host is not a valid hostname")
    if _NUMERIC_LABEL.match(labels[-1]):
        # A host ending in a number is an IPv4 address to every URL parser and resolver; only the
        # canonical dotted quad is accepted so that no alternative spelling can slip past checks.
        if not _CANONICAL_V4.match(ascii_host):
            raise ValueError("numeric hosts must be written as a plain dotted quad (a.b.c.d)")
        return ascii_host, ipaddress.IPv4Address(ascii_host)
    return ascii_host, None

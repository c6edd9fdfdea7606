"""Which hosts the fetcher may contact: public internet addresses only.

A knowledge base that fetches URLs people type (in the app or with `kb add`) must not become a
way to reach the machine it runs on, its private network or a cloud metadata service
(169.254.169.254). Every request, each redirect hop included, names a host; the host is
resolved and refused when any of its addresses is not a public one.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from kb.errors import FetchError

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def check_public_url(url: str) -> None:
    """FetchError unless every address of the URL's host is a public internet address."""
    host = urlsplit(url).hostname or ""
    for address in addresses_of(host, url):
        problem = non_public_kind(address)
        if problem:
            resolved = f" ({address})" if host.strip("[]") != str(address) else ""
            raise FetchError(f"{url} points to {problem}{resolved}; policy-kb only fetches public web "
                             "pages (KB_ALLOW_PRIVATE_ADDRESSES=true lifts this on a trusted network)")


def addresses_of(host: str, url: str) -> list[Address]:
    """The host itself when it is an address literal, else what the resolver answers."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"could not connect to {url}: the host name {host} cannot be resolved "
                         f"({exc.strerror if isinstance(exc, socket.gaierror) else exc})") from None
    # An IPv6 answer may carry a zone ("fe80::1%eth0"); the address is the part before it.
    return [ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers]


def non_public_kind(address: Address) -> str:
    """What kind of non-public address this is, written for a person; "" for a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 reaches 127.0.0.1
    if address.is_loopback:
        return "this computer (a loopback address)"
    if address.is_link_local:
        return "a link-local address, where cloud metadata services live"
    if address.is_unspecified or address.is_multicast or address.is_reserved:
        return "an address that is not a web server's"
    if address.is_private or not address.is_global:
        return "a private network address"
    return ""

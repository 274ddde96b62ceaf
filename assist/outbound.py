"""Where model calls may go: never to a private, loopback or link-local address unless
``OUTBOUND_ALLOWED_HOSTS`` names the host or a CIDR range that holds it.

Checked before every call on the addresses the name resolves to at that moment, so a
name that resolves elsewhere later is caught on the next call. Redirects are never
followed (the client is built with ``follow_redirects=False``): a 3xx is an error.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

NOT_HTTP = "The base URL must start with http:// or https://."
NO_HOST = "The base URL has no host name."
UNRESOLVED = "The host name {host} could not be resolved (DNS)."
PRIVATE = (
    "{host} resolves to {address}, a private, loopback or link-local address. Model calls "
    "may only reach such addresses when OUTBOUND_ALLOWED_HOSTS allows them."
)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class OutboundRefused(ValueError):
    """The URL may not be called; the message says why."""


def _allowed(host: str, address: Address) -> bool:
    for entry in getattr(settings, "OUTBOUND_ALLOWED_HOSTS", []):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == host:
            return True
        try:
            if address in ipaddress.ip_network(entry, strict=False):
                return True
        except ValueError:
            continue
    return False


def _is_internal(address: Address) -> bool:
    return (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def check_url(url: str) -> None:
    """Raise :class:`OutboundRefused` unless ``url`` may be called now."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise OutboundRefused(NOT_HTTP)
    host = (parts.hostname or "").lower()
    if not host:
        raise OutboundRefused(NO_HOST)
    try:
        infos = socket.getaddrinfo(host, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise OutboundRefused(UNRESOLVED.format(host=host)) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        mapped = getattr(address, "ipv4_mapped", None)
        if mapped is not None:
            address = mapped
        if _is_internal(address) and not _allowed(host, address):
            raise OutboundRefused(PRIVATE.format(host=host, address=address))

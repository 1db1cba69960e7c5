"""Which URLs the plugin may call: https to public hosts, unless ALLOW_LOCAL_URLS.

A webhook URL is configuration an admin types in; without this policy the plugin could
be pointed at the instance's own private network (SSRF). The sandbox has neither
`ipaddress` nor DNS, so literal addresses are classified here by hand and host names are
not resolved: `localhost` and `*.localhost` are refused by name, the rest is left to
the platform, which refuses loopback targets for `HttpRequestEffect` itself.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

_DOTTED_QUAD = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
# A label HTTP clients would read as a number (`127.1`, `0x7f.1`, `2130706433`).
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+")


class UrlPolicyError(ValueError):
    """The URL is not one the plugin may call; the message says why, not the URL."""


def _ipv4_is_local(octets: list[int]) -> bool:
    first, second = octets[0], octets[1]
    return (
        first in (0, 10, 127)
        or (first == 100 and 64 <= second <= 127)  # carrier-grade NAT
        or (first == 169 and second == 254)  # link-local, cloud metadata
        or (first == 172 and 16 <= second <= 31)
        or (first == 192 and second == 168)
        or (first == 192 and second == 0 and octets[2] in (0, 2))
        or (first == 198 and second in (18, 19))  # benchmarking
        or first >= 224  # multicast, reserved, broadcast
    )


def _ipv4(host: str) -> list[int] | None:
    match = _DOTTED_QUAD.fullmatch(host)
    if match is None:
        return None
    if any(len(part) > 1 and part.startswith("0") for part in match.groups()):
        # `012.0.0.1` is 10.0.0.1 to clients that read a leading zero as octal.
        raise UrlPolicyError("the host has an IPv4 part with a leading zero (ambiguous)")
    octets = [int(part) for part in match.groups()]
    if any(octet > 255 for octet in octets):
        raise UrlPolicyError("the host is not a valid IPv4 address")
    return octets


def _ipv6_is_local(host: str) -> bool:
    """Loopback, unspecified, link-local, site-local, unique-local, multicast, or an address
    that embeds an IPv4 one (mapped, NAT64, 6to4), whose IPv4 part could be private."""
    text = host.lower()
    if "%" in text:
        return True  # a zone id only makes sense for link-local addresses
    if text.startswith(("::ffff:", "64:ff9b:", "2002:")):
        return True
    head = text.split(":")[0]
    if head == "":
        return True  # `::`, `::1` and other addresses with zero leading groups
    value = int(head, 16) if re.fullmatch(r"[0-9a-f]{1,4}", head) else -1
    if value < 0:
        return True  # not an address we can classify: refuse rather than guess
    return (
        (value & 0xFFC0) == 0xFE80  # link-local
        or (value & 0xFFC0) == 0xFEC0  # site-local (deprecated, still routed privately)
        or (value & 0xFE00) == 0xFC00  # unique local
        or (value & 0xFF00) == 0xFF00  # multicast
        or value == 0
    )


def is_local_host(host: str) -> bool:
    """True for hosts that name this machine or a private network."""
    name = host.lower().rstrip(".")
    if name == "localhost" or name.endswith(".localhost"):
        return True
    if ":" in name:
        return _ipv6_is_local(name)
    octets = _ipv4(name)
    if octets is not None:
        return _ipv4_is_local(octets)
    # Shorthand numeric forms: clients disagree on how to read them, so refuse them all.
    return all(_NUMERIC_LABEL.fullmatch(label) for label in name.split("."))


def check_url(url: str, allow_local: bool) -> str:
    """Return `url` if the plugin may call it, else raise UrlPolicyError saying why."""
    if not isinstance(url, str) or not url.strip():
        raise UrlPolicyError("it is empty")
    if any(ord(char) <= 32 or ord(char) == 127 for char in url):
        raise UrlPolicyError("it contains spaces or control characters")
    try:
        parts = urlparse(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise UrlPolicyError("it is not a valid URL") from None
    allowed_schemes = ("https", "http") if allow_local else ("https",)
    if parts.scheme not in allowed_schemes:
        if parts.scheme == "http":
            raise UrlPolicyError("it is http, and only https is allowed unless ALLOW_LOCAL_URLS")
        raise UrlPolicyError("its scheme is not https")
    if not host:
        raise UrlPolicyError("it has no host")
    if parts.username is not None or parts.password is not None:
        raise UrlPolicyError("it carries credentials; use the plugin's variables instead")
    if parts.fragment:
        raise UrlPolicyError("it has a #fragment")
    if not allow_local and is_local_host(host):
        raise UrlPolicyError(
            "its host is loopback, private or link-local, allowed only with ALLOW_LOCAL_URLS"
        )
    return url

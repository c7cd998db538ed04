"""URL normalisation for intake, so that a repeat report of the same URL joins the existing item.

The node handles reported URLs as data only: nothing here (or anywhere in the node) fetches them.

Parsing follows the WHATWG URL Standard through ``ada_url`` (lower-cased scheme and host, IDNA to punycode,
IPv4 forms such as ``0xC0.0.2.1`` canonicalised, IPv6 compressed, default port dropped, dot segments
removed, empty path made "/", characters outside the URL code points percent-encoded). On top of that the
RFC 3986 section 6 normalisations that WHATWG leaves out are applied:

* trailing dots removed from the host (``example.test.`` and ``example.test`` are the same host);
* percent-encoding hex digits upper-cased and percent-encoded unreserved characters decoded
  (RFC 3986 6.2.2.1 and 6.2.2.2) in the path and query; reserved characters such as ``%2F`` stay encoded;
  a stray "%" that does not start a percent-encoded octet is written as "%25";
* the fragment dropped (it never reaches the server), as is an empty query ("?");
* userinfo (``user:password@``) dropped: a credential is not part of where the content is, and the node never
  stores, forwards or shows one.

The query is otherwise kept as given: parameter order matters to servers.

Error messages name the field and the rule broken but never repeat the URL itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import ada_url

from node.errors import InvalidArgument, Reason

__all__ = ["MAX_HOST_CHARS", "MAX_URL_BYTES", "NormalisedUrl", "normalise_url"]

MAX_URL_BYTES = 8192
"""Largest accepted URL, in bytes of the UTF-8 encoding of the raw input (8 KiB)."""
MAX_HOST_CHARS = 253
"""Longest accepted host: a DNS name of at most 253 characters (in its punycode form), in labels of at most 63."""
_MAX_LABEL_CHARS = 63


@dataclass(frozen=True, slots=True)
class NormalisedUrl:
    """A reported URL in normal form. ``url`` is the identity used to link repeat reports."""

    url: str
    """The normalised absolute URL (ASCII only)."""
    scheme: str
    """``"http"`` or ``"https"``."""
    host: str
    """Lower-case ASCII (punycode) hostname, or an IP literal; IPv6 in brackets as WHATWG serialises it."""
    registrable_hint: str
    """The host without a leading ``"www."``. Informational only: not a public-suffix computation."""


def normalise_url(raw: str, *, field: str = "url") -> NormalisedUrl:
    """Validate and normalise a reported URL.

    Raises ``InvalidArgument`` naming ``field`` when the input is empty, longer than ``MAX_URL_BYTES``,
    not an absolute URL, not http or https, or has no host, or a host longer than DNS allows.
    """
    # Size first, on the raw input, before any parsing work. "surrogatepass" so that a lone surrogate
    # (which no URL may contain; rejected below) is still measured rather than raising here.
    size = len(raw.encode("utf-8", "surrogatepass"))
    if size > MAX_URL_BYTES:
        raise InvalidArgument(
            f"must be at most {MAX_URL_BYTES} bytes (got {size} bytes)",
            field=field,
            reason=Reason.LIMIT_EXCEEDED,
            metadata={"limit": str(MAX_URL_BYTES), "unit": "bytes"},
        )

    # The WHATWG parser strips these itself; stripping here as well lets a blank input get its own message.
    text = raw.strip(_C0_CONTROL_OR_SPACE)
    if not text:
        raise InvalidArgument("must not be empty", field=field, reason=Reason.REQUIRED_FIELD)

    try:
        parsed = ada_url.parse_url(text, attributes=_ATTRIBUTES)
    except ValueError:
        if _SCHEME_PREFIX.match(_TAB_OR_NEWLINE.sub("", text)) is None:
            raise InvalidArgument("only http and https URLs are accepted (no scheme given)", field=field) from None
        raise InvalidArgument("is not a valid absolute URL", field=field) from None

    scheme = parsed["protocol"].removesuffix(":")
    if scheme not in _ACCEPTED_SCHEMES:
        raise InvalidArgument(f'only http and https URLs are accepted (got scheme "{_shorten(scheme)}")', field=field)

    host = parsed["hostname"]
    if host.endswith("."):
        host = host.rstrip(".")
        if host:
            # Run the shortened host through the WHATWG host parser again: without its trailing dots a
            # name can turn out to be an IPv4 address in another notation ("0xc0.0.2.1.." -> 192.0.2.1).
            try:
                host = ada_url.parse_url(f"http://{host}/", attributes=("hostname",))["hostname"]
            except ValueError:
                raise InvalidArgument("is not a valid absolute URL", field=field) from None
    if not host:
        raise InvalidArgument("must have a host", field=field)
    # WHATWG does not check DNS lengths; a name beyond them cannot be hosted anywhere (RFC 1035 2.3.4).
    if len(host) > MAX_HOST_CHARS:
        raise InvalidArgument(f"the host must be at most {MAX_HOST_CHARS} characters (got {len(host)})", field=field)
    if any(len(label) > _MAX_LABEL_CHARS for label in host.split(".")):
        raise InvalidArgument(f"each label of the host must be at most {_MAX_LABEL_CHARS} characters", field=field)

    # Userinfo ("user:password@") is dropped: it is a credential for the site, not part of where the content
    # is, and no node should store, forward or show it. Two reports differing only in it join one item.
    port = parsed["port"]  # WHATWG has already dropped the scheme's default port
    authority = host + (f":{port}" if port else "")
    path = _normalise_percent_encoding(parsed["pathname"])
    query = _normalise_percent_encoding(parsed["search"])  # "" for both no query and an empty "?"
    url = f"{scheme}://{authority}{path}{query}"

    # Percent-encoding can make the URL longer than its raw input; every identity must itself be acceptable.
    if len(url) > MAX_URL_BYTES:
        raise InvalidArgument(
            f"must be at most {MAX_URL_BYTES} bytes once normalised (got {len(url)} bytes)",
            field=field,
            reason=Reason.LIMIT_EXCEEDED,
            metadata={"limit": str(MAX_URL_BYTES), "unit": "bytes"},
        )

    return NormalisedUrl(url=url, scheme=scheme, host=host, registrable_hint=host.removeprefix("www."))


_ACCEPTED_SCHEMES = frozenset({"http", "https"})
_ATTRIBUTES = ("protocol", "hostname", "port", "pathname", "search")

# WHATWG "C0 control or space": U+0000 to U+0020, stripped from both ends of the input.
_C0_CONTROL_OR_SPACE = "".join(chr(c) for c in range(0x21))
# WHATWG removes ASCII tab and newline anywhere in the input before parsing.
_TAB_OR_NEWLINE = re.compile(r"[\t\n\r]")
_SCHEME_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")

# RFC 3986 2.3 unreserved characters.
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# A "%" and, when it starts a percent-encoded octet, its two hex digits.
_PERCENT = re.compile(r"%([0-9A-Fa-f]{2})?")

_MAX_SCHEME_IN_MESSAGE = 32


def _normalise_percent_encoding(component: str) -> str:
    """RFC 3986 6.2.2.1 and 6.2.2.2 on a path or query (already ASCII after WHATWG serialisation).

    A "%" that does not start an octet becomes "%25": left bare, decoding a neighbour could turn it into
    a new octet ("%%41e" -> "%Ae"), and normalising would not be idempotent.
    """

    def replace(match: re.Match[str]) -> str:
        digits = match.group(1)
        if digits is None:
            return "%25"
        char = chr(int(digits, 16))
        return char if char in _UNRESERVED else f"%{digits.upper()}"

    return _PERCENT.sub(replace, component)


def _shorten(scheme: str) -> str:
    if len(scheme) <= _MAX_SCHEME_IN_MESSAGE:
        return scheme
    return scheme[:_MAX_SCHEME_IN_MESSAGE] + "..."

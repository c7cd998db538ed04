"""URL normalisation for intake. Only synthetic URLs under reserved names and documentation addresses."""

from __future__ import annotations

import re

import ada_url
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from node.cases.urls import MAX_HOST_CHARS, MAX_URL_BYTES, NormalisedUrl, normalise_url
from node.errors import InvalidArgument

# ---------------------------------------------------------------------------------------------------------
# Normal form


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Leading/trailing ASCII whitespace and C0 controls stripped; tab and newline removed inside.
        ("  http://example.test/  ", "http://example.test/"),
        ("\x00\x01\x1f http://example.test/a\t\n\r\x0b", "http://example.test/a"),
        ("http://exa\tmple.test/a\nb", "http://example.test/ab"),
        # Scheme and host lower-cased; the path keeps its case.
        ("HTTP://EXAMPLE.TEST/Path/File", "http://example.test/Path/File"),
        ("HtTpS://Www.Example.Test/", "https://www.example.test/"),
        # IDNA to punycode.
        ("http://Bücher.example/", "http://xn--bcher-kva.example/"),
        ("http://BÜCHER.example/", "http://xn--bcher-kva.example/"),
        ("http://xn--bcher-kva.example/", "http://xn--bcher-kva.example/"),
        ("http://example\u3002test/", "http://example.test/"),  # ideographic full stop is a label separator
        # Trailing dots removed from the host.
        ("http://example.test./", "http://example.test/"),
        ("http://example.test../a", "http://example.test/a"),
        ("http://Bücher.example./", "http://xn--bcher-kva.example/"),
        ("http://192.0.2.1./", "http://192.0.2.1/"),
        ("http://192.0.2.1../", "http://192.0.2.1/"),
        # Without its dots the name is an IPv4 address in hex notation: canonicalised like any other.
        ("http://0xc0.0.2.1../", "http://192.0.2.1/"),
        # Default ports removed, other ports kept.
        ("http://example.test:80/", "http://example.test/"),
        ("http://example.test:0080/", "http://example.test/"),
        ("https://example.test:443/", "https://example.test/"),
        ("http://example.test:443/", "http://example.test:443/"),
        ("https://example.test:80/", "https://example.test:80/"),
        ("http://example.test:8080/", "http://example.test:8080/"),
        ("http://example.test:/", "http://example.test/"),
        # Dot segments removed; empty path becomes "/".
        ("http://example.test", "http://example.test/"),
        ("http://example.test?q=1", "http://example.test/?q=1"),
        ("http://example.test/a/./b/../c", "http://example.test/a/c"),
        ("http://example.test/a/%2e%2E/b", "http://example.test/b"),
        ("http://example.test/../../a", "http://example.test/a"),
        ("http://example.test/a/b/..", "http://example.test/a/"),
        ("http://example.test/a//b", "http://example.test/a//b"),  # empty segments are not dot segments
        ("http:\\\\example.test\\a\\b", "http://example.test/a/b"),  # WHATWG: "\" is "/" for http(s)
        # Fragment removed.
        ("http://example.test/a#section-2", "http://example.test/a"),
        ("http://example.test/a?q=1#", "http://example.test/a?q=1"),
        ("http://example.test/a#?q=1", "http://example.test/a"),
        # Percent-encoding: hex upper-cased, unreserved decoded, reserved kept encoded (path).
        ("http://example.test/%7euser/%2f%3a", "http://example.test/~user/%2F%3A"),
        ("http://example.test/%41%62%30%2D%2E%5F%7E", "http://example.test/Ab0-._~"),
        ("http://example.test/a%2Fb", "http://example.test/a%2Fb"),
        ("http://example.test/%e2%82%ac", "http://example.test/%E2%82%AC"),
        ("http://example.test/€", "http://example.test/%E2%82%AC"),
        ("http://example.test/a b", "http://example.test/a%20b"),
        # "%" is not unreserved: "%25" stays, so nothing is decoded twice.
        ("http://example.test/p%2520", "http://example.test/p%2520"),
        ("http://example.test/a%2e", "http://example.test/a."),
        # ... and in the query.
        ("http://example.test/?q=%7e%2f%41%26", "http://example.test/?q=~%2FA%26"),
        ("http://example.test/?a+b=c%20d%2b", "http://example.test/?a+b=c%20d%2B"),
        ("http://example.test/?q=a b'c", "http://example.test/?q=a%20b%27c"),
        # A "%" that starts no percent-encoded octet is written "%25".
        ("http://example.test/100%", "http://example.test/100%25"),
        ("http://example.test/%zz?%", "http://example.test/%25zz?%25"),
        ("http://example.test/%%41e", "http://example.test/%25Ae"),
        ("http://example.test/%2", "http://example.test/%252"),
        # Query order kept; an empty query dropped.
        ("http://example.test/?b=2&a=1", "http://example.test/?b=2&a=1"),
        ("http://example.test/?a=1&&b=", "http://example.test/?a=1&&b="),
        ("http://example.test/?", "http://example.test/"),
        ("http://example.test?", "http://example.test/"),
        ("http://example.test/?#", "http://example.test/"),
        # Userinfo (a credential) is dropped, whole: user and password alike.
        ("http://User:Pass@example.test/", "http://example.test/"),
        ("http://user@example.test/", "http://example.test/"),
        ("http://:secret@example.test/", "http://example.test/"),
        ("http://u%7e:p%2f@example.test/", "http://example.test/"),
        ("http://@example.test/", "http://example.test/"),
        ("http://:@example.test/", "http://example.test/"),
        ("http://user:pw@example.test:80/", "http://example.test/"),
        ("https://user:pw@EXAMPLE.test:8443/a?b=1", "https://example.test:8443/a?b=1"),
        # IP addresses.
        ("http://192.0.2.1/", "http://192.0.2.1/"),
        ("http://3325256705/", "http://198.51.100.1/"),
        ("http://203.0.113.010/", "http://203.0.113.8/"),  # WHATWG reads a leading zero as octal
        ("http://[2001:DB8:0:0::1]:8080/x", "http://[2001:db8::1]:8080/x"),
        ("https://[2001:db8::1]:443/", "https://[2001:db8::1]/"),
    ],
)
def test_normal_form(raw: str, expected: str) -> None:
    assert normalise_url(raw).url == expected


def test_result_fields_for_a_domain() -> None:
    assert normalise_url("HTTPS://WWW.Bücher.Example.:443/a?b#c") == NormalisedUrl(
        url="https://www.xn--bcher-kva.example/a?b",
        scheme="https",
        host="www.xn--bcher-kva.example",
        registrable_hint="xn--bcher-kva.example",
    )


@pytest.mark.parametrize(
    ("raw", "scheme", "host", "hint"),
    [
        ("http://example.test/", "http", "example.test", "example.test"),
        ("http://www.example.test/", "http", "www.example.test", "example.test"),
        ("http://www.www.example.test/", "http", "www.www.example.test", "www.example.test"),
        ("http://wwwexample.test/", "http", "wwwexample.test", "wwwexample.test"),
        ("http://sub.www.example.test/", "http", "sub.www.example.test", "sub.www.example.test"),
        ("https://192.0.2.7:8443/", "https", "192.0.2.7", "192.0.2.7"),
        ("https://[2001:db8::7]/", "https", "[2001:db8::7]", "[2001:db8::7]"),
    ],
)
def test_scheme_host_and_registrable_hint(raw: str, scheme: str, host: str, hint: str) -> None:
    result = normalise_url(raw)
    assert (result.scheme, result.host, result.registrable_hint) == (scheme, host, hint)


def test_repeat_reports_of_the_same_url_share_one_identity() -> None:
    spellings = [
        "http://www.example.test/dir/page.html?id=7&x=%7e",
        "HTTP://WWW.EXAMPLE.TEST:80/dir/page.html?id=7&x=~",
        "  http://www.example.test./dir/./sub/../page.html?id=7&x=%7E#top\n",
        "http://www.example.test/dir/%70age.html?id=%37&x=~",
        "http:\\\\www.example.test\\dir\\page.html?id=7&x=~#",
    ]
    assert {normalise_url(s).url for s in spellings} == {"http://www.example.test/dir/page.html?id=7&x=~"}


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://example.test/", "https://example.test/"),
        ("http://example.test/a", "http://example.test/A"),
        ("http://example.test/a%2Fb", "http://example.test/a/b"),
        ("http://example.test/?a=1&b=2", "http://example.test/?b=2&a=1"),
        ("http://example.test/", "http://example.test:8080/"),
        ("http://example.test/", "http://www.example.test/"),
    ],
)
def test_different_urls_stay_different(a: str, b: str) -> None:
    assert normalise_url(a).url != normalise_url(b).url


def test_result_is_frozen() -> None:
    result = normalise_url("http://example.test/")
    with pytest.raises(AttributeError):
        result.url = "http://other.test/"  # type: ignore[misc]


# ---------------------------------------------------------------------------------------------------------
# Errors


def _error(raw: str, field: str = "url") -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        normalise_url(raw, field=field)
    assert info.value.field == field
    return info.value


@pytest.mark.parametrize("raw", ["", " ", "\t\r\n", "\x00\x1f ", " \x0c "])
def test_empty_is_rejected(raw: str) -> None:
    assert _error(raw).message == "must not be empty"


def test_error_names_the_callers_field() -> None:
    error = _error("", field="referrals[2].url")
    assert str(error) == "referrals[2].url: must not be empty"


def test_size_limit_is_8_kib_of_utf8_raw_input() -> None:
    prefix = "http://example.test/"
    at_limit = prefix + "a" * (MAX_URL_BYTES - len(prefix))
    assert MAX_URL_BYTES == 8192
    assert normalise_url(at_limit).url == at_limit

    assert _error(at_limit + "a").message == "must be at most 8192 bytes (got 8193 bytes)"
    # Measured on the raw input, whitespace that would be stripped included.
    assert _error(at_limit + " ").message == "must be at most 8192 bytes (got 8193 bytes)"
    # Measured in UTF-8 bytes, not characters: 4,100 characters, 8,200 bytes.
    two_byte = prefix + "é" * ((MAX_URL_BYTES - len(prefix)) // 2 + 4)
    assert len(two_byte) < MAX_URL_BYTES
    assert _error(two_byte).message == f"must be at most 8192 bytes (got {len(two_byte.encode())} bytes)"


def test_size_is_checked_before_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def must_not_parse(*args: object, **kwargs: object) -> object:
        raise AssertionError("parsed an oversized input")

    monkeypatch.setattr(ada_url, "parse_url", must_not_parse)
    assert _error("x" * 9000).message == "must be at most 8192 bytes (got 9000 bytes)"


def test_url_that_grows_past_the_limit_when_normalised_is_rejected() -> None:
    raw = "http://example.test/" + " a" * 4000  # spaces become "%20"
    assert len(raw.encode()) < MAX_URL_BYTES
    assert _error(raw).message == "must be at most 8192 bytes once normalised (got 16020 bytes)"


@pytest.mark.parametrize(
    "raw",
    [
        "http://",
        "https://",
        "http://exa mple.test/",
        "http://exa<mple.test/",
        "http://%00.test/",
        "https://[2001:db8::1/",
        "https://[2001:db8::zz]/",
        "http://[192.0.2.1]/",
        "http://example.test:99999/",
        "http://example.test:port/",
        "http://192.0.2.999/",
        "http://192.0.2.999../",  # only an IPv4 address once the dots are gone, and not a valid one
        "http://example.test/\ud800",  # a lone surrogate cannot be UTF-8 encoded
        "http://\ud800.test/",
    ],
)
def test_unparseable_url_is_rejected(raw: str) -> None:
    assert _error(raw).message == "is not a valid absolute URL"


@pytest.mark.parametrize(
    ("raw", "scheme"),
    [
        ("ftp://example.test/file", "ftp"),
        ("FTP://example.test/file", "ftp"),
        ("javascript:alert(1)", "javascript"),
        ("data:text/plain,hello", "data"),
        ("file:///srv/example", "file"),
        ("mailto:abuse@example.test", "mailto"),
        ("ws://example.test/", "ws"),
        ("wss://example.test/", "wss"),
        ("httpx://example.test/", "httpx"),
        ("https+x://example.test/", "https+x"),
        # A scheme-less "host:port" reads as a URL whose scheme is the host name.
        ("example.test:8080/path", "example.test"),
    ],
)
def test_other_schemes_are_rejected_by_name(raw: str, scheme: str) -> None:
    assert _error(raw).message == f'only http and https URLs are accepted (got scheme "{scheme}")'


def test_long_scheme_is_shortened_in_the_message() -> None:
    message = _error("s" * 100 + ":opaque").message
    assert message == f'only http and https URLs are accepted (got scheme "{"s" * 32}...")'


@pytest.mark.parametrize(
    "raw",
    [
        "/path/page.html",
        "example.test/path",
        "www.example.test",
        "//example.test/path",
        "?q=1",
        "#top",
        "http//x",
    ],
)
def test_relative_urls_are_rejected(raw: str) -> None:
    assert _error(raw).message == "only http and https URLs are accepted (no scheme given)"


@pytest.mark.parametrize("raw", ["http://./", "http://.../a", "https://%2e/", "http://.%2E./"])
def test_empty_host_is_rejected(raw: str) -> None:
    assert _error(raw).message == "must have a host"


def test_a_host_longer_than_dns_allows_is_rejected() -> None:
    """A host must fit DNS: 253 characters, labels of 63 (WHATWG itself does not check)."""
    longest_label = "a" * 63
    longest_host = ".".join(["b" * 63, "c" * 63, "d" * 63, "e" * 61])  # 253 characters
    assert len(longest_host) == MAX_HOST_CHARS == 253
    assert normalise_url(f"http://{longest_label}.example/").host == f"{longest_label}.example"
    assert normalise_url(f"http://{longest_host}/").host == longest_host
    assert normalise_url(f"http://{longest_host}./").host == longest_host  # the trailing dot is not counted
    assert _error(f"http://{'a' * 64}.example/").message == "each label of the host must be at most 63 characters"
    assert _error(f"http://x{longest_host}/").message == "the host must be at most 253 characters (got 254)"
    # An internationalised name is measured in its punycode form.
    assert _error(f"http://{'ü' * 60}.example/").message == "each label of the host must be at most 63 characters"


@pytest.mark.parametrize(
    "raw",
    [
        "ftp://secret-name.example/",
        "http://secret-name.example:99999/",
        "http://secret-name.example/" + "a" * 9000,
        "http://secret-name" + "a" * 300 + ".example/",
    ],
)
def test_messages_never_repeat_the_url(raw: str) -> None:
    error = _error(raw)
    assert "secret-name" not in error.message
    assert "secret-name" not in str(error)


# ---------------------------------------------------------------------------------------------------------
# Properties over generated URLs

_LABEL_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789üÜßéÉåø"
_label = st.builds(
    lambda head, tail: f"{head}-{tail}" if tail else head,
    st.text(_LABEL_CHARS, min_size=1, max_size=8),
    st.one_of(st.just(""), st.text(_LABEL_CHARS, min_size=1, max_size=8)),
)
_domain = st.builds(
    lambda labels, tld, dots: ".".join([*labels, tld]) + dots,
    st.lists(_label, min_size=1, max_size=3),
    st.sampled_from(["test", "example", "invalid", "TEST", "Example"]),
    st.sampled_from(["", "", "", ".", ".."]),
)
_ipv4 = st.builds(
    lambda net, last: f"{net}.{last}",
    st.sampled_from(["192.0.2", "198.51.100", "203.0.113"]),
    st.integers(0, 255),
)
_ipv6 = st.builds(
    lambda a, b, upper: f"[2001:DB8:{a:X}::{b:X}]" if upper else f"[2001:db8:{a:x}:0:0::{b:x}]",
    st.integers(0, 0xFFFF),
    st.integers(0, 0xFFFF),
    st.booleans(),
)
_host = st.one_of(_domain, _domain, _ipv4, _ipv6)

_USERINFO_CHARS = "abcXYZ019-._~!$&'()*+,;=%é"
_userinfo = st.one_of(
    st.just(""),
    st.builds(lambda user: f"{user}@", st.text(_USERINFO_CHARS, max_size=6)),
    st.builds(
        lambda user, password: f"{user}:{password}@",
        st.text(_USERINFO_CHARS, max_size=6),
        st.text(_USERINFO_CHARS, max_size=6),
    ),
)
_port = st.one_of(st.just(""), st.sampled_from([":80", ":443", ":", ":0080"]), st.integers(0, 65535).map(":{}".format))

# A mix: unreserved, reserved, characters WHATWG percent-encodes, non-ASCII, controls, stray "%", and whole
# percent-encoded octets (unreserved, reserved, non-ASCII, in both cases) and dot segments.
_CHARS = "aBeZ09-._~" + ":/?#[]@!$&'()*+,;=" + ' "<>\\^`{|}\t\n' + "é€😀\u00a0\x00\x01\x7f" + "%"
_TOKENS = ["%", "%41", "%7e", "%7E", "%2e", "%2E", "%2f", "%2F", "%3a", "%25", "%e2%82%ac", "%zz"]
_TOKENS += [".", "..", "%2e%2e", ".%2E"]
_piece = st.one_of(st.text(_CHARS, max_size=6), st.sampled_from(_TOKENS))
_path = st.lists(st.lists(_piece, max_size=4).map("".join), max_size=5).map(
    lambda segments: "".join("/" + s for s in segments)
)
_query = st.one_of(st.just(""), st.lists(_piece, max_size=6).map(lambda pieces: "?" + "".join(pieces)))
_fragment = st.one_of(st.just(""), st.lists(_piece, max_size=3).map(lambda pieces: "#" + "".join(pieces)))

_urls = st.builds(
    lambda scheme, userinfo, host, port, path, query, fragment: (
        f"{scheme}://{userinfo}{host}{port}{path}{query}{fragment}"
    ),
    st.sampled_from(["http", "https", "HTTP", "hTtPs"]),
    _userinfo,
    _host,
    _port,
    _path,
    _query,
    _fragment,
)

_RESERVED_NAMES = re.compile(r"\.(test|example|invalid)$|^(192\.0\.2|198\.51\.100|203\.0\.113)\.\d+$")
_OCTET = re.compile(r"%(.{0,2})")


@given(_urls)
# Known traps: decoding next to a stray "%" forms a new octet; a name is an IPv4 address without its dots.
@example("http://example.test/%%41e?%%7e%41")
@example("http://0xc0.0.2.1../")
def test_normalisation_is_idempotent(raw: str) -> None:
    first = normalise_url(raw)
    assert normalise_url(first.url) == first


@given(_urls)
def test_normal_form_properties(raw: str) -> None:
    result = normalise_url(raw)
    # Already in WHATWG's serialised form, ASCII, no fragment, no trailing dot.
    assert ada_url.parse_url(result.url)["href"] == result.url
    assert result.url.isascii()
    assert "#" not in result.url
    assert result.scheme in ("http", "https")
    assert result.url.startswith(f"{result.scheme}://")
    assert not result.host.endswith(".")
    assert result.host == result.host.lower()
    assert result.host.startswith("[2001:db8:") or _RESERVED_NAMES.search(result.host)
    # No userinfo: a credential is never kept.
    assert "@" not in result.url.split("://", 1)[1].partition("/")[0]
    # Every "%" in path and query starts an upper-case octet that is not an unreserved character.
    parsed = ada_url.parse_url(result.url, attributes=("pathname", "search"))
    for match in _OCTET.finditer(parsed["pathname"] + parsed["search"]):
        digits = match.group(1)
        assert re.fullmatch("[0-9A-F]{2}", digits), result.url
        assert not re.fullmatch(r"[A-Za-z0-9\-._~]", chr(int(digits, 16))), result.url


@given(_urls, st.sampled_from(["", "#", "#frag"]))
def test_equivalent_spellings_normalise_alike(raw: str, fragment: str) -> None:
    first = normalise_url(raw)
    # Upper-cased scheme and host, a trailing dot, the default port, and a fragment do not change identity.
    scheme, rest = first.url.split("://", 1)
    authority, slash, tail = rest.partition("/")
    userinfo, at, hostport = authority.rpartition("@")
    default_port = ":80" if scheme == "http" else ":443"
    if hostport == first.host:
        hostport = first.host.upper() + ("." if not first.host.startswith("[") else "") + default_port
    respelled = f"{scheme.upper()}://{userinfo}{at}{hostport}{slash}{tail}{fragment}"
    assert normalise_url(respelled).url == first.url

"""parse_hash_list_csv: header handling, validation of every row, line numbers in errors, duplicates."""

from __future__ import annotations

import io
import random

import pytest

from node.errors import InvalidArgument
from node.hashes import (
    KNOWN_HASH_CLASSIFICATIONS,
    ContentHash,
    HashAlgorithm,
    KnownHashEntry,
    parse_hash_list_csv,
)

_RNG = random.Random(31337)
_SHA256 = _RNG.randbytes(32)
_SHA1 = _RNG.randbytes(20)
_MD5 = _RNG.randbytes(16)
_PDQ = _RNG.randbytes(32)


def _parse(text: str, default_source: str = "upload") -> list[KnownHashEntry]:
    return parse_hash_list_csv(text.splitlines(keepends=True), default_source=default_source)


def _error(text: str) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        _parse(text)
    return info.value


def test_classifications() -> None:
    assert KNOWN_HASH_CLASSIFICATIONS == ("BASELINE", "NATIONAL", "DOUBTFUL", "NOT_ILLEGAL")


def test_parses_all_algorithms_with_and_without_source() -> None:
    text = (
        "algorithm,hash,classification,source\n"
        f"sha256,{_SHA256.hex()},BASELINE,Partner list 2024-05\n"
        f"SHA1,{_SHA1.hex().upper()},national,\n"
        f"md5,{_MD5.hex()},DOUBTFUL,  spaced source  \n"
        f'pdq,{_PDQ.hex()},NOT_ILLEGAL,"quoted, with comma"\n'
    )
    assert _parse(text, default_source="upload 42") == [
        KnownHashEntry(ContentHash(HashAlgorithm.SHA256, _SHA256), "BASELINE", "Partner list 2024-05"),
        KnownHashEntry(ContentHash(HashAlgorithm.SHA1, _SHA1), "NATIONAL", "upload 42"),
        KnownHashEntry(ContentHash(HashAlgorithm.MD5, _MD5), "DOUBTFUL", "spaced source"),
        KnownHashEntry(ContentHash(HashAlgorithm.PDQ, _PDQ), "NOT_ILLEGAL", "quoted, with comma"),
    ]


def test_columns_matched_by_name_in_any_order_and_source_optional() -> None:
    text = f"Classification, HASH ,algorithm\r\nbaseline,{_MD5.hex()},md5\r\n"
    assert _parse(text, default_source="default") == [
        KnownHashEntry(ContentHash(HashAlgorithm.MD5, _MD5), "BASELINE", "default")
    ]


def test_skips_blank_and_comment_lines_and_accepts_a_file_or_a_string() -> None:
    text = (
        "# exported by a partner tool\n"
        "\n"
        "algorithm,hash,classification\n"
        "   \n"
        "# a comment between rows\n"
        f"sha1,{_SHA1.hex()},BASELINE\n"
        "  # indented comment\n"
    )
    expected = [KnownHashEntry(ContentHash(HashAlgorithm.SHA1, _SHA1), "BASELINE", "upload")]
    assert _parse(text) == expected
    assert parse_hash_list_csv(io.StringIO(text), default_source="upload") == expected
    assert parse_hash_list_csv(text, default_source="upload") == expected


def test_byte_order_mark_is_ignored() -> None:
    text = f"\ufeffalgorithm,hash,classification\nmd5,{_MD5.hex()},BASELINE\n"
    assert len(_parse(text)) == 1


def test_header_only_gives_no_entries() -> None:
    assert _parse("algorithm,hash,classification,source\n") == []


def test_duplicates_keep_the_first() -> None:
    text = (
        "algorithm,hash,classification,source\n"
        f"sha256,{_SHA256.hex()},BASELINE,first\n"
        f"sha256,{_SHA256.hex().upper()},NATIONAL,second\n"
        f"pdq,{_SHA256.hex()},DOUBTFUL,same bytes other algorithm\n"
        f"sha256,{_SHA256.hex()},BASELINE,third\n"
    )
    entries = _parse(text)
    assert [(e.hash.algorithm, e.classification, e.source) for e in entries] == [
        (HashAlgorithm.SHA256, "BASELINE", "first"),
        (HashAlgorithm.PDQ, "DOUBTFUL", "same bytes other algorithm"),
    ]


def test_duplicate_rows_are_still_validated() -> None:
    text = f"algorithm,hash,classification\nmd5,{_MD5.hex()},BASELINE\nmd5,{_MD5.hex()},NOPE\n"
    assert _error(text).field == "hash_list[line 3].classification"


def test_empty_input_needs_a_header() -> None:
    for text in ("", "\n\n", "# only a comment\n"):
        err = _error(text)
        assert err.field == "hash_list"
        assert "header" in err.message
        assert "algorithm,hash,classification" in err.message


def test_missing_header_is_reported() -> None:
    err = _error(f"sha256,{_SHA256.hex()},BASELINE\n")
    assert err.field == "hash_list[line 1].header"
    assert "unknown column 'sha256'" in err.message


def test_missing_required_column() -> None:
    err = _error("algorithm,hash\n")
    assert err.field == "hash_list[line 1].header"
    assert "missing column classification" in err.message


def test_unknown_extra_column() -> None:
    err = _error("# comment\nalgorithm,hash,classification,notes\n")
    assert err.field == "hash_list[line 2].header"
    assert "unknown column 'notes'" in err.message
    assert "algorithm,hash,classification[,source]" in err.message


def test_repeated_column() -> None:
    err = _error("algorithm,hash,classification,hash\n")
    assert err.field == "hash_list[line 1].header"
    assert "more than once" in err.message


def _rows_then(bad_row: str) -> str:
    # Header is line 1, a comment line 2, good rows lines 3-5, a blank line 6, the bad row line 7.
    return (
        "algorithm,hash,classification,source\n"
        "# comment\n"
        f"sha256,{_SHA256.hex()},BASELINE,a\n"
        f"sha1,{_SHA1.hex()},BASELINE,b\n"
        f"md5,{_MD5.hex()},BASELINE,c\n"
        "\n"
        f"{bad_row}\n"
        "pdq,not-even-checked,BASELINE,d\n"
    )


@pytest.mark.parametrize(
    ("bad_row", "field", "in_message"),
    [
        (f"sha256,{_SHA256.hex()[:-2]},BASELINE,x", "hash_list[line 7].hash.value", "got 31 bytes"),
        (f"pdq,{_PDQ.hex()[:-1]}z,BASELINE,x", "hash_list[line 7].hash.value", "hex"),
        (f"sha512,{_SHA256.hex()},BASELINE,x", "hash_list[line 7].hash.algorithm", "accepted: sha256"),
        (f"md5,{_MD5.hex()},ILLEGAL,x", "hash_list[line 7].classification", "accepted: BASELINE"),
        (f"md5,{_MD5.hex()},,x", "hash_list[line 7].classification", "empty"),
        (f"md5,{_MD5.hex()},BASELINE,{'s' * 201}", "hash_list[line 7].source", "at most 200"),
        (f"md5,{_MD5.hex()},BASELINE,bad\x07bell", "hash_list[line 7].source", "control"),
        (f"md5,{_MD5.hex()},BASELINE", "hash_list[line 7]", "expected 4 fields"),
        (f"md5,{_MD5.hex()},BASELINE,x,extra", "hash_list[line 7]", "got 5"),
        (f'md5,{_MD5.hex()},BASELINE,"unclosed', "hash_list[line 7]", "CSV"),
    ],
)
def test_first_bad_row_names_its_line_and_field(bad_row: str, field: str, in_message: str) -> None:
    err = _error(_rows_then(bad_row))
    assert err.field == field
    assert in_message in err.message


def test_source_of_exactly_200_characters_is_accepted() -> None:
    entries = _parse(_rows_then(f"pdq,{_PDQ.hex()},BASELINE,{'s' * 200}").rsplit("\n", 2)[0])
    assert entries[-1].source == "s" * 200


def test_bad_default_source() -> None:
    for bad, message in (("", "empty"), ("  ", "empty"), ("x" * 201, "at most 200"), ("a\nb", "control")):
        with pytest.raises(InvalidArgument) as info:
            parse_hash_list_csv(["algorithm,hash,classification"], default_source=bad)
        assert info.value.field == "default_source"
        assert message in info.value.message

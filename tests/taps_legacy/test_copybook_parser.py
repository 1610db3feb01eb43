"""Copybook parsing: layout (offsets, sizes), pictures, usages, and syntax errors."""

from __future__ import annotations

import pytest

from tap_legacy.copybook import parse_copybook
from tap_legacy.copybook.picture import PictureError, parse_picture
from tap_legacy.errors import LegacySourceError

from .conftest import CUSTOMER_COPYBOOK, RECORD_LENGTH


def _items(copybook_text: str) -> dict[str, tuple[int, int, int]]:
    """name -> (offset, size of one occurrence, occurs)."""
    found: dict[str, tuple[int, int, int]] = {}

    def walk(item) -> None:  # type: ignore[no-untyped-def]
        found[item.name] = (item.offset, item.size, item.occurs)
        for child in item.children:
            walk(child)

    for root in parse_copybook(copybook_text).records:
        walk(root)
    return found


def test_customer_copybook_offsets_and_sizes() -> None:
    items = _items(CUSTOMER_COPYBOOK)
    assert items["CUST-ID"] == (0, 8, 1)
    assert items["CUST-NAME"] == (8, 35, 1)
    assert items["GIVEN-NAME"] == (28, 15, 1)
    # S9(7)V99 COMP-3: 9 digits + sign nibble = 5 bytes
    assert items["BALANCE"] == (63, 5, 1)
    # 9(5)V99 COMP-3: 7 digits + sign = 4 bytes
    assert items["CREDIT-LIMIT"] == (68, 4, 1)
    # S9(5) COMP-3: 5 digits + sign = 3 bytes
    assert items["ORDER-COUNT"] == (72, 3, 1)
    assert items["LAST-AMOUNT"] == (75, 7, 1)
    assert items["BRANCH"] == (82, 2, 1)  # S9(4) COMP: halfword
    assert items["LOYALTY-POINTS"] == (84, 4, 1)  # 9(9) COMP-5: fullword
    assert items["PHONE"] == (88, 16, 2)
    assert parse_copybook(CUSTOMER_COPYBOOK).record_length == RECORD_LENGTH


@pytest.mark.parametrize(
    ("picture", "usage", "size"),
    [
        ("S9(1)", "COMP-3", 1),
        ("S9(2)", "COMP-3", 2),
        ("S9(3)", "COMP-3", 2),
        ("S9(4)", "COMP-3", 3),
        ("S9(9)V99", "COMP-3", 6),
        ("S9(18)", "COMP-3", 10),
        ("9(4)", "COMP", 2),
        ("9(5)", "COMP-4", 4),
        ("S9(9)", "BINARY", 4),
        ("S9(10)", "COMP-5", 8),
        ("S9(5)V99", "DISPLAY", 7),
        ("X(7)", "DISPLAY", 7),
        ("ZZ,ZZ9.99-", "DISPLAY", 10),
    ],
)
def test_storage_sizes(picture: str, usage: str, size: int) -> None:
    text = f"       01 R.\n          05 F PIC {picture} {usage}.\n"
    assert _items(text)["F"][1] == size


def test_sign_separate_adds_a_byte() -> None:
    text = "       01 R.\n          05 F PIC S9(5) SIGN IS LEADING SEPARATE CHARACTER.\n"
    assert _items(text)["F"][1] == 6


def test_redefines_shares_offset_and_group_takes_the_larger_size() -> None:
    text = """
       01 R.
          05 KIND       PIC X.
          05 PERSON.
             10 BIRTH   PIC 9(8).
          05 COMPANY REDEFINES PERSON.
             10 VAT-ID  PIC X(12).
          05 TAIL       PIC X(3).
"""
    items = _items(text)
    assert items["PERSON"][0] == items["COMPANY"][0] == 1
    assert items["TAIL"][0] == 9  # follows the redefined item, not the larger redefinition
    assert parse_copybook(text).record_length == 13  # max(8, 12) + 1; the tail is overlapped


def test_group_occurs_and_nested_sizes() -> None:
    text = """
       01 R.
          05 ADDR OCCURS 3 TIMES INDEXED BY AX.
             10 STREET PIC X(10).
             10 ZIP    PIC 9(5) COMP-3.
          05 AFTER     PIC X.
"""
    items = _items(text)
    assert items["ADDR"] == (0, 13, 3)
    assert items["AFTER"][0] == 39


def test_free_format_comments_and_level_88_and_77() -> None:
    text = """*> free format copybook
01 REC.
  05 STATUS-CODE PIC X. *> inline comment
     88 ACTIVE VALUE 'A'.
     88 CLOSED VALUES ARE 'C' 'X'.
  05 AMOUNT PIC S9(3)V9(2) USAGE IS PACKED-DECIMAL.
"""
    items = _items(text)
    assert items["AMOUNT"] == (1, 3, 1)
    assert "ACTIVE" not in items


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("       01 R.\n          05 A PIC X(1O).\n", 2, 23, "PICTURE 'X(1O)'"),
        (
            "       01 R.\n          05 A PIC X(10)\n          05 B PIC X.\n",
            3,
            11,
            "unexpected word '05'",
        ),
        ("       01 R.\n          05 A PIC 9 COMP-2.\n", 2, 22, "COMP-2 is not supported"),
        (
            "       01 R.\n          05 A PIC X.\n          05 B REDEFINES Z PIC X.\n",
            3,
            11,
            "REDEFINES Z",
        ),
        (
            "       01 R.\n          05 N OCCURS 1 TO 5 DEPENDING ON C PIC X.\n",
            2,
            16,
            "DEPENDING ON",
        ),
        ("       01 R.\n          05 A.\n", 2, 11, "has no PICTURE"),
        ("       01 R.\n          05 A PIC X\n", 2, 20, "not ended by a period"),
        ("       01 R.\n          XX A PIC X.\n", 2, 11, "expected a level number"),
        ("       01 R.\n          05 A PIC X(3) FOO.\n", 2, 25, "unexpected word 'FOO'"),
    ],
)
def test_syntax_errors_name_line_and_column(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(LegacySourceError) as caught:
        parse_copybook(text, "bad.cpy")
    error = caught.value
    assert (error.file, error.line, error.column) == ("bad.cpy", line, column)
    assert words in str(error)
    assert str(error).startswith(f"bad.cpy, line {line}, column {column}: ")


@pytest.mark.parametrize(
    ("text", "category", "digits", "scale", "signed"),
    [
        ("S9(7)V99", "numeric", 9, 2, True),
        ("9(3)", "numeric", 3, 0, False),
        ("999PP", "numeric", 3, -2, False),
        ("VPP99", "numeric", 2, 4, False),
        ("X(20)", "alphanumeric", 0, 0, False),
        ("-ZZ9.99", "edited", 0, 0, False),
    ],
)
def test_pictures(text: str, category: str, digits: int, scale: int, signed: bool) -> None:
    picture = parse_picture(text)
    assert (picture.category, picture.digits, picture.scale, picture.signed) == (
        category,
        digits,
        scale,
        signed,
    )


def test_invalid_picture_character() -> None:
    with pytest.raises(PictureError, match="invalid PICTURE character"):
        parse_picture("9(3)Q")

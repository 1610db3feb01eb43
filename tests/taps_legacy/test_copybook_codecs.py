"""Copybook codecs: encode known values, decode them back, in every supported code page."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tap_legacy.copybook import CodecOptions, compile_plan, encode_records, parse_copybook
from tap_legacy.copybook.codecs import packed_decoder, packed_encoder, zoned_decoder
from tap_legacy.errors import RecordDecodeError

from .conftest import CUSTOMER_COPYBOOK, CUSTOMERS, EXPECTED_DECODED, RECORD_LENGTH

CODEPAGES = ["cp037", "cp500", "cp273", "cp1141", "ascii", "latin-1"]


def _runner(text: str, codepage: str, **kwargs):  # type: ignore[no-untyped-def]
    return compile_plan(parse_copybook(text), CodecOptions(codepage=codepage), **kwargs)


@pytest.mark.parametrize("codepage", CODEPAGES)
def test_round_trip_every_codepage(codepage: str) -> None:
    customers = CUSTOMERS
    expected = EXPECTED_DECODED
    if codepage == "ascii":  # ASCII has no umlauts: use names it can hold
        customers = [
            {**c, "family_name": "Mueller", "given_name": "J", "city": "M"} for c in CUSTOMERS
        ]
        expected = [
            {**e, "family_name": "Mueller", "given_name": "J", "city": "M"}
            for e in EXPECTED_DECODED
        ]
    data = encode_records(CUSTOMER_COPYBOOK, customers, codepage)
    assert len(data) == RECORD_LENGTH * len(customers)
    runner = _runner(CUSTOMER_COPYBOOK, codepage)
    decoded = [
        runner.decode(data[i : i + RECORD_LENGTH]) for i in range(0, len(data), RECORD_LENGTH)
    ]
    assert decoded == expected


def test_ebcdic_bytes_are_what_a_mainframe_writes() -> None:
    data = encode_records(CUSTOMER_COPYBOOK, CUSTOMERS[:1], "cp037")
    assert data[0:8] == b"\xf1\xf0\xf0\xf0\xf0\xf0\xf0\xf1"  # 10000001 zoned, F zones
    assert data[63:68] == bytes.fromhex("000123456d")  # -1234.56 COMP-3, D sign
    assert data[68:72] == bytes.fromhex("5000000f")  # 50000.00 unsigned COMP-3, F sign
    assert data[72:75] == bytes.fromhex("00042c")  # +42 COMP-3, C sign
    assert data[75:82] == b"\xf0\xf0\xf0\xf9\xf9\xf9\xd5"  # -99.95 zoned, D zone overpunch
    assert data[82:84] == (-12).to_bytes(2, "big", signed=True)
    assert data[8:14] == "Müller".encode("cp037")


def test_german_codepages_differ_where_they_should() -> None:
    cp273 = encode_records(CUSTOMER_COPYBOOK, CUSTOMERS[:1], "cp273")
    cp037 = encode_records(CUSTOMER_COPYBOOK, CUSTOMERS[:1], "cp037")
    assert cp273[9] == 0xD0 and cp037[9] == 0xDC  # "ü" in cp273 vs cp037
    euro = "       01 R.\n          05 T PIC X(4).\n"
    data = encode_records(euro, [{"t": "5 €"}], "cp1141")
    assert data[2] == 0x9F
    assert _runner(euro, "cp1141").decode(data) == {"t": "5 €"}


@settings(max_examples=150, deadline=None)
@given(
    digits=st.integers(min_value=1, max_value=18),
    scale=st.integers(min_value=0, max_value=6),
    data=st.data(),
)
def test_packed_decimal_round_trip(digits: int, scale: int, data: st.DataObject) -> None:
    scale = min(scale, digits)
    magnitude = data.draw(st.integers(min_value=0, max_value=10**digits - 1))
    negative = data.draw(st.booleans())
    value = Decimal(-magnitude if negative else magnitude).scaleb(-scale)
    raw = packed_encoder(digits, scale, True, "F")(value)
    assert len(raw) == digits // 2 + 1
    decoded = packed_decoder(digits, scale, True)(raw)
    if scale == 0:
        assert decoded == int(value)
    else:
        assert isinstance(decoded, str) and Decimal(decoded) == value
        assert len(decoded.split(".")[1]) == scale  # exact scale kept: "1.50", never 1.5


@settings(max_examples=100, deadline=None)
@given(
    value=st.decimals(min_value=-99999, max_value=99999, places=2, allow_nan=False),
    codepage=st.sampled_from(["cp037", "cp273", "ascii"]),
    leading=st.booleans(),
    separate=st.booleans(),
)
def test_zoned_decimal_round_trip(
    value: Decimal, codepage: str, leading: bool, separate: bool
) -> None:
    sign = " SIGN " + ("LEADING" if leading else "TRAILING") + (" SEPARATE" if separate else "")
    text = f"       01 R.\n          05 N PIC S9(5)V99{sign}.\n"
    raw = encode_records(text, [{"n": value}], codepage)
    assert Decimal(_runner(text, codepage).decode(raw)["n"]) == value


def test_decimals_are_strings_never_floats() -> None:
    data = encode_records(CUSTOMER_COPYBOOK, CUSTOMERS, "cp037")
    record = _runner(CUSTOMER_COPYBOOK, "cp037").decode(data[:RECORD_LENGTH])
    assert record["balance"] == "-1234.56" and isinstance(record["balance"], str)
    assert isinstance(record["order_count"], int)


@pytest.mark.parametrize(
    ("raw_hex", "message"),
    [
        ("00012a456d", "invalid packed-decimal digit nibble 0xA in byte 2"),
        ("0001234563", "invalid packed-decimal sign nibble 0x3"),
    ],
)
def test_invalid_packed_nibble_names_field_and_offset(raw_hex: str, message: str) -> None:
    data = bytearray(encode_records(CUSTOMER_COPYBOOK, CUSTOMERS[:1], "cp037"))
    data[63:68] = bytes.fromhex(raw_hex)
    with pytest.raises(RecordDecodeError) as caught:
        _runner(CUSTOMER_COPYBOOK, "cp037").decode(bytes(data))
    assert caught.value.field == "BALANCE"
    assert caught.value.offset == 63
    assert message in caught.value.reason()


def test_encoder_refuses_values_that_do_not_fit() -> None:
    with pytest.raises(ValueError, match="more than 2 decimals"):
        encode_records(CUSTOMER_COPYBOOK, [{"balance": Decimal("1.234")}], "cp037")
    with pytest.raises(ValueError, match="does not fit in 9 digits"):
        encode_records(CUSTOMER_COPYBOOK, [{"balance": Decimal("12345678.00")}], "cp037")
    with pytest.raises(ValueError, match="negative but the PICTURE has no S"):
        encode_records(CUSTOMER_COPYBOOK, [{"credit_limit": -1}], "cp037")
    with pytest.raises(ValueError, match="floats are not exact"):
        encode_records(CUSTOMER_COPYBOOK, [{"balance": 1.5}], "cp037")
    with pytest.raises(ValueError, match="longer than 20 bytes"):
        encode_records(CUSTOMER_COPYBOOK, [{"city": "x" * 21}], "cp037")


def test_blank_numeric_display_is_null_and_bad_zoned_is_an_error() -> None:
    decode = zoned_decoder(5, 2, True, False, False, "cp037")
    assert decode(b"\x40" * 5) is None
    with pytest.raises(ValueError, match="invalid zoned-decimal"):
        decode("12A45".encode("cp037"))


REDEFINES_COPYBOOK = """\
       01  PARTY-RECORD.
           05  REC-TYPE            PIC X.
           05  PERSON-DATA.
               10  BIRTH-DATE      PIC 9(8).
               10  INCOME          PIC S9(7)V99 COMP-3.
           05  COMPANY-DATA REDEFINES PERSON-DATA.
               10  VAT-ID          PIC X(13).
           05  NAME                PIC X(20).
"""


def test_redefines_record_type_switch() -> None:
    records = [
        {"rec_type": "P", "birth_date": 19700101, "income": Decimal("52000.00"), "name": "Anna"},
        {"rec_type": "C", "vat_id": "DE123456789", "name": "Acme GmbH"},
    ]
    data = encode_records(REDEFINES_COPYBOOK, records, "cp037")
    runner = _runner(
        REDEFINES_COPYBOOK,
        "cp037",
        record_type_field="REC-TYPE",
        record_types={"P": "PERSON-DATA", "C": "COMPANY-DATA"},
    )
    size = runner.size
    person, company = runner.decode(data[:size]), runner.decode(data[size:])
    assert person == {
        "rec_type": "P",
        "name": "Anna",
        "birth_date": 19700101,
        "income": "52000.00",
        "vat_id": None,
    }
    assert company == {
        "rec_type": "C",
        "name": "Acme GmbH",
        "birth_date": None,
        "income": None,
        "vat_id": "DE123456789",
    }
    unknown = bytearray(data[:size])
    unknown[0] = "X".encode("cp037")[0]
    with pytest.raises(RecordDecodeError, match="record type 'X' is not in record_types"):
        runner.decode(bytes(unknown))


def test_several_01_records_are_alternatives() -> None:
    text = """\
       01  HEADER-REC.
           05  H-TYPE   PIC X.
           05  RUN-DATE PIC 9(8).
       01  DETAIL-REC.
           05  D-TYPE   PIC X.
           05  AMOUNT   PIC S9(5)V99 COMP-3.
           05  MEMO     PIC X(10).
"""
    data = encode_records(
        text,
        [{"h_type": "H", "run_date": 20240131}, {"d_type": "D", "amount": "-1.05", "memo": "ok"}],
        "cp500",
    )
    runner = _runner(
        text,
        "cp500",
        record_type_field="H-TYPE",
        record_types={"H": "HEADER-REC", "D": "DETAIL-REC"},
    )
    assert runner.size == 15
    header, detail = runner.decode(data[:15]), runner.decode(data[15:])
    assert header["run_date"] == 20240131 and header["amount"] is None
    assert detail["amount"] == "-1.05" and detail["memo"] == "ok" and detail["run_date"] is None


def test_duplicate_names_are_qualified_by_group() -> None:
    text = """\
       01 R.
          05 BILLING.
             10 CITY PIC X(5).
          05 SHIPPING.
             10 CITY PIC X(5).
"""
    runner = _runner(text, "cp037")
    assert runner.keys == ["billing_city", "shipping_city"]


@pytest.mark.parametrize(
    ("picture", "codepage", "raw", "expected"),
    [
        # hand-written bytes, independent of the encoder
        ("S9(3)V99 COMP-3", "cp037", bytes.fromhex("12345c"), "123.45"),
        ("S9(3)V99 COMP-3", "cp037", bytes.fromhex("12345d"), "-123.45"),
        ("S9(3)V99 COMP-3", "cp037", bytes.fromhex("00000d"), "0.00"),  # no "-0.00"
        ("9(5) COMP-3", "cp037", bytes.fromhex("12345f"), 12345),
        ("S9(5) COMP-3", "cp037", bytes.fromhex("12345b"), -12345),  # B is minus too
        ("S9(5) COMP-3", "cp037", bytes.fromhex("12345a"), 12345),  # A, E plus
        ("S9(4)", "cp037", bytes.fromhex("f1f2f3c4"), 1234),
        ("S9(4)", "cp037", bytes.fromhex("f1f2f3d4"), -1234),
        ("9(4)", "cp037", bytes.fromhex("f1f2f3c4"), 1234),  # unsigned with a C zone
        ("S99V99", "ascii", b"123}", "-12.30"),
        ("S99V99", "ascii", b"123J", "-12.31"),
        ("S99V99", "ascii", b"123{", "12.30"),
        ("S99V99", "ascii", b"123A", "12.31"),
        ("S99V99", "ascii", b"123q", "-12.31"),  # Micro Focus negative zone
        ("S9(4) COMP", "cp037", bytes.fromhex("fb2e"), -1234),
        ("S9(9) COMP", "cp037", bytes.fromhex("ffffffff"), -1),
        ("9(9) COMP-5", "cp037", bytes.fromhex("ffffffff"), 4294967295),
        ("S9(7)V99 COMP", "cp037", (-123456789).to_bytes(4, "big", signed=True), "-1234567.89"),
        ("999PP", "cp037", "123".encode("cp037"), 12300),
        ("X(6)", "cp273", "Müller".encode("cp273"), "Müller"),
        ("X(6)", "cp037", b"\xc1\x40\x40\x00\x00\x00", "A"),  # blanks and low-values stripped
    ],
)
def test_decodes_hand_written_bytes(
    picture: str, codepage: str, raw: bytes, expected: object
) -> None:
    text = f"       01 R.\n          05 F PIC {picture}.\n"
    assert _runner(text, codepage).decode(raw) == {"f": expected}


def test_little_endian_binary_and_unstripped_text() -> None:
    text = "       01 R.\n          05 N PIC S9(4) COMP.\n          05 T PIC X(4).\n"
    runner = compile_plan(
        parse_copybook(text), CodecOptions(codepage="cp037", strip=False, byteorder="little")
    )
    raw = (-2).to_bytes(2, "little", signed=True) + "AB  ".encode("cp037")
    assert runner.decode(raw) == {"n": -2, "t": "AB  "}
    assert encode_records(text, [{"n": -2, "t": "AB"}], "cp037", byteorder="little") == raw


@settings(max_examples=60, deadline=None)
@given(
    codepage=st.sampled_from(["cp037", "cp273", "cp1141", "latin-1"]),
    data=st.binary(min_size=RECORD_LENGTH, max_size=RECORD_LENGTH),
    seed=st.integers(min_value=0, max_value=2),
)
def test_generated_fast_decoder_agrees_with_the_careful_one(
    codepage: str, data: bytes, seed: int
) -> None:
    """Random bytes and real records: the fast path returns the same or defers to the careful one."""
    runner = _runner(CUSTOMER_COPYBOOK, codepage)
    assert runner._fast is not None
    real = encode_records(CUSTOMER_COPYBOOK, [CUSTOMERS[seed]], codepage)
    for raw in (real, data):
        try:
            careful: object = runner.decode_careful(raw)
        except RecordDecodeError as exc:
            careful = exc
        try:
            fast: object = runner._fast(raw)
        except (ValueError, TypeError, IndexError, UnicodeDecodeError):
            continue  # deferred to the careful decoder, which decides
        assert fast == careful


def test_comp5_native_little_endian_while_comp_stays_big() -> None:
    text = "       01 R.\n          05 B PIC S9(4) COMP.\n          05 N PIC S9(9) COMP-5.\n"
    raw = (300).to_bytes(2, "big", signed=True) + (-70000).to_bytes(4, "little", signed=True)
    options = CodecOptions(codepage="ascii", byteorder="big", native_byteorder="little")
    runner = compile_plan(parse_copybook(text), options)
    assert runner.decode(raw) == {"b": 300, "n": -70000}
    assert (
        encode_records(text, [{"b": 300, "n": -70000}], "ascii", native_byteorder="little") == raw
    )

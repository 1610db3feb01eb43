"""Field codecs: bytes of one elementary item <-> Python value, both directions.

Decoders are built once per field (closures over precomputed tables) because they run
millions of times: packed decimal goes through ``bytes.hex()`` and one ``int()``, zoned decimal
through ``bytes.translate``. Numbers with implied decimals come out as exact decimal strings
("-1234.50"), integers as ``int``; never floats.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from tap_legacy.codepages import is_ebcdic

Decoder = Callable[[bytes], Any]
Encoder = Callable[[Any], bytes]


class FieldValueError(ValueError):
    """The bytes of one field are not a valid value of its type (message says why)."""


_POSITIVE_NIBBLES = frozenset("cfae")
_NEGATIVE_NIBBLES = frozenset("db")


def number_formatter(scale: int) -> Callable[[int, bool], int | str]:
    """Return f(magnitude, negative) -> int (scale <= 0) or exact decimal string (scale > 0)."""
    if scale <= 0:
        factor = 10**-scale

        def as_int(magnitude: int, negative: bool) -> int | str:
            value: int = magnitude * factor
            return -value if negative else value

        return as_int
    unit = 10**scale
    template = "{}.{:0%dd}" % scale  # noqa: UP031  # builds the format, not the value

    def as_decimal(magnitude: int, negative: bool) -> int | str:
        text = template.format(*divmod(magnitude, unit))
        return "-" + text if negative and magnitude else text

    return as_decimal


def scaled_magnitude(
    value: Any, digits: int, scale: int, signed: bool, what: str
) -> tuple[int, bool]:
    """Turn ``value`` (int, Decimal, decimal string) into (unscaled magnitude, negative).

    Raises ``ValueError`` if the value does not fit ``digits``/``scale`` exactly: the encoder
    never rounds.
    """
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except InvalidOperation:
        raise ValueError(f"{what}: {value!r} is not a number") from None
    if isinstance(value, float):
        raise ValueError(f"{what}: floats are not exact; pass a Decimal or a decimal string")
    unscaled = number.scaleb(scale)
    if unscaled != unscaled.to_integral_value():
        raise ValueError(f"{what}: {value} has more than {scale} decimals")
    magnitude = abs(int(unscaled))
    if magnitude >= 10**digits:
        raise ValueError(f"{what}: {value} does not fit in {digits} digits")
    negative = number < 0
    if negative and not signed:
        raise ValueError(f"{what}: {value} is negative but the PICTURE has no S")
    return magnitude, negative


# ---------------------------------------------------------------- alphanumeric


def text_decoder(codepage: str, strip: bool) -> Decoder:
    """Text in a single-byte code page; trailing blanks and low-values removed if ``strip``."""

    def bad(raw: bytes, exc: UnicodeDecodeError) -> FieldValueError:
        return FieldValueError(
            f"byte 0x{raw[exc.start]:02X} at position {exc.start} of the field is not valid in "
            f"code page {codepage} (wrong code page?)"
        )

    if strip:

        def decode(raw: bytes) -> str:
            try:
                return raw.decode(codepage).rstrip(" \x00")
            except UnicodeDecodeError as exc:
                raise bad(raw, exc) from None

        return decode

    def decode_raw(raw: bytes) -> str:
        try:
            return raw.decode(codepage)
        except UnicodeDecodeError as exc:
            raise bad(raw, exc) from None

    return decode_raw


def text_encoder(codepage: str, size: int, what: str) -> Encoder:
    """Left-justified, blank-padded text; too long or unencodable text is an error."""

    def encode(value: Any) -> bytes:
        text = "" if value is None else str(value)
        try:
            raw = text.encode(codepage)
        except UnicodeEncodeError as exc:
            raise ValueError(f"{what}: {text!r} cannot be written in {codepage}: {exc}") from None
        if len(raw) > size:
            raise ValueError(f"{what}: {text!r} is longer than {size} bytes")
        return raw + " ".encode(codepage) * (size - len(raw))

    return encode


# ---------------------------------------------------------------- packed decimal (COMP-3)


def _packed_diagnosis(raw: bytes, signed: bool) -> str:
    nibbles = raw.hex()
    for index, nibble in enumerate(nibbles[:-1]):
        if nibble not in "0123456789":
            return (
                f"invalid packed-decimal digit nibble 0x{nibble.upper()} in byte {index // 2} "
                f"(bytes {raw.hex(' ').upper()})"
            )
    return (
        f"invalid packed-decimal sign nibble 0x{nibbles[-1].upper()} "
        f"(bytes {raw.hex(' ').upper()}; expected C, D or F)"
    )


def packed_decoder(digits: int, scale: int, signed: bool) -> Decoder:
    """COMP-3: two digits per byte, the last nibble is the sign (C/A/E/F plus, D/B minus)."""
    fmt = number_formatter(scale)

    def decode(raw: bytes) -> int | str:
        nibbles = raw.hex()
        sign = nibbles[-1]
        try:
            magnitude = int(nibbles[:-1])
        except ValueError:
            raise FieldValueError(_packed_diagnosis(raw, signed)) from None
        if sign in _POSITIVE_NIBBLES:
            return fmt(magnitude, False)
        if sign in _NEGATIVE_NIBBLES and signed:
            return fmt(magnitude, True)
        if sign in _NEGATIVE_NIBBLES:
            raise FieldValueError(
                f"negative packed value in an unsigned field (bytes {raw.hex(' ').upper()})"
            )
        raise FieldValueError(_packed_diagnosis(raw, signed))

    return decode


def packed_encoder(digits: int, scale: int, signed: bool, what: str) -> Encoder:
    """Inverse of ``packed_decoder``: sign C/D for signed fields, F for unsigned."""
    size = digits // 2 + 1

    def encode(value: Any) -> bytes:
        magnitude, negative = scaled_magnitude(value or 0, digits, scale, signed, what)
        sign = ("d" if negative else "c") if signed else "f"
        return bytes.fromhex(f"{magnitude:0{size * 2 - 1}d}{sign}")

    return encode


# ---------------------------------------------------------------- binary (COMP, COMP-4, COMP-5)


def binary_decoder(scale: int, signed: bool, byteorder: str) -> Decoder:
    """Two's-complement binary integer of 2, 4 or 8 bytes."""
    fmt = number_formatter(scale)
    order: Any = byteorder
    if scale == 0:

        def decode_int(raw: bytes) -> int:
            return int.from_bytes(raw, order, signed=signed)

        return decode_int

    def decode(raw: bytes) -> int | str:
        value = int.from_bytes(raw, order, signed=signed)
        return fmt(abs(value), value < 0)

    return decode


def binary_encoder(
    digits: int, scale: int, signed: bool, size: int, byteorder: str, native: bool, what: str
) -> Encoder:
    """Inverse of ``binary_decoder``; COMP-5 may use the whole storage range."""
    order: Any = byteorder
    limit_digits = 40 if native else digits

    def encode(value: Any) -> bytes:
        magnitude, negative = scaled_magnitude(value or 0, limit_digits, scale, signed, what)
        number = -magnitude if negative else magnitude
        try:
            return number.to_bytes(size, order, signed=signed)
        except OverflowError:
            raise ValueError(f"{what}: {value} does not fit in {size} bytes") from None

    return encode


# ---------------------------------------------------------------- zoned decimal (DISPLAY)


def _zoned_tables(ebcdic: bool) -> tuple[bytes, dict[int, tuple[str, bool]]]:
    """(digit translation table, sign-byte map byte -> (digit, negative))."""
    table = bytearray(b"!" * 256)
    signs: dict[int, tuple[str, bool]] = {}
    if ebcdic:
        for digit in range(10):
            table[0xF0 + digit] = 0x30 + digit
            signs[0xF0 + digit] = (str(digit), False)
            signs[0xC0 + digit] = (str(digit), False)
            signs[0xA0 + digit] = (str(digit), False)
            signs[0xE0 + digit] = (str(digit), False)
            signs[0xD0 + digit] = (str(digit), True)
            signs[0xB0 + digit] = (str(digit), True)
    else:
        for digit in range(10):
            table[0x30 + digit] = 0x30 + digit
            signs[0x30 + digit] = (str(digit), False)
            signs[0x70 + digit] = (str(digit), True)  # Micro Focus convention
        signs[ord("{")] = ("0", False)
        signs[ord("}")] = ("0", True)
        for digit in range(1, 10):
            signs[ord("A") + digit - 1] = (str(digit), False)
            signs[ord("J") + digit - 1] = (str(digit), True)
    return bytes(table), signs


def zoned_decoder(
    digits: int, scale: int, signed: bool, leading: bool, separate: bool, codepage: str
) -> Decoder:
    """DISPLAY numbers: one digit per byte, sign overpunched in the zone or as a + / - byte.

    An all-blank field (spaces or low-values) decodes to ``None``.
    """
    ebcdic = is_ebcdic(codepage)
    table, signs = _zoned_tables(ebcdic)
    fmt = number_formatter(scale)
    blank = " ".encode(codepage)
    plus, minus = "+".encode(codepage)[0], "-".encode(codepage)[0]

    def bad(raw: bytes) -> FieldValueError:
        return FieldValueError(
            f"invalid zoned-decimal bytes {raw.hex(' ').upper()} "
            f"(text {raw.decode(codepage, errors='replace')!r})"
        )

    def is_blank(raw: bytes) -> bool:
        return not raw.strip(blank) or not raw.strip(b"\x00")

    if not signed or separate:

        def decode_plain(raw: bytes) -> int | str | None:
            negative = False
            body = raw
            if signed:
                sign = raw[0] if leading else raw[-1]
                body = raw[1:] if leading else raw[:-1]
                if sign == minus:
                    negative = True
                elif sign != plus:
                    if is_blank(raw):
                        return None
                    raise bad(raw)
            try:
                magnitude = int(body.translate(table))
            except ValueError:
                if is_blank(raw):
                    return None
                raise bad(raw) from None
            return fmt(magnitude, negative)

        if not signed:
            # Unsigned DISPLAY in EBCDIC often carries an F or C zone on the last digit.
            def decode_unsigned(raw: bytes) -> int | str | None:
                try:
                    return fmt(int(raw.translate(table)), False)
                except ValueError:
                    last = signs.get(raw[-1])
                    if last is not None and not last[1]:
                        try:
                            return fmt(int(raw[:-1].translate(table) + last[0].encode()), False)
                        except ValueError:
                            pass
                    if is_blank(raw):
                        return None
                    raise bad(raw) from None

            return decode_unsigned
        return decode_plain

    def decode_overpunch(raw: bytes) -> int | str | None:
        if leading:
            sign_byte, body = raw[0], raw[1:]
        else:
            sign_byte, body = raw[-1], raw[:-1]
        sign = signs.get(sign_byte)
        try:
            if sign is None:
                raise ValueError
            text = body.translate(table)
            text = sign[0].encode() + text if leading else text + sign[0].encode()
            return fmt(int(text), sign[1])
        except ValueError:
            if is_blank(raw):
                return None
            raise bad(raw) from None

    return decode_overpunch


def zoned_encoder(
    digits: int,
    scale: int,
    signed: bool,
    leading: bool,
    separate: bool,
    codepage: str,
    what: str,
) -> Encoder:
    """Inverse of ``zoned_decoder``: EBCDIC zones C/D (F unsigned), ASCII {A-I / }J-R."""
    ebcdic = is_ebcdic(codepage)

    def overpunch(digit: int, negative: bool) -> int:
        if ebcdic:
            return (0xD0 if negative else (0xC0 if signed else 0xF0)) + digit
        if not signed:
            return 0x30 + digit
        if negative:
            return ord("}") if digit == 0 else ord("J") + digit - 1
        return ord("{") if digit == 0 else ord("A") + digit - 1

    def encode(value: Any) -> bytes:
        magnitude, negative = scaled_magnitude(value or 0, digits, scale, signed, what)
        text = f"{magnitude:0{digits}d}".encode(codepage)
        if separate and signed:
            sign = ("-" if negative else "+").encode(codepage)
            return sign + text if leading else text + sign
        if not signed and not ebcdic:
            return text
        if leading:
            return bytes([overpunch(text[0] & 0x0F, negative)]) + text[1:]
        return text[:-1] + bytes([overpunch(text[-1] & 0x0F, negative)])

    return encode

"""Generated decoder for the plain fields of a record plan (the hot loop of the tap).

The per-field closures in ``codecs`` are exact and give precise diagnostics, but calling
twenty of them per record costs more than the decoding itself. This module writes one Python
function per copybook that decodes the whole record in straight-line code: the text of the
record is decoded once (single-byte code pages map every byte), packed decimals go through
``bytes.hex()`` and ``int()``, and the result is one dict literal. Anything unusual (a blank
numeric field, an overpunched unsigned digit, an invalid nibble) raises inside it; the caller
then re-decodes that record with the careful closures, which either accept it or say exactly
which field and byte is wrong. So the fast path never decides what is valid.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from tap_legacy.copybook.items import DISPLAY, PACKED

if TYPE_CHECKING:
    from tap_legacy.copybook.plan import CodecOptions, FieldStep

FastDecoder = Callable[[bytes], dict[str, Any]]


def decoding_table(codepage: str) -> tuple[str, bool]:
    """(256-character charmap table, whether every byte maps to a character)."""
    chars = []
    complete = True
    for byte in range(256):
        try:
            chars.append(bytes([byte]).decode(codepage))
        except UnicodeDecodeError:
            chars.append("\ufffe")  # charmap_decode treats U+FFFE as "undefined"
            complete = False
    return "".join(chars), complete


def _number_lines(target: str, scale: int, signed: bool = True) -> list[str]:
    """Lines turning magnitude ``n`` (and sign ``g`` when ``signed``) into the output value."""
    if scale <= 0:
        factor = 10**-scale
        scaled = "n" if factor == 1 else f"n * {factor}"
        return [
            f"    {target} = -({scaled}) if g else {scaled}"
            if signed
            else f"    {target} = {scaled}"
        ]
    sign = '("-" if g and n else "") + ' if signed else ""
    return [f'    {target} = {sign}"%d.%0{scale}d" % divmod(n, {10**scale})']


def build_fast_decoder(steps: Sequence[FieldStep], options: CodecOptions) -> FastDecoder:
    """Compile ``steps`` (fields at fixed offsets) into one straight-line decoder function."""
    table, complete = decoding_table(options.codepage)
    env: dict[str, Any] = {
        "_cm": codecs.charmap_decode,
        "_T": table,
        "_POS": frozenset("cfae"),
        "_NEG": frozenset("db"),
        "_Z": _ebcdic_or_ascii_digits(options.codepage),
        "_fb": int.from_bytes,
    }
    lines = ["def fast(raw):"]
    text_needed = complete and any(
        s.item.picture is not None
        and s.item.picture.category != "numeric"
        and s.item.occurs == 1
        and not s.item.children
        for s in steps
    )
    if text_needed:
        lines.append("    t = _cm(raw, 'strict', _T)[0]")
    numeric = [
        (s.item.effective_usage(), s.item.picture.signed)
        for s in steps
        if s.item.picture is not None
        and s.item.picture.category == "numeric"
        and not s.item.children
        and s.item.occurs == 1
    ]
    if any(usage == PACKED for usage, _ in numeric):
        lines.append("    h = raw.hex()")
    if any(usage == DISPLAY and not signed for usage, signed in numeric):
        lines.append("    z = raw.translate(_Z)")
    strip = '.rstrip(" \\x00")' if options.strip else ""
    for index, step in enumerate(steps):
        item = step.item
        pic = item.picture
        value = f"v{index}"
        span = f"{step.start}:{step.end}"
        if item.children or item.occurs > 1 or pic is None:
            env[f"f{index}"] = step.decode
            lines.append(f"    {value} = f{index}(raw[{span}])")
            continue
        usage = item.effective_usage()
        if pic.category != "numeric":
            if complete:
                lines.append(f"    {value} = t[{span}]{strip}")
            else:
                env[f"f{index}"] = step.decode
                lines.append(f"    {value} = f{index}(raw[{span}])")
        elif usage == PACKED:
            # one hex() of the whole record (at the top), then slices of it per field
            lines += [
                f"    n = int(h[{2 * step.start}:{2 * step.end - 1}])",
                f"    c = h[{2 * step.end - 1}]",
            ]
            if pic.signed:
                lines += [
                    "    if c in _NEG: g = True",
                    "    elif c in _POS: g = False",
                    "    else: raise ValueError",
                ]
            else:
                lines += ["    if c not in _POS: raise ValueError"]
            lines += _number_lines(value, pic.scale, pic.signed)
        elif usage == DISPLAY and not pic.signed:
            lines += [f"    n = int(z[{span}])"]
            lines += _number_lines(value, pic.scale, signed=False)
        elif usage != DISPLAY:
            order = options.order_for(usage)
            lines.append(f"    n = _fb(raw[{span}], {order!r}, signed={pic.signed})")
            if pic.scale > 0:
                lines += ["    g = n < 0", "    n = -n if g else n"]
                lines += _number_lines(value, pic.scale)
            else:
                lines.append(
                    f"    {value} = n" if pic.scale == 0 else f"    {value} = n * {10**-pic.scale}"
                )
        else:
            # signed DISPLAY numbers: the closure handles the sign styles
            env[f"f{index}"] = step.decode
            lines.append(f"    {value} = f{index}(raw[{span}])")
    items = ", ".join(f"{step.key!r}: v{index}" for index, step in enumerate(steps))
    lines.append(f"    return {{{items}}}")
    source = "\n".join(lines) + "\n"
    namespace: dict[str, Any] = dict(env)
    # The source is generated from validated copybook names (snake case, [0-9a-z_]) and
    # integers only; no configuration text reaches it.
    exec(compile(source, "<copybook fast decoder>", "exec"), namespace)  # noqa: S102
    fast: FastDecoder = namespace["fast"]
    return fast


def _ebcdic_or_ascii_digits(codepage: str) -> bytes:
    """Translation table: the code page's digit bytes to ASCII digits, everything else '!'."""
    table = bytearray(b"!" * 256)
    for digit in range(10):
        table[str(digit).encode(codepage)[0]] = 0x30 + digit
    return bytes(table)

"""PICTURE strings: expanded, classified (alphanumeric, numeric, edited) and measured."""

from __future__ import annotations

import re
from dataclasses import dataclass

_REPEAT = re.compile(r"(.)\((\d+)\)")
_NUMERIC = re.compile(r"S?(P*)(9*)(V?)(P*)(9*)(P*)")
_EDIT_CHARS = set("9ZB0/,.+-*$V") | {"C", "R", "D"}


class PictureError(ValueError):
    """The PICTURE string is invalid or not supported; ``position`` is 0-based in the string."""

    def __init__(self, message: str, position: int = 0) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, slots=True)
class Picture:
    """A parsed PICTURE clause.

    ``category`` is ``alphanumeric``, ``numeric`` or ``edited``. For numeric pictures
    ``digits`` counts the stored digits, ``scale`` the implied decimals (negative for
    trailing ``P`` scaling) and ``signed`` whether an ``S`` is present.
    """

    text: str
    category: str
    length: int
    digits: int = 0
    scale: int = 0
    signed: bool = False


def _expand(text: str) -> str:
    for opening in re.finditer(r"\(", text):
        end = opening.end()
        while end < len(text) and text[end].isdigit():
            end += 1
        if end == opening.end() or end >= len(text) or text[end] != ")":
            raise PictureError("a repeat count must be digits in parentheses", end)
    if ")" in _REPEAT.sub("", text):
        raise PictureError("unbalanced parenthesis", text.find(")"))

    def repeat(match: re.Match[str]) -> str:
        count = int(match.group(2))
        if count == 0:
            raise PictureError("a repeat count of 0 is not allowed", match.start(2))
        return match.group(1) * count

    return _REPEAT.sub(repeat, text)


def parse_picture(text: str) -> Picture:
    """Parse a PICTURE string such as ``S9(7)V99``, ``X(30)`` or ``ZZ,ZZ9.99-``."""
    upper = text.upper()
    expanded = _expand(upper)
    if not expanded:
        raise PictureError("empty PICTURE")
    if set(expanded) <= set("XA9") and set(expanded) & set("XA"):
        return Picture(text, "alphanumeric", len(expanded))
    match = _NUMERIC.fullmatch(expanded)
    if match and "9" in expanded:
        lead_p, int9, v, after_v_p, frac9, trail_p = match.groups()
        digits = len(int9) + len(frac9)
        if v:
            if lead_p or trail_p:
                raise PictureError("P must directly follow V or end an integer PICTURE", 0)
            scale = len(after_v_p) + len(frac9)
        else:
            trailing = after_v_p + trail_p
            if frac9 or (lead_p and trailing):
                raise PictureError("P scaling positions are ambiguous", upper.find("P"))
            scale = len(lead_p) + len(int9) if lead_p else -len(trailing)
        if digits > 31:
            raise PictureError("more than 31 digits", 0)
        return Picture(text, "numeric", digits, digits, scale, expanded.startswith("S"))
    for char in expanded:
        if char not in _EDIT_CHARS and char not in "XA":
            raise PictureError(f"invalid PICTURE character {char!r}", upper.find(char))
    if expanded.count("S") or expanded.count("V") > 1:
        raise PictureError("S or repeated V in an edited PICTURE", 0)
    edited = expanded.replace("V", "")
    return Picture(text, "edited", len(edited))

"""Copybook source text: comment and sequence areas removed, split into positioned tokens.

Copybooks come in fixed format (columns 1-6 sequence numbers, column 7 indicator, code in
columns 8-72) and free format. Every token keeps its 1-based line and column in the original
text so a syntax error can name both.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_STRING_OR_WORD = re.compile(r"\"[^\"]*\"?|'[^']*'?|[^\s]+")


@dataclass(frozen=True, slots=True)
class Token:
    """One word, literal or period of the copybook with its position."""

    text: str
    line: int
    column: int

    @property
    def upper(self) -> str:
        """The token in upper case (COBOL words are case-insensitive)."""
        return self.text.upper()

    @property
    def is_period(self) -> bool:
        """True for the separator period that ends an entry."""
        return self.text == "."


def _is_fixed_format(lines: list[str]) -> bool:
    """Fixed format when every code line has a sequence area of digits/blanks and an indicator."""
    seen = False
    for line in lines:
        if not line.strip():
            continue
        seen = True
        area = line[:6]
        if any(not (ch.isdigit() or ch == " ") for ch in area):
            return False
        if len(line) > 6 and line[6] not in " *-/Dd":
            return False
    return seen


def tokenize(text: str) -> list[Token]:
    """Split copybook ``text`` into tokens, skipping comments and sequence areas."""
    lines = text.expandtabs(8).splitlines()
    fixed = _is_fixed_format(lines)
    tokens: list[Token] = []
    for number, line in enumerate(lines, start=1):
        if fixed:
            indicator = line[6] if len(line) > 6 else " "
            if indicator in "*/Dd":
                continue
            code, first_column = line[7:72], 8
        else:
            stripped = line.lstrip()
            if stripped.startswith("*"):
                continue
            code, first_column = line, 1
        comment = code.find("*>")
        if comment >= 0:
            code = code[:comment]
        for match in _STRING_OR_WORD.finditer(code):
            word = match.group()
            column = first_column + match.start()
            if word in (",", ";"):
                continue
            if word[0] not in "\"'" and len(word) > 1 and word.endswith("."):
                tokens.append(Token(word[:-1], number, column))
                tokens.append(Token(".", number, column + len(word) - 1))
            else:
                tokens.append(Token(word, number, column))
    return tokens

"""Copybook parser: tokens -> tree of items with offsets and sizes.

Supported: levels 01-49 and 77 (88 condition names are read and ignored), PICTURE, USAGE
(DISPLAY, COMP-3/PACKED-DECIMAL, COMP/COMP-4/BINARY, COMP-5), SIGN LEADING/TRAILING
[SEPARATE], OCCURS n [TIMES], REDEFINES, FILLER, VALUE, SYNC/JUSTIFIED/BLANK WHEN ZERO
(accepted, no effect on layout). Everything else stops with the line and column.
"""

from __future__ import annotations

from dataclasses import dataclass

from tap_legacy.copybook.items import BINARY, DISPLAY, NATIVE_BINARY, PACKED, Item
from tap_legacy.copybook.picture import PictureError, parse_picture
from tap_legacy.copybook.source import Token, tokenize
from tap_legacy.errors import LegacySourceError

USAGES = {
    "DISPLAY": DISPLAY,
    "COMP-3": PACKED,
    "COMPUTATIONAL-3": PACKED,
    "PACKED-DECIMAL": PACKED,
    "COMP": BINARY,
    "COMPUTATIONAL": BINARY,
    "COMP-4": BINARY,
    "COMPUTATIONAL-4": BINARY,
    "BINARY": BINARY,
    "COMP-5": NATIVE_BINARY,
    "COMPUTATIONAL-5": NATIVE_BINARY,
}
UNSUPPORTED_USAGES = {
    "COMP-1",
    "COMP-2",
    "COMPUTATIONAL-1",
    "COMPUTATIONAL-2",
    "INDEX",
    "POINTER",
    "NATIONAL",
    "DISPLAY-1",
}
IGNORED_WORDS = {"SYNC", "SYNCHRONIZED", "LEFT", "RIGHT", "GLOBAL", "EXTERNAL"}


@dataclass
class Copybook:
    """A parsed copybook: its 01-level records (several 01 levels redefine each other)."""

    records: list[Item]
    source_name: str

    @property
    def record_length(self) -> int:
        """Length of the longest record layout in bytes."""
        return max(item.total_size for item in self.records)


class _Parser:
    def __init__(self, tokens: list[Token], source_name: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.source_name = source_name

    def error(
        self, message: str, token: Token | None, hint: str | None = None
    ) -> LegacySourceError:
        if token is None:
            last = self.tokens[-1] if self.tokens else Token("", 1, 1)
            return LegacySourceError(
                message, file=self.source_name, line=last.line, column=last.column, hint=hint
            )
        return LegacySourceError(
            message, file=self.source_name, line=token.line, column=token.column, hint=hint
        )

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, what: str) -> Token:
        token = self.peek()
        if token is None or token.is_period:
            raise self.error(f"expected {what}", token or None)
        self.pos += 1
        return token

    def optional(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.upper in words:
            self.pos += 1
            return True
        return False

    def integer(self, what: str) -> int:
        token = self.take(what)
        if not token.text.isdigit():
            raise self.error(f"expected {what}, found {token.text!r}", token)
        return int(token.text)

    def entries(self) -> list[Item]:
        items: list[Item] = []
        while self.peek() is not None:
            item = self.entry()
            if item is not None:
                items.append(item)
        return items

    def skip_to_period(self) -> None:
        while True:
            token = self.peek()
            if token is None:
                raise self.error("entry is not ended by a period", None)
            self.pos += 1
            if token.is_period:
                return

    def entry(self) -> Item | None:
        level_token = self.take("a level number")
        if not level_token.text.isdigit():
            raise self.error(
                f"expected a level number (01-49, 77, 88), found {level_token.text!r}",
                level_token,
                hint="check for a missing period at the end of the previous entry",
            )
        level = int(level_token.text)
        if level == 88:
            self.skip_to_period()
            return None
        if level == 66:
            raise self.error("level 66 (RENAMES) is not supported", level_token)
        if not (1 <= level <= 49 or level == 77):
            raise self.error(f"level number {level} is not valid", level_token)
        name_token = self.peek()
        name = "FILLER"
        if name_token is not None and not name_token.is_period and not self._is_clause(name_token):
            self.pos += 1
            name = name_token.text
        item = Item(
            level=1 if level == 77 else level,
            name=name,
            line=level_token.line,
            column=level_token.column,
        )
        self.clauses(item)
        return item

    @staticmethod
    def _is_clause(token: Token) -> bool:
        word = token.upper
        return (
            word
            in {
                "PIC",
                "PICTURE",
                "USAGE",
                "OCCURS",
                "REDEFINES",
                "VALUE",
                "VALUES",
                "SIGN",
                "JUSTIFIED",
                "JUST",
                "BLANK",
            }
            | set(USAGES)
            | IGNORED_WORDS
        )

    def clauses(self, item: Item) -> None:
        while True:
            token = self.peek()
            if token is None:
                raise self.error(
                    f"entry {item.name} is not ended by a period",
                    None,
                    hint="add the missing period",
                )
            self.pos += 1
            word = token.upper
            if token.is_period:
                return
            if word in ("PIC", "PICTURE"):
                self.optional("IS")
                pic_token = self.take("a PICTURE string")
                try:
                    item.picture = parse_picture(pic_token.text)
                except PictureError as exc:
                    raise self.error(
                        f"PICTURE {pic_token.text!r}: {exc}",
                        Token(pic_token.text, pic_token.line, pic_token.column + exc.position),
                    ) from None
            elif word == "USAGE":
                self.optional("IS")
                usage_token = self.take("a USAGE")
                item.usage = self.usage(usage_token)
            elif word in USAGES or word in UNSUPPORTED_USAGES:
                item.usage = self.usage(token)
            elif word == "OCCURS":
                item.occurs = self.integer("an OCCURS count")
                if self.optional("TO"):
                    raise self.error(
                        "OCCURS ... TO ... DEPENDING ON (variable occurrences) is not supported",
                        token,
                        hint="only fixed OCCURS counts are supported",
                    )
                self.optional("TIMES")
                self.occurs_extras(token)
            elif word == "REDEFINES":
                item.redefines = self.take("the name of the redefined item").text
            elif word in ("VALUE", "VALUES"):
                self.optional("IS", "ARE")
                self.take("a VALUE literal")
                while self.optional("THRU", "THROUGH"):
                    self.take("a VALUE literal")
            elif word == "SIGN":
                self.optional("IS")
                position = self.take("LEADING or TRAILING")
                if position.upper not in ("LEADING", "TRAILING"):
                    raise self.error(
                        f"expected LEADING or TRAILING, found {position.text!r}", position
                    )
                item.sign_leading = position.upper == "LEADING"
                item.sign_separate = self.optional("SEPARATE")
                if item.sign_separate:
                    self.optional("CHARACTER")
            elif word in ("LEADING", "TRAILING"):
                item.sign_leading = word == "LEADING"
                item.sign_separate = self.optional("SEPARATE")
                if item.sign_separate:
                    self.optional("CHARACTER")
            elif word in ("JUSTIFIED", "JUST"):
                self.optional("RIGHT")
            elif word == "BLANK":
                self.optional("WHEN")
                self.optional("ZERO", "ZEROS", "ZEROES")
            elif word in IGNORED_WORDS:
                continue
            else:
                raise self.error(
                    f"unexpected word {token.text!r} in the entry of {item.name}",
                    token,
                    hint="check for a missing period or a misspelt clause",
                )

    def usage(self, token: Token) -> str:
        word = token.upper
        if word in UNSUPPORTED_USAGES:
            raise self.error(f"USAGE {token.text} is not supported", token)
        if word not in USAGES:
            raise self.error(f"unknown USAGE {token.text!r}", token)
        return USAGES[word]

    def occurs_extras(self, occurs_token: Token) -> None:
        while True:
            token = self.peek()
            if token is None or token.is_period:
                return
            if token.upper == "DEPENDING":
                raise self.error(
                    "OCCURS DEPENDING ON is not supported", token, hint="use a fixed OCCURS count"
                )
            if token.upper in ("ASCENDING", "DESCENDING"):
                self.pos += 1
                self.optional("KEY")
                self.optional("IS")
                while (
                    (nxt := self.peek()) is not None
                    and not nxt.is_period
                    and not self._is_clause(nxt)
                    and nxt.upper not in ("INDEXED", "ASCENDING", "DESCENDING")
                ):
                    self.pos += 1
            elif token.upper == "INDEXED":
                self.pos += 1
                self.optional("BY")
                while (
                    (nxt := self.peek()) is not None
                    and not nxt.is_period
                    and not self._is_clause(nxt)
                    and nxt.upper not in ("ASCENDING", "DESCENDING")
                ):
                    self.pos += 1
            else:
                return


def _build_tree(items: list[Item], parser: _Parser) -> list[Item]:
    roots: list[Item] = []
    stack: list[Item] = []
    for item in items:
        while stack and stack[-1].level >= item.level:
            stack.pop()
        if not stack:
            if item.level != 1:
                if roots:
                    raise parser.error(
                        f"level {item.level:02d} item {item.name} is not subordinate to any "
                        "level of the record",
                        Token(item.name, item.line, item.column),
                    )
                # A copybook that starts below 01 (common for COPY ... REPLACING): wrap it.
                wrapper = Item(level=0, name="RECORD", line=item.line, column=item.column)
                roots.append(wrapper)
                stack.append(wrapper)
            else:
                roots.append(item)
                stack.append(item)
                continue
        parent = stack[-1]
        if parent.picture is not None:
            raise parser.error(
                f"{parent.name} has a PICTURE but subordinate items follow it",
                Token(item.name, item.line, item.column),
                hint="a group item cannot have a PICTURE; check the level numbers",
            )
        item.parent = parent
        parent.children.append(item)
        stack.append(item)
    return roots


def _layout(item: Item, offset: int, parser: _Parser) -> None:
    """Assign offset and size to ``item`` and everything below it."""
    item.offset = offset
    where = Token(item.name, item.line, item.column)
    if not item.children:
        if item.picture is None:
            raise parser.error(f"elementary item {item.name} has no PICTURE", where)
        try:
            item.size = item.storage_size()
        except ValueError as exc:
            raise parser.error(f"{item.name}: {exc}", where) from None
        return
    if item.picture is not None:
        raise parser.error(f"group item {item.name} has a PICTURE", where)
    cursor = offset
    end = offset
    by_name: dict[str, Item] = {}
    for child in item.children:
        if child.redefines is not None:
            target = by_name.get(child.redefines.upper())
            if target is None:
                raise parser.error(
                    f"{child.name} REDEFINES {child.redefines}, which is not an earlier item "
                    "of the same level in this group",
                    Token(child.name, child.line, child.column),
                )
            if target.occurs != 1 or child.occurs != 1:
                pass  # a redefined table is fine: sizes are compared as totals below
            _layout(child, target.offset, parser)
        else:
            _layout(child, cursor, parser)
            cursor = child.offset + child.total_size
        end = max(end, child.offset + child.total_size)
        if not child.is_filler:
            by_name[child.name.upper()] = child
    item.size = end - offset


def parse_copybook(text: str, source_name: str = "<copybook>") -> Copybook:
    """Parse copybook ``text``; ``source_name`` names it in error messages.

    Raises ``LegacySourceError`` with line and column on any syntax error.
    """
    tokens = tokenize(text)
    parser = _Parser(tokens, source_name)
    if not tokens:
        raise LegacySourceError("the copybook has no data description entries", file=source_name)
    items = parser.entries()
    roots = _build_tree(items, parser)
    for root in roots:
        if root.occurs != 1:
            raise parser.error(
                f"level 01 item {root.name} cannot have OCCURS",
                Token(root.name, root.line, root.column),
            )
        _layout(root, 0, parser)
    return Copybook(records=roots, source_name=source_name)

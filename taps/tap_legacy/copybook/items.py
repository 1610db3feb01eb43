"""The data items of a copybook: a tree of groups and elementary items with their storage."""

from __future__ import annotations

from dataclasses import dataclass, field

from tap_legacy.copybook.picture import Picture

DISPLAY = "display"
PACKED = "packed"  # COMP-3 / PACKED-DECIMAL
BINARY = "binary"  # COMP / COMP-4 / BINARY: big-endian, digits limited by the PICTURE
NATIVE_BINARY = "native"  # COMP-5: full binary range of the storage size


@dataclass(eq=False)
class Item:
    """One data description entry (level 01-49 or 77) of a copybook."""

    level: int
    name: str
    line: int
    column: int
    picture: Picture | None = None
    usage: str | None = None
    sign_leading: bool | None = None
    sign_separate: bool | None = None
    occurs: int = 1
    redefines: str | None = None
    children: list[Item] = field(default_factory=list)
    parent: Item | None = None
    offset: int = 0
    size: int = 0

    @property
    def is_filler(self) -> bool:
        """FILLER items take space but produce no field."""
        return self.name.upper() == "FILLER"

    @property
    def is_group(self) -> bool:
        """A group has subordinate items and no PICTURE."""
        return bool(self.children)

    @property
    def total_size(self) -> int:
        """Bytes taken by all occurrences."""
        return self.size * self.occurs

    def effective_usage(self) -> str:
        """USAGE of this item, inherited from the nearest group that declares one."""
        item: Item | None = self
        while item is not None:
            if item.usage is not None:
                return item.usage
            item = item.parent
        return DISPLAY

    def effective_sign(self) -> tuple[bool, bool]:
        """(leading, separate) of the SIGN clause, inherited from groups; trailing embedded."""
        item: Item | None = self
        while item is not None:
            if item.sign_leading is not None:
                return item.sign_leading, bool(item.sign_separate)
            item = item.parent
        return False, False

    def storage_size(self) -> int:
        """Bytes of one occurrence of an elementary item."""
        assert self.picture is not None  # noqa: S101  # only called on elementary items
        pic = self.picture
        usage = self.effective_usage()
        if pic.category != "numeric":
            if usage != DISPLAY:
                raise ValueError(f"USAGE {usage.upper()} needs a numeric PICTURE")
            return pic.length
        if usage == PACKED:
            return pic.digits // 2 + 1
        if usage in (BINARY, NATIVE_BINARY):
            if pic.digits <= 4:
                return 2
            if pic.digits <= 9:
                return 4
            if pic.digits <= 18:
                return 8
            raise ValueError("binary items hold at most 18 digits")
        _, separate = self.effective_sign()
        return pic.digits + (1 if separate and pic.signed else 0)

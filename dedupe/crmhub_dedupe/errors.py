"""Exceptions of the matching engine, grouped by what the user should do about them.

``crmhub_dedupe`` imports nothing from the hub, so it cannot derive from ``crmhub.errors``.
Instead every class carries the same ``exit_code`` and ``render()`` shape as the hub's
bases (78 = fix the configuration and re-run, 70 = fatal), so the hub can wrap or re-raise
them without a lookup table.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class DedupeError(Exception):
    """Base of every error the matching engine raises on purpose."""

    exit_code = 70

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def render(self) -> str:
        """One line (plus an optional hint) for the terminal."""
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class MatchConfigError(DedupeError):
    """The ``matching:`` configuration is wrong: fix it and re-run.

    Every problem found while reading the configuration is collected in ``problems``
    (one plain sentence each, naming the key path) and raised once.
    """

    exit_code = 78

    def __init__(
        self,
        problems: Sequence[str],
        *,
        where: str = "matching",
        hint: str | None = None,
    ) -> None:
        self.problems = list(problems)
        self.where = where
        count = len(self.problems)
        head = f"{where}: {count} configuration problem{'s' if count != 1 else ''}"
        message = head + ":\n" + "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(message, hint=hint)


@dataclass(frozen=True)
class TooBroadRule:
    """One blocking rule over the limit: its name, the pairs it would make, its biggest block."""

    rule: str
    pairs: int
    biggest_block: str | None = None
    biggest_size: int = 0

    def describe(self, limit: int) -> str:
        """One sentence for the problem list."""
        text = (
            f"blocking rule {self.rule} would generate {self.pairs:,} pairs "
            f"(max_pairs_per_rule {limit:,})"
        )
        if self.biggest_block is not None:
            text += (
                f"; its biggest block is {self.biggest_block} with {self.biggest_size:,} records"
            )
        return text


class BlockingRuleTooBroadError(MatchConfigError):
    """One or more blocking rules would generate more pairs than ``max_pairs_per_rule``.

    Raised after counting (value counts, n*(n-1)/2 per block), before any pair exists.
    """

    def __init__(self, rules: Sequence[TooBroadRule], limit: int) -> None:
        self.rules = list(rules)
        self.limit = limit
        super().__init__(
            [r.describe(limit) for r in self.rules],
            where="matching.blocking_rules",
            hint="add a column to the rule (e.g. postcode or city), drop it, "
            "or raise matching.max_pairs_per_rule",
        )


class ModelError(DedupeError):
    """A stored match model cannot be used with these settings (retrain it)."""

    exit_code = 78

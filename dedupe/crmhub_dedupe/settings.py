"""Matching settings: comparisons with labelled levels, blocking rules, thresholds, EM.

A :class:`MatchSettings` is built from the plain dict that ``crmhub.yml`` holds under
``matching:`` (see ``docs/matching/scoring.md`` for every key). Reading collects every
problem (unknown key, unknown level kind, thresholds out of order, a field the frame does
not have ...) and raises one :class:`~crmhub_dedupe.errors.MatchConfigError` with the list.

Thresholds are match *probabilities* (0..1), the number a steward understands; the match
weight (log2 Bayes factor) of every pair is reported next to it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from crmhub_dedupe.errors import MatchConfigError

#: Columns of the canonical normalized frame (``crmhub_dedupe.normalize.normalize_frame``).
#: Extra fields arrive as ``x_<name>`` and are accepted by name.
CANONICAL_COLUMNS: frozenset[str] = frozenset(
    {
        "record_id", "source", "updated_at", "kind", "given", "given_raw", "given_initial",
        "family", "family_alt", "particle", "initials", "full_name", "given_phonetic",
        "family_phonetic", "org", "legal_form", "email", "emails", "phone", "phones",
        "street", "house_number", "postcode", "city", "country", "birth_date", "tax_id",
        "tax_ids", "flags",
    }
)  # fmt: skip

#: Which columns a blocking key implies agreement on. A training session blocked on
#: ``family_phonetic`` must not estimate m for the family-name comparison, whose agreement the
#: blocking forced.
DERIVED_COLUMNS: dict[str, tuple[str, ...]] = {
    "family_phonetic": ("family", "family_alt"),
    "family_alt": ("family",),
    "given_phonetic": ("given", "given_raw"),
    "given_initial": ("given", "given_raw"),
    "initials": ("given", "given_raw"),
    "full_name": ("given", "given_raw", "family", "family_alt", "org"),
    "email": ("emails",),
    "emails": ("email",),
    "phone": ("phones",),
    "phones": ("phone",),
    "tax_id": ("tax_ids",),
    "tax_ids": ("tax_id",),
    # addresses: agreeing on one part makes agreement on the others far likelier
    "postcode": ("city", "street"),
    "city": ("postcode", "street"),
    "street": ("postcode", "city", "house_number"),
    "house_number": ("street",),
}


#: Level kinds and whether they take a threshold.
LEVEL_KINDS: dict[str, bool] = {
    "null": False,
    "exact": False,
    "jaro_winkler": True,
    "jaro": True,
    "levenshtein": True,
    "damerau_levenshtein": True,
    "token_set": True,
    "prefix": True,
    "initial": False,
    "swapped": False,
    "date_within_days": True,
    "date_transposed": False,
    "numeric_within": True,
    "array_intersect": True,
    "else": False,
}

#: Kinds whose threshold is a similarity (>=), the rest are distances (<=) or counts.
_SIMILARITY_KINDS = {"jaro_winkler", "jaro", "token_set"}

Classification = Literal["merge", "review", "distinct"]
CLASSIFICATIONS: tuple[Classification, ...] = ("merge", "review", "distinct")

_PREFIX_SPEC = re.compile(r"^(?P<col>[A-Za-z_][A-Za-z0-9_]*)(?:\[:(?P<n>\d+)\])?$")


@dataclass(frozen=True)
class ComparisonLevel:
    """One level of a comparison: a condition on a pair, with a label stewards read."""

    kind: str
    name: str
    label: str
    columns: tuple[str, ...]
    threshold: float | None = None
    tf_adjust: bool = False
    also_exact: tuple[str, ...] = ()

    @property
    def column(self) -> str:
        """The (first) column the level looks at."""
        return self.columns[0]

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form (round-trips through :func:`MatchSettings.from_dict`)."""
        out: dict[str, Any] = {"kind": self.kind, "name": self.name, "label": self.label}
        out["columns"] = list(self.columns)
        if self.threshold is not None:
            out["threshold"] = self.threshold
        if self.tf_adjust:
            out["tf_adjust"] = True
        if self.also_exact:
            out["also_exact"] = list(self.also_exact)
        return out


@dataclass(frozen=True)
class Comparison:
    """A field (or fields) compared by ordered levels: null first, else last."""

    name: str
    column: str
    label: str
    levels: tuple[ComparisonLevel, ...]
    identifier: bool = False

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column any level reads."""
        seen: dict[str, None] = {}
        for level in self.levels:
            for c in (*level.columns, *level.also_exact):
                seen[c] = None
        return tuple(seen)

    def level_index(self, name: str) -> int:
        """Index of the level called ``name``; ``KeyError`` when there is none."""
        for k, level in enumerate(self.levels):
            if level.name == name:
                return k
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        out: dict[str, Any] = {
            "name": self.name,
            "column": self.column,
            "label": self.label,
            "levels": [lv.to_dict() for lv in self.levels],
        }
        if self.identifier:
            out["identifier"] = True
        return out


@dataclass(frozen=True)
class BlockingKey:
    """One column of a blocking rule, optionally cut to its first ``prefix`` characters."""

    column: str
    prefix: int | None = None

    def __str__(self) -> str:
        return self.column if self.prefix is None else f"{self.column}[:{self.prefix}]"


@dataclass(frozen=True)
class BlockingRule:
    """Exact agreement on all ``keys`` (``exact``) or a sorted-neighbourhood window on one key.

    Rules are combined by union: a pair is a candidate when any rule generates it.
    """

    keys: tuple[BlockingKey, ...]
    kind: Literal["exact", "sorted_neighbourhood"] = "exact"
    window: int = 0

    @property
    def name(self) -> str:
        """Short human name, e.g. ``[family_phonetic, postcode]``."""
        inner = ", ".join(str(k) for k in self.keys)
        if self.kind == "sorted_neighbourhood":
            return f"sorted_neighbourhood({inner}, window={self.window})"
        return f"[{inner}]"

    @property
    def columns(self) -> tuple[str, ...]:
        """The frame columns the rule reads."""
        return tuple(k.column for k in self.keys)

    def to_dict(self) -> Any:
        """Plain form: a list of keys, or a sorted-neighbourhood dict."""
        if self.kind == "sorted_neighbourhood":
            return {"sorted_neighbourhood": str(self.keys[0]), "window": self.window}
        return [str(k) for k in self.keys]


@dataclass(frozen=True)
class Thresholds:
    """Match-probability thresholds: ``auto_merge`` above, ``review`` between, distinct below."""

    auto_merge: float = 0.99
    review: float = 0.80


@dataclass(frozen=True)
class EMSettings:
    """How the unsupervised training runs.

    ``u`` is estimated from ``u_sample_pairs`` random pairs; ``m`` by EM, one session per
    training blocking rule (comparisons on the rule's own columns are not estimated in
    that session, because blocking made them agree). The prior (probability that two random
    records match) is ``prior`` when given, else estimated from ``deterministic_rules``
    (pairs they find / ``deterministic_recall`` / all pairs) when given, else by EM over
    the blocked pairs.
    """

    max_iterations: int = 30
    tolerance: float = 1e-5
    seed: int = 42
    u_sample_pairs: int = 200_000
    prior: float | None = None
    deterministic_rules: tuple[BlockingRule, ...] = ()
    deterministic_recall: float = 0.9
    training_rules: tuple[BlockingRule, ...] = ()
    max_pairs_per_session: int = 200_000


@dataclass(frozen=True)
class Guard:
    """A look-alike guard: when every condition holds, the classification is capped.

    ``when`` maps a comparison name to the level names that trigger the guard;
    ``unless`` has the same shape and lifts the guard when *any* of its conditions holds;
    agreement at any level but null and else of a comparison marked ``identifier`` (tax id,
    a national id number) always lifts it: family members and branches do not share those.
    ``kind`` restricts it to persons or organizations (both records of the pair).
    """

    name: str
    when: tuple[tuple[str, tuple[str, ...]], ...]
    cap: Literal["review", "distinct"] = "review"
    kind: str | None = None
    unless: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form."""
        out: dict[str, Any] = {
            "name": self.name,
            "when": {c: list(lv) for c, lv in self.when},
            "cap": self.cap,
        }
        if self.kind is not None:
            out["kind"] = self.kind
        if self.unless:
            out["unless"] = {c: list(lv) for c, lv in self.unless}
        return out


@dataclass(frozen=True)
class MatchSettings:
    """Everything the block/compare/score/classify stages need."""

    comparisons: tuple[Comparison, ...]
    blocking_rules: tuple[BlockingRule, ...]
    thresholds: Thresholds = field(default_factory=Thresholds)
    max_pairs_per_rule: int = 20_000_000
    term_frequency: tuple[str, ...] = ()
    em: EMSettings = field(default_factory=EMSettings)
    guards: tuple[Guard, ...] = ()
    id_column: str = "record_id"
    kind_column: str = "kind"

    # ---- reading --------------------------------------------------------------------------

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, columns: Iterable[str] | None = None
    ) -> MatchSettings:
        """Build settings from the ``matching:`` dict; raise one error listing every problem.

        ``columns`` are the frame's columns; when omitted the canonical columns (plus any
        ``x_<name>`` extra) are assumed.
        """
        return _Reader(columns).read(data)

    @classmethod
    def default(cls) -> MatchSettings:
        """Settings for the canonical customer frame (persons and organizations)."""
        return cls.from_dict(DEFAULT_MATCHING)

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form that :meth:`from_dict` reads back."""
        em = self.em
        return {
            "comparisons": [c.to_dict() for c in self.comparisons],
            "blocking_rules": [r.to_dict() for r in self.blocking_rules],
            "thresholds": {
                "auto_merge": self.thresholds.auto_merge,
                "review": self.thresholds.review,
            },
            "max_pairs_per_rule": self.max_pairs_per_rule,
            "term_frequency": list(self.term_frequency),
            "em": {
                "max_iterations": em.max_iterations,
                "tolerance": em.tolerance,
                "seed": em.seed,
                "u_sample_pairs": em.u_sample_pairs,
                "prior": em.prior,
                "deterministic_rules": [r.to_dict() for r in em.deterministic_rules],
                "deterministic_recall": em.deterministic_recall,
                "training_rules": [r.to_dict() for r in em.training_rules],
                "max_pairs_per_session": em.max_pairs_per_session,
            },
            "guards": [g.to_dict() for g in self.guards],
            "id_column": self.id_column,
            "kind_column": self.kind_column,
        }

    def check_columns(self, columns: Iterable[str]) -> None:
        """Raise :class:`MatchConfigError` naming every configured column the frame lacks."""
        have = set(columns)
        problems: list[str] = []
        for comp in self.comparisons:
            for col in comp.columns:
                if col not in have:
                    problems.append(
                        f"comparisons.{comp.name}: field {col!r} is not a column of the frame"
                    )
        for k, rule in enumerate(self.blocking_rules):
            for col in rule.columns:
                if col not in have:
                    problems.append(
                        f"blocking_rules[{k}] {rule.name}: field {col!r} is not a column"
                    )
        if self.id_column not in have:
            problems.append(f"id_column: {self.id_column!r} is not a column of the frame")
        if problems:
            raise MatchConfigError(problems, hint=_columns_hint(have))

    def comparison(self, name: str) -> Comparison:
        """The comparison called ``name``."""
        for comp in self.comparisons:
            if comp.name == name:
                return comp
        raise KeyError(name)


def _columns_hint(have: Iterable[str]) -> str:
    cols = sorted(have)
    shown = ", ".join(cols[:40]) + (" ..." if len(cols) > 40 else "")
    return f"the frame has: {shown}"


# ---- the reader: collects problems ----------------------------------------------------------


class _Reader:
    def __init__(self, columns: Iterable[str] | None) -> None:
        self.columns = set(columns) if columns is not None else None
        self.problems: list[str] = []

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def known_column(self, where: str, col: Any) -> str:
        if not isinstance(col, str) or not col:
            self.problem(f"{where}: a field name must be a non-empty string, got {col!r}")
            return "?"
        if self.columns is None:
            ok = col in CANONICAL_COLUMNS or col.startswith("x_")
            if not ok:
                self.problem(
                    f"{where}: field {col!r} does not exist in the canonical frame "
                    f"(extra fields are named x_<name>)"
                )
        elif col not in self.columns:
            self.problem(f"{where}: field {col!r} is not a column of the frame")
        return col

    def read(self, data: Mapping[str, Any]) -> MatchSettings:
        if not isinstance(data, Mapping):
            raise MatchConfigError([f"matching must be a mapping, got {type(data).__name__}"])
        allowed = {
            "comparisons", "blocking_rules", "thresholds", "max_pairs_per_rule",
            "term_frequency", "em", "guards", "id_column", "kind_column",
        }  # fmt: skip
        for key in data:
            if key not in allowed:
                self.problem(f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
        comps = self.read_comparisons(data.get("comparisons"))
        rules = self.read_rules("blocking_rules", data.get("blocking_rules"), required=True)
        thresholds = self.read_thresholds(data.get("thresholds", {}))
        max_pairs = self.positive_int(
            "max_pairs_per_rule", data.get("max_pairs_per_rule", 20_000_000)
        )
        tf = self.read_tf(data.get("term_frequency", ()), comps)
        em = self.read_em(data.get("em", {}))
        guards = self.read_guards(data.get("guards", ()), comps)
        id_column = data.get("id_column", "record_id")
        kind_column = data.get("kind_column", "kind")
        if not isinstance(id_column, str):
            self.problem("id_column must be a column name")
        if not isinstance(kind_column, str):
            self.problem("kind_column must be a column name")
        if self.problems:
            raise MatchConfigError(self.problems)
        # apply term-frequency adjustment to the exact levels on the listed columns
        comps = tuple(_with_tf(c, tf) for c in comps)
        return MatchSettings(
            comparisons=comps,
            blocking_rules=rules,
            thresholds=thresholds,
            max_pairs_per_rule=max_pairs,
            term_frequency=tf,
            em=em,
            guards=guards,
            id_column=str(id_column),
            kind_column=str(kind_column),
        )

    # -- comparisons

    def read_comparisons(self, raw: Any) -> tuple[Comparison, ...]:
        if raw is None:
            self.problem("comparisons: at least one comparison is required")
            return ()
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            self.problem("comparisons must be a list")
            return ()
        out: list[Comparison] = []
        names: set[str] = set()
        for k, item in enumerate(raw):
            comp = self.read_comparison(f"comparisons[{k}]", item)
            if comp is None:
                continue
            if comp.name in names:
                self.problem(f"comparisons[{k}]: duplicate comparison name {comp.name!r}")
            names.add(comp.name)
            out.append(comp)
        if not out and not self.problems:
            self.problem("comparisons: at least one comparison is required")
        return tuple(out)

    def read_comparison(self, where: str, item: Any) -> Comparison | None:
        if not isinstance(item, Mapping):
            self.problem(f"{where}: a comparison must be a mapping with column and levels")
            return None
        for key in item:
            if key not in {"name", "column", "label", "levels", "identifier"}:
                self.problem(
                    f"{where}: unknown key {key!r} "
                    f"(allowed: column, identifier, label, levels, name)"
                )
        column = self.known_column(f"{where}.column", item.get("column"))
        name = item.get("name", column)
        if not isinstance(name, str):
            self.problem(f"{where}.name must be a string")
            name = column
        where = f"comparisons.{name}"
        label = item.get("label", column.replace("_", " "))
        levels_raw = item.get("levels")
        if not isinstance(levels_raw, Sequence) or isinstance(levels_raw, str) or not levels_raw:
            self.problem(f"{where}.levels: a non-empty list of levels is required")
            return None
        levels: list[ComparisonLevel] = []
        for k, raw in enumerate(levels_raw):
            level = self.read_level(f"{where}.levels[{k}]", raw, column, str(label))
            if level is not None:
                levels.append(level)
        if not any(lv.kind == "null" for lv in levels):
            levels.insert(0, _make_level("null", None, (column,), str(label), column))
        elif levels[0].kind != "null":
            self.problem(f"{where}.levels: the null level must come first")
        if not any(lv.kind == "else" for lv in levels):
            levels.append(_make_level("else", None, (column,), str(label), column))
        elif levels[-1].kind != "else":
            self.problem(f"{where}.levels: the else level must come last")
        seen: set[str] = set()
        for lv in levels:
            if lv.name in seen:
                self.problem(f"{where}.levels: two levels are named {lv.name!r}; give one a name")
            seen.add(lv.name)
        if len(levels) > 100:
            self.problem(f"{where}.levels: at most 100 levels")
        identifier = item.get("identifier", False)
        if not isinstance(identifier, bool):
            self.problem(f"{where}.identifier must be true or false")
            identifier = False
        return Comparison(
            name=name,
            column=column,
            label=str(label),
            levels=tuple(levels),
            identifier=identifier,
        )

    def read_level(
        self, where: str, raw: Any, column: str, comp_label: str
    ) -> ComparisonLevel | None:
        threshold: Any = None
        name = label = None
        columns: tuple[str, ...] = (column,)
        tf_adjust = False
        also_exact: tuple[str, ...] = ()
        if isinstance(raw, str):
            kind = raw
        elif isinstance(raw, Mapping):
            extra = dict(raw)
            if "kind" in extra:
                kind = extra.pop("kind")
                threshold = extra.pop("threshold", None)
            else:
                kinds = [k for k in extra if k in LEVEL_KINDS]
                if len(kinds) != 1:
                    self.problem(
                        f"{where}: name exactly one level kind ({', '.join(LEVEL_KINDS)}), "
                        f"got {sorted(extra)}"
                    )
                    return None
                kind = kinds[0]
                threshold = extra.pop(kind)
                if threshold is True:
                    threshold = None
            name = extra.pop("name", None)
            label = extra.pop("label", None)
            tf_adjust = bool(extra.pop("tf_adjust", False))
            if "also_exact" in extra:
                also = extra.pop("also_exact")
                if isinstance(also, str):
                    also = [also]
                if not isinstance(also, Sequence) or not also:
                    self.problem(f"{where}.also_exact must be a list of columns")
                else:
                    also_exact = tuple(self.known_column(f"{where}.also_exact", c) for c in also)
            if "column" in extra:
                columns = (self.known_column(f"{where}.column", extra.pop("column")),)
            if "columns" in extra:
                cols = extra.pop("columns")
                if not isinstance(cols, Sequence) or isinstance(cols, str) or not cols:
                    self.problem(f"{where}.columns must be a non-empty list")
                else:
                    columns = tuple(self.known_column(f"{where}.columns", c) for c in cols)
            for key in extra:
                self.problem(f"{where}: unknown key {key!r}")
        else:
            self.problem(f"{where}: a level is a kind name or a mapping, got {raw!r}")
            return None
        if kind not in LEVEL_KINDS:
            self.problem(f"{where}: unknown level kind {kind!r} (known: {', '.join(LEVEL_KINDS)})")
            return None
        needs = LEVEL_KINDS[kind]
        value: float | None = None
        if needs:
            if kind == "array_intersect" and threshold is None:
                threshold = 1
            if isinstance(threshold, bool) or not isinstance(threshold, int | float):
                self.problem(f"{where}: {kind} needs a number, e.g. {{{kind}: 0.9}}")
                return None
            value = float(threshold)
            if kind in _SIMILARITY_KINDS and not 0.0 < value <= 1.0:
                self.problem(f"{where}: {kind} threshold must be in (0, 1], got {value}")
            elif kind not in _SIMILARITY_KINDS and value < 0:
                self.problem(f"{where}: {kind} threshold must not be negative, got {value}")
        elif threshold is not None:
            self.problem(f"{where}: {kind} takes no threshold")
        level = _make_level(kind, value, columns, comp_label, column, name=name, label=label)
        if tf_adjust or also_exact:
            level = ComparisonLevel(
                **{**level.__dict__, "tf_adjust": tf_adjust, "also_exact": also_exact}
            )
        return level

    # -- blocking

    def read_rules(self, where: str, raw: Any, *, required: bool) -> tuple[BlockingRule, ...]:
        if raw is None or raw == []:
            if required:
                self.problem(f"{where}: at least one blocking rule is required")
            return ()
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            self.problem(f"{where} must be a list of rules")
            return ()
        out: list[BlockingRule] = []
        for k, item in enumerate(raw):
            rule = self.read_rule(f"{where}[{k}]", item)
            if rule is not None:
                out.append(rule)
        return tuple(out)

    def read_rule(self, where: str, item: Any) -> BlockingRule | None:
        if isinstance(item, str):
            item = [item]
        if isinstance(item, Mapping):
            if "sorted_neighbourhood" in item:
                extra = set(item) - {"sorted_neighbourhood", "window"}
                if extra:
                    self.problem(f"{where}: unknown keys {sorted(extra)}")
                key = self.read_key(where, item["sorted_neighbourhood"])
                window = item.get("window", 5)
                if isinstance(window, bool) or not isinstance(window, int) or window < 2:
                    self.problem(f"{where}.window must be an integer >= 2, got {window!r}")
                    return None
                if key is None:
                    return None
                return BlockingRule(keys=(key,), kind="sorted_neighbourhood", window=window)
            if "on" in item:
                extra = set(item) - {"on"}
                if extra:
                    self.problem(f"{where}: unknown keys {sorted(extra)}")
                item = item["on"]
                if isinstance(item, str):
                    item = [item]
            else:
                self.problem(
                    f"{where}: a rule is a list of columns, {{on: [columns]}} or "
                    f"{{sorted_neighbourhood: column, window: N}}"
                )
                return None
        if not isinstance(item, Sequence) or not item:
            self.problem(f"{where}: a rule needs at least one column")
            return None
        keys = [self.read_key(where, c) for c in item]
        if any(k is None for k in keys):
            return None
        return BlockingRule(keys=tuple(k for k in keys if k is not None))

    def read_key(self, where: str, spec: Any) -> BlockingKey | None:
        m = _PREFIX_SPEC.match(spec) if isinstance(spec, str) else None
        if m is None:
            self.problem(f"{where}: {spec!r} is not a column or column[:N]")
            return None
        col = self.known_column(where, m.group("col"))
        n = m.group("n")
        if n is not None and int(n) < 1:
            self.problem(f"{where}: prefix length must be >= 1 in {spec!r}")
        return BlockingKey(col, int(n) if n is not None else None)

    # -- the rest

    def read_thresholds(self, raw: Any) -> Thresholds:
        if not isinstance(raw, Mapping):
            self.problem("thresholds must be a mapping with auto_merge and review")
            return Thresholds()
        for key in raw:
            if key not in {"auto_merge", "review"}:
                self.problem(f"thresholds: unknown key {key!r} (allowed: auto_merge, review)")
        vals: dict[str, float] = {}
        for key, dflt in (("auto_merge", 0.99), ("review", 0.80)):
            v = raw.get(key, dflt)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 < float(v) < 1.0:
                self.problem(
                    f"thresholds.{key} must be a match probability strictly between 0 and 1, "
                    f"got {v!r}"
                )
                v = dflt
            vals[key] = float(v)
        if vals["review"] >= vals["auto_merge"]:
            self.problem(
                f"thresholds are out of order: review ({vals['review']}) must be below "
                f"auto_merge ({vals['auto_merge']})"
            )
        return Thresholds(auto_merge=vals["auto_merge"], review=vals["review"])

    def positive_int(self, where: str, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            self.problem(f"{where} must be a positive integer, got {v!r}")
            return 1
        return v

    def read_tf(self, raw: Any, comps: Sequence[Comparison]) -> tuple[str, ...]:
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            self.problem("term_frequency must be a list of columns")
            return ()
        exact_cols = {lv.column for c in comps for lv in c.levels if lv.kind == "exact"}
        out = []
        for col in raw:
            col = self.known_column("term_frequency", col)
            if col not in exact_cols and col != "?":
                self.problem(f"term_frequency: {col!r} has no exact comparison level to adjust")
            out.append(col)
        return tuple(out)

    def read_em(self, raw: Any) -> EMSettings:
        if not isinstance(raw, Mapping):
            self.problem("em must be a mapping")
            return EMSettings()
        dflt = EMSettings()
        allowed = set(dflt.__dict__)
        for key in raw:
            if key not in allowed:
                self.problem(f"em: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
        prior = raw.get("prior")
        if prior is not None and (
            isinstance(prior, bool) or not isinstance(prior, int | float) or not 0 < prior < 1
        ):
            self.problem(f"em.prior must be a probability strictly between 0 and 1, got {prior!r}")
            prior = None
        recall = raw.get("deterministic_recall", dflt.deterministic_recall)
        if isinstance(recall, bool) or not isinstance(recall, int | float) or not 0 < recall <= 1:
            self.problem(f"em.deterministic_recall must be in (0, 1], got {recall!r}")
            recall = dflt.deterministic_recall
        tol = raw.get("tolerance", dflt.tolerance)
        if isinstance(tol, bool) or not isinstance(tol, int | float) or tol <= 0:
            self.problem(f"em.tolerance must be a positive number, got {tol!r}")
            tol = dflt.tolerance
        seed = raw.get("seed", dflt.seed)
        if isinstance(seed, bool) or not isinstance(seed, int):
            self.problem(f"em.seed must be an integer, got {seed!r}")
            seed = dflt.seed
        return EMSettings(
            max_iterations=self.positive_int(
                "em.max_iterations", raw.get("max_iterations", dflt.max_iterations)
            ),
            tolerance=float(tol),
            seed=seed,
            u_sample_pairs=self.positive_int(
                "em.u_sample_pairs", raw.get("u_sample_pairs", dflt.u_sample_pairs)
            ),
            prior=None if prior is None else float(prior),
            deterministic_rules=self.read_rules(
                "em.deterministic_rules", raw.get("deterministic_rules"), required=False
            ),
            deterministic_recall=float(recall),
            training_rules=self.read_rules(
                "em.training_rules", raw.get("training_rules"), required=False
            ),
            max_pairs_per_session=self.positive_int(
                "em.max_pairs_per_session",
                raw.get("max_pairs_per_session", dflt.max_pairs_per_session),
            ),
        )

    def read_guards(self, raw: Any, comps: Sequence[Comparison]) -> tuple[Guard, ...]:
        if not isinstance(raw, Sequence) or isinstance(raw, str):
            self.problem("guards must be a list")
            return ()
        by_name = {c.name: c for c in comps}
        out: list[Guard] = []
        for k, item in enumerate(raw):
            where = f"guards[{k}]"
            if not isinstance(item, Mapping) or not isinstance(item.get("when"), Mapping):
                self.problem(f"{where}: a guard is a mapping with name, when and cap")
                continue
            extra = set(item) - {"name", "when", "cap", "kind", "unless"}
            if extra:
                self.problem(f"{where}: unknown keys {sorted(extra)}")
            name = str(item.get("name", f"guard {k}"))
            cap = item.get("cap", "review")
            if cap not in ("review", "distinct"):
                self.problem(f"{where}.cap must be review or distinct, got {cap!r}")
                cap = "review"
            kind = item.get("kind")
            if kind is not None and not isinstance(kind, str):
                self.problem(f"{where}.kind must be a string")
                kind = None
            when = self.read_conditions(f"{where}.when", item["when"], by_name)
            unless_raw = item.get("unless", {})
            if not isinstance(unless_raw, Mapping):
                self.problem(f"{where}.unless must be a mapping of comparison -> levels")
                unless_raw = {}
            unless = self.read_conditions(f"{where}.unless", unless_raw, by_name)
            out.append(Guard(name=name, when=when, cap=cap, kind=kind, unless=unless))
        return tuple(out)

    def read_conditions(
        self, where: str, raw: Mapping[str, Any], by_name: Mapping[str, Comparison]
    ) -> tuple[tuple[str, tuple[str, ...]], ...]:
        out: list[tuple[str, tuple[str, ...]]] = []
        for comp_name, levels in raw.items():
            comp = by_name.get(comp_name)
            if comp is None:
                self.problem(f"{where}: no comparison named {comp_name!r}")
                continue
            if isinstance(levels, str):
                levels = [levels]
            names = {lv.name for lv in comp.levels}
            for lv in levels:
                if lv not in names:
                    self.problem(
                        f"{where}.{comp_name}: no level named {lv!r} "
                        f"(levels: {', '.join(sorted(names))})"
                    )
            out.append((comp_name, tuple(str(x) for x in levels)))
        return tuple(out)


def _fmt(v: float) -> str:
    return f"{v:g}"


def _make_level(
    kind: str,
    threshold: float | None,
    columns: tuple[str, ...],
    comp_label: str,
    comp_column: str,
    *,
    name: str | None = None,
    label: str | None = None,
) -> ComparisonLevel:
    """A level with its default name and human label."""
    own = columns == (comp_column,)
    who = comp_label if own else " + ".join(c.replace("_", " ") for c in columns)
    t = _fmt(threshold) if threshold is not None else ""
    default_labels = {
        "null": f"{comp_label} missing",
        "exact": f"{who} exact",
        "jaro_winkler": f"{who} Jaro-Winkler >= {t}",
        "jaro": f"{who} Jaro >= {t}",
        "levenshtein": f"{who} Levenshtein <= {t}",
        "damerau_levenshtein": f"{who} Damerau-Levenshtein <= {t}",
        "token_set": f"{who} token-set similarity >= {t}",
        "prefix": f"{who} first {t} characters equal",
        "initial": f"{who} initial matches",
        "swapped": f"{' and '.join(c.replace('_', ' ') for c in columns)} swapped",
        "date_within_days": f"{who} within {t} days",
        "date_transposed": f"{who} day and month transposed",
        "numeric_within": f"{who} within {t}",
        "array_intersect": f"{who} exact (a shared value)"
        if t == "1"
        else f"{who}: {t}+ shared values",
        "else": f"{comp_label} different",
    }
    default_name = kind if threshold is None else f"{kind}_{t}"
    if not own and kind != "null" and kind != "else":
        # a level on another column (family_alt) needs a distinct default name
        default_name = f"{default_name}_{'_'.join(columns)}"
    return ComparisonLevel(
        kind=kind,
        name=name or default_name,
        label=label or default_labels[kind],
        columns=columns,
        threshold=threshold,
    )


def _with_tf(comp: Comparison, tf: Sequence[str]) -> Comparison:
    if not tf:
        return comp
    levels = tuple(
        ComparisonLevel(**{**lv.__dict__, "tf_adjust": True})
        if lv.kind == "exact" and len(lv.columns) == 1 and lv.column in tf
        else lv
        for lv in comp.levels
    )
    return Comparison(
        name=comp.name,
        column=comp.column,
        label=comp.label,
        levels=levels,
        identifier=comp.identifier,
    )


# ---- the default for the canonical customer frame -------------------------------------------

#: Default ``matching:`` settings for canonical customers (persons and organizations).
#: Guards keep look-alikes out of auto-merge: family members at one address, namesakes in
#: other cities, branches of one company. A guard for parent and child with the same name at
#: one address (``when: {birth_date: [else]}``) is left to projects that need it: on sources
#: with unreliable birth dates it sends many true duplicates to review (docs/matching/scoring.md).
DEFAULT_MATCHING: dict[str, Any] = {
    "thresholds": {"auto_merge": 0.99, "review": 0.80},
    "max_pairs_per_rule": 20_000_000,
    "blocking_rules": [
        ["email"],
        ["phone"],
        ["tax_id"],
        ["family_phonetic", "postcode"],
        ["given_phonetic", "family_phonetic", "city"],
        ["family", "birth_date"],
        ["birth_date", "postcode"],
        ["birth_date", "city"],
        # a person who changed name (marriage) and mistyped the street keeps both of these
        ["birth_date", "house_number"],
        ["street", "house_number"],
        ["org", "city"],
        ["org", "postcode"],
        {"sorted_neighbourhood": "full_name", "window": 4},
    ],
    "comparisons": [
        {
            "column": "given",
            "label": "given name",
            "levels": [
                "exact",
                {"jaro_winkler": 0.92},
                {"kind": "swapped", "columns": ["given", "family"], "name": "swapped",
                 "label": "given and family name swapped"},
                {"kind": "initial", "column": "given_raw", "name": "initial",
                 "label": "given name initial matches"},
                {"jaro_winkler": 0.80},
            ],
        },
        {
            "column": "family",
            "label": "family name",
            "levels": [
                "exact",
                {"kind": "exact", "column": "family_alt", "name": "exact_alt",
                 "label": "family name exact (German spelling)"},
                {"jaro_winkler": 0.92},
                {"kind": "swapped", "columns": ["family", "given"], "name": "swapped",
                 "label": "family and given name swapped"},
                {"jaro_winkler": 0.80},
            ],
        },
        {
            "column": "birth_date",
            "label": "birth date",
            "levels": [
                "exact",
                {"damerau_levenshtein": 1},
                "date_transposed",
                {"date_within_days": 365},
            ],
        },
        {
            "column": "org",
            "label": "organization",
            "levels": ["exact", {"jaro_winkler": 0.92}, {"token_set": 0.9}],
        },
        {
            "name": "email",
            "column": "emails",
            "label": "email",
            "levels": [{"array_intersect": 1}, {"kind": "levenshtein", "threshold": 1,
                                                 "column": "email"}],
        },
        {
            "name": "phone",
            "column": "phones",
            "label": "phone",
            "levels": [{"array_intersect": 1}],
        },
        {
            "name": "tax_id",
            "column": "tax_ids",
            "label": "tax id",
            "identifier": True,
            "levels": [{"array_intersect": 1}],
        },
        {
            "name": "street",
            "column": "street",
            "label": "street",
            "levels": [
                {"kind": "exact", "columns": ["street", "house_number"], "name": "exact_number",
                 "label": "street and house number exact"},
                "exact",
                {"kind": "jaro_winkler", "threshold": 0.90, "also_exact": ["house_number"],
                 "name": "jaro_winkler_0.9_number",
                 "label": "street Jaro-Winkler >= 0.9 and house number exact"},
                {"kind": "jaro_winkler", "threshold": 0.90, "name": "jaro_winkler_0.9"},
                {"kind": "exact", "column": "house_number", "name": "number_only",
                 "label": "house number exact, street different"},
            ],
        },
        {
            "column": "postcode",
            "label": "postcode",
            "levels": ["exact", {"damerau_levenshtein": 1}],
        },
        {
            "column": "city",
            "label": "city",
            "levels": ["exact", {"jaro_winkler": 0.90}],
        },
    ],
    "term_frequency": ["given", "family", "org", "city"],
    "guards": [
        {
            "name": "family member at the same address",
            "kind": "person",
            "when": {"given": ["else", "initial", "jaro_winkler_0.8"],
                     "birth_date": ["else", "date_within_days_365",
                                    "damerau_levenshtein_1"]},
            "cap": "review",
        },
        {
            "name": "different given name, no birth date to tell",
            "kind": "person",
            "when": {"given": ["else"], "birth_date": ["null"]},
            "cap": "review",
        },
        {
            "name": "namesake in another city",
            "kind": "person",
            "when": {"city": ["else"], "email": ["null", "else"], "phone": ["null", "else"],
                     "birth_date": ["null"]},
            "cap": "review",
        },
        {
            "name": "branch of the same company",
            "kind": "organization",
            "when": {"city": ["else"], "tax_id": ["null", "else"]},
            "cap": "review",
        },
        {
            "name": "branch of the same company (other street)",
            "kind": "organization",
            "when": {"street": ["else", "jaro_winkler_0.9"], "tax_id": ["null", "else"],
                     "email": ["null", "else"], "phone": ["null", "else"]},
            "cap": "review",
        },
    ],
}  # fmt: skip

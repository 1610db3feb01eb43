"""Person names: titles, particles, initials, given/family split, nickname and phonetic keys.

Keys are folded (:func:`~crmhub_dedupe.normalize.text.fold`). ``family_alt`` is the family
name under German rules (Müller -> mueller), equal to ``family`` when they do not differ.
Family keys also get common spelling variants unified (``reference/family_variants.csv``:
"kapur" -> "kapoor"), so a Devanagari कपूर meets a Latin Kapoor.

Parsing a one-field name (``full_name``): prefix titles (Dr., Herr, Mevr., Shri, Smt. ...)
and suffixes (Jr., PhD ...) are removed; "Family, Given" order is recognised by its comma;
otherwise the first particle sequence ("van der", "von", "de la") that has a word before
and after it starts the family name, and without a particle the last word is the family name.
A name of one word is taken as the family name.

Phonetic keys use ``jellyfish.metaphone`` (double metaphone is not available there): the
given key is the metaphone of the first canonical given name, the family key the metaphone of
the family key with spaces removed.
"""

from __future__ import annotations

import functools
import unicodedata
from dataclasses import dataclass

import jellyfish

from crmhub_dedupe.normalize._reference import read_table
from crmhub_dedupe.normalize.nicknames import canonical_given
from crmhub_dedupe.normalize.text import fold, german_fold


@dataclass(frozen=True, slots=True)
class PersonName:
    """The parsed, folded parts of one person name; every field None when absent."""

    given: str | None = None
    """Given names with nicknames mapped to canonical names ("jan willem" -> "johannes willem")."""
    given_raw: str | None = None
    """Folded given names as written."""
    given_initial: str | None = None
    initials: str | None = None
    family: str | None = None
    family_alt: str | None = None
    particle: str | None = None
    prefix: str | None = None
    """Folded titles that were removed ("dr", "herr", "shri")."""
    suffix: str | None = None
    full_name: str | None = None
    """Folded "given family" key (given as written, particle left out)."""
    given_phonetic: str | None = None
    family_phonetic: str | None = None


@functools.cache
def _particles() -> dict[str, str]:
    table: dict[str, str] = {}
    for row in read_table("particles.csv"):
        key, canonical = fold(row["particle"]), fold(row["canonical"])
        if key and canonical:
            table[key] = canonical
    return table


@functools.cache
def _max_particle_words() -> int:
    return max(len(key.split()) for key in _particles())


@functools.cache
def _titles(kind: str) -> frozenset[str]:
    return frozenset(
        key
        for row in read_table("titles.csv")
        if row["kind"] == kind and (key := fold(row["title"]))
    )


# A chunk: one white-space separated word as (ASCII key, German-rule key).
_Chunk = tuple[str, str]


def _chunks(text: str) -> list[_Chunk]:
    text = unicodedata.normalize("NFKC", text).replace(",", " , ")
    out: list[_Chunk] = []
    for word in text.split():
        if word == ",":
            out.append((",", ","))
            continue
        key = fold(word)
        if key:
            out.append((key, german_fold(word) or key))
    return out


def _keys(chunks: list[_Chunk], start: int = 0, stop: int | None = None) -> str:
    return " ".join(chunk[0] for chunk in chunks[start:stop])


def _strip_titles(chunks: list[_Chunk]) -> tuple[list[_Chunk], list[str], list[str]]:
    """Remove leading prefix titles and trailing suffixes; keep at least one chunk."""
    prefixes, suffixes = _titles("prefix"), _titles("suffix")
    found_prefix: list[str] = []
    found_suffix: list[str] = []
    while len(chunks) > 1:
        two = _keys(chunks, 0, 2)
        if len(chunks) > 2 and two in prefixes:
            found_prefix.append(two)
            chunks = chunks[2:]
        elif chunks[0][0] in prefixes:
            found_prefix.append(chunks[0][0])
            chunks = chunks[1:]
        else:
            break
    while len(chunks) > 1 and (chunks[-1][0] in suffixes or chunks[-1][0] == ","):
        if chunks[-1][0] != ",":
            found_suffix.insert(0, chunks[-1][0])
        chunks = chunks[:-1]
    return chunks, found_prefix, found_suffix


def _particle_at(chunks: list[_Chunk], start: int, need_after: int) -> tuple[str, int] | None:
    """The longest particle starting at ``start`` with ``need_after`` chunks after it."""
    table = _particles()
    for length in range(min(_max_particle_words(), len(chunks) - start - need_after), 0, -1):
        canonical = table.get(_keys(chunks, start, start + length))
        if canonical is not None:
            return canonical, length
    return None


def _split_family(chunks: list[_Chunk]) -> tuple[str | None, list[_Chunk]]:
    """Split a leading particle ("van den Berg") or a trailing one ("Berg, van den")."""
    if "," in (chunk[0] for chunk in chunks):
        cut = [chunk[0] for chunk in chunks].index(",")
        head, tail = chunks[:cut], chunks[cut + 1 :]
        if head and tail:
            found = _particle_at(tail, 0, 0)
            if found and found[1] == len(tail):
                return found[0], head
        chunks = [chunk for chunk in chunks if chunk[0] != ","]
    found = _particle_at(chunks, 0, 1)
    if found:
        return found[0], chunks[found[1] :]
    return None, chunks


def _join(chunks: list[_Chunk], index: int) -> str | None:
    text = " ".join(chunk[index] for chunk in chunks if chunk[0] != ",")
    return text or None


@dataclass(frozen=True, slots=True)
class _Given:
    key: str | None
    prefix: list[str]
    particle: str | None


@dataclass(frozen=True, slots=True)
class _Family:
    key: str | None
    alt: str | None
    particle: str | None
    suffix: list[str]


@functools.lru_cache(maxsize=131072)
def _parse_given(text: str) -> _Given:
    chunks, prefix, _ = _strip_titles(_chunks(text))
    particle = None
    # "Jan van" (particle typed into the given-name field)
    for start in range(1, len(chunks)):
        found = _particle_at(chunks, start, 0)
        if found and start + found[1] == len(chunks):
            particle, chunks = found[0], chunks[:start]
            break
    return _Given(_join(chunks, 0), prefix, particle)


@functools.lru_cache(maxsize=131072)
def _parse_family(text: str) -> _Family:
    chunks, _, suffix = _strip_titles(_chunks(text))
    particle, chunks = _split_family(chunks)
    return _Family(_join(chunks, 0), _join(chunks, 1), particle, suffix)


@functools.lru_cache(maxsize=131072)
def _parse_full(text: str) -> tuple[_Given, _Family]:
    chunks, prefix, suffix = _strip_titles(_chunks(text))
    if all(chunk[0] == "," for chunk in chunks):  # nothing but punctuation
        return _Given(None, prefix, None), _Family(None, None, None, suffix)
    if "," in (chunk[0] for chunk in chunks):
        cut = [chunk[0] for chunk in chunks].index(",")
        family_part, given_part = chunks[:cut], [c for c in chunks[cut + 1 :] if c[0] != ","]
        particle = None
        # "Berg, Jan van den": the particle trails the given names
        for start in range(1, len(given_part)):
            found = _particle_at(given_part, start, 0)
            if found and start + found[1] == len(given_part):
                particle, given_part = found[0], given_part[:start]
                break
        if particle is None:
            particle, family_part = _split_family(family_part)
        given = _Given(_join(given_part, 0), prefix, None)
        return given, _Family(_join(family_part, 0), _join(family_part, 1), particle, suffix)
    if len(chunks) == 1:
        return _Given(None, prefix, None), _Family(chunks[0][0], chunks[0][1], None, suffix)
    for start in range(1, len(chunks) - 1):
        found = _particle_at(chunks, start, 1)
        if found:
            given_part, family_part = chunks[:start], chunks[start + found[1] :]
            return (
                _Given(_join(given_part, 0), prefix, None),
                _Family(_join(family_part, 0), _join(family_part, 1), found[0], suffix),
            )
    return (
        _Given(_join(chunks[:-1], 0), prefix, None),
        _Family(chunks[-1][0], chunks[-1][1], None, suffix),
    )


@functools.cache
def family_variant_table() -> dict[str, str]:
    """Folded family-name spelling variant -> canonical spelling (reference/family_variants.csv)."""
    table: dict[str, str] = {}
    for row in read_table("family_variants.csv"):
        variant, canonical = fold(row["variant"]), fold(row["canonical"])
        if variant and canonical:
            table[variant] = canonical
    return table


@functools.lru_cache(maxsize=131072)
def canonical_family(key: str) -> str:
    """Map every word of a folded family key to its canonical spelling ("kapur" -> "kapoor")."""
    table = family_variant_table()
    return " ".join(table.get(token, token) for token in key.split())


@functools.lru_cache(maxsize=131072)
def given_keys(given_raw: str) -> tuple[str, str, str, str]:
    """(canonical given, first initial, all initials, metaphone) of a folded given-name key."""
    canonical = canonical_given(given_raw)
    tokens = given_raw.split()
    initials = "".join(token[0] for token in tokens)
    first = canonical.split()[0]
    return canonical, initials[:1], initials, phonetic(first)


@functools.lru_cache(maxsize=131072)
def phonetic(key: str) -> str:
    """``jellyfish.metaphone`` of a folded key with spaces removed ("" for an empty key)."""
    compact = key.replace(" ", "")
    return str(jellyfish.metaphone(compact)).lower() if compact else ""


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and value != value):
        return None
    text = str(value).strip()
    return text or None


def parse_person_name(
    full_name: object = None,
    *,
    given: object = None,
    family: object = None,
    particle: object = None,
    prefix: object = None,
    suffix: object = None,
) -> PersonName:
    """Parse a person name from structured parts, a one-field name, or both.

    Structured parts win; ``full_name`` fills what they lack (both given and family missing:
    the whole name comes from ``full_name``). Never raises on odd input: unparseable parts
    just come back as None.

    >>> parse_person_name("Dr. Jan Willem van der Berg").particle
    'van der'
    """
    given_text, family_text, full_text = _text(given), _text(family), _text(full_name)
    given_part = _parse_given(given_text) if given_text else None
    family_part = _parse_family(family_text) if family_text else None
    if (
        full_text
        and (given_part is None or given_part.key is None)
        and (family_part is None or family_part.key is None)
    ):
        given_part, family_part = _parse_full(full_text)
    elif full_text and family_part is None:
        family_part = _parse_full(full_text)[1]
    elif full_text and given_part is None:
        given_part = _parse_full(full_text)[0]
    given_part = given_part or _Given(None, [], None)
    family_part = family_part or _Family(None, None, None, [])
    return _assemble(given_part, family_part, particle, prefix, suffix)


def _assemble(
    given_part: _Given, family_part: _Family, particle: object, prefix: object, suffix: object
) -> PersonName:
    particle_text = _text(particle)
    particle_key = fold(particle_text) if particle_text else None
    if particle_key is not None:
        particle_key = _particles().get(particle_key, particle_key)
    particle_key = particle_key or family_part.particle or given_part.particle
    prefixes = [p for p in [fold(_text(prefix)), *given_part.prefix] if p]
    suffixes = [s for s in [fold(_text(suffix)), *family_part.suffix] if s]
    given_raw = given_part.key
    family_key = canonical_family(family_part.key) if family_part.key else None
    family_alt = canonical_family(family_part.alt) if family_part.alt else None
    canonical = initial = initials = given_ph = None
    if given_raw:
        canonical, initial, initials, given_ph = given_keys(given_raw)
    full = " ".join(part for part in (given_raw, family_key) if part) or None
    return PersonName(
        given=canonical,
        given_raw=given_raw,
        given_initial=initial,
        initials=initials,
        family=family_key,
        family_alt=family_alt if family_key else None,
        particle=particle_key,
        prefix=" ".join(dict.fromkeys(prefixes)) or None,
        suffix=" ".join(dict.fromkeys(suffixes)) or None,
        full_name=full,
        given_phonetic=given_ph or None,
        family_phonetic=phonetic(family_key) or None if family_key else None,
    )

"""Transliterate Indic scripts (and, roughly, every other non-Latin script) to Latin.

Matching keys need "राहुल शर्मा" to meet "Rahul Sharma". ``unidecode`` spells every inherent
vowel and every long vowel ("raahul shrmaa"), so Brahmic scripts get their own rules here:

* letters of Bengali, Gurmukhi, Gujarati, Oriya, Tamil, Telugu, Kannada and Malayalam are
  first mapped onto the Devanagari letter at the same offset of its Unicode block (the blocks
  share one layout), then one table spells them the way names are usually written in English
  ("sh" for श/ष, "ch"/"chh", aspirates with "h", nukta letters as q/z/f/r);
* long and short vowels collapse (आ -> a, ई -> i, ऊ -> u): English spellings of Indian names
  rarely mark length, and "ee"/"oo" spellings meet the short form through the nickname table
  and the phonetic keys;
* Hindi schwa deletion for the north Indian scripts: the inherent "a" of a word's last
  consonant is dropped unless it ends a consonant cluster (राम -> ram, मित्र -> mitra), and a
  medial inherent "a" is dropped between VC and CV (कमला -> kamla, जगदीश -> jagdish);
* anusvara becomes "m" before labials, "ng" before ह (सिंह -> singh), "n" elsewhere.

Other non-Latin scripts (Cyrillic, Greek, Arabic, CJK ...) go through ``unidecode``. Latin
letters, accents included, are left alone: accent folding is :func:`fold`'s job.
"""

from __future__ import annotations

import functools
import re

from unidecode import unidecode

_DEVANAGARI = 0x0900
# Blocks laid out like Devanagari, and whether Hindi-style schwa deletion applies to words
# written in them (south Indian languages keep their final vowels).
_BLOCKS: dict[int, bool] = {
    0x0900: True,  # Devanagari
    0x0980: True,  # Bengali
    0x0A00: True,  # Gurmukhi
    0x0A80: True,  # Gujarati
    0x0B00: True,  # Oriya
    0x0B80: False,  # Tamil
    0x0C00: False,  # Telugu
    0x0C80: False,  # Kannada
    0x0D00: False,  # Malayalam
}

# Offsets within the block (Devanagari code point minus 0x0900).
_CONSONANTS: dict[int, str] = {
    0x15: "k", 0x16: "kh", 0x17: "g", 0x18: "gh", 0x19: "n",
    0x1A: "ch", 0x1B: "chh", 0x1C: "j", 0x1D: "jh", 0x1E: "n",
    0x1F: "t", 0x20: "th", 0x21: "d", 0x22: "dh", 0x23: "n",
    0x24: "t", 0x25: "th", 0x26: "d", 0x27: "dh", 0x28: "n", 0x29: "n",
    0x2A: "p", 0x2B: "ph", 0x2C: "b", 0x2D: "bh", 0x2E: "m",
    0x2F: "y", 0x30: "r", 0x31: "r", 0x32: "l", 0x33: "l", 0x34: "zh", 0x35: "v",
    0x36: "sh", 0x37: "sh", 0x38: "s", 0x39: "h",
    # precomposed nukta letters (NFKC decomposes most of them, but not every source is NFKC)
    0x58: "q", 0x59: "kh", 0x5A: "gh", 0x5B: "z", 0x5C: "r", 0x5D: "rh", 0x5E: "f", 0x5F: "y",
    0x79: "z", 0x7A: "y",
}  # fmt: skip
# Consonant + nukta (U+093C) spellings.
_NUKTA: dict[int, str] = {
    0x15: "q", 0x16: "kh", 0x17: "gh", 0x1C: "z", 0x21: "r", 0x22: "rh", 0x2B: "f", 0x2F: "y",
}  # fmt: skip
_INDEPENDENT_VOWELS: dict[int, str] = {
    0x04: "a", 0x05: "a", 0x06: "a", 0x07: "i", 0x08: "i", 0x09: "u", 0x0A: "u",
    0x0B: "ri", 0x0C: "li", 0x0D: "e", 0x0E: "e", 0x0F: "e", 0x10: "ai",
    0x11: "o", 0x12: "o", 0x13: "o", 0x14: "au", 0x60: "ri", 0x61: "li",
    0x72: "a", 0x73: "ai", 0x74: "au",
}  # fmt: skip
_MATRAS: dict[int, str] = {
    0x3A: "o", 0x3B: "a", 0x3E: "a", 0x3F: "i", 0x40: "i", 0x41: "u", 0x42: "u",
    0x43: "ri", 0x44: "ri", 0x45: "e", 0x46: "e", 0x47: "e", 0x48: "ai",
    0x49: "o", 0x4A: "o", 0x4B: "o", 0x4C: "au", 0x4E: "e", 0x4F: "aw",
    0x55: "e", 0x56: "ui", 0x57: "uu", 0x62: "li", 0x63: "li",
}  # fmt: skip
_VIRAMA = 0x4D
_NUKTA_SIGN = 0x3C
_CANDRABINDU = 0x01
_ANUSVARA = 0x02
_VISARGA = 0x03
_AVAGRAHA = 0x3D
_OM = 0x50
_DANDAS = (0x64, 0x65)
_DIGITS = range(0x66, 0x70)
# Gurmukhi tippi and addak live outside the shared layout.
_GURMUKHI_TIPPI = 0x0A70
_GURMUKHI_ADDAK = 0x0A71
_VA = 0x35
# Malayalam chillu letters: a consonant with no vowel, one code point each.
_MALAYALAM_CHILLU: dict[int, str] = {
    0x0D54: "m", 0x0D55: "y", 0x0D56: "l", 0x0D7A: "n", 0x0D7B: "n", 0x0D7C: "r",
    0x0D7D: "l", 0x0D7E: "l", 0x0D7F: "k",
}  # fmt: skip

_INDIC_RE = re.compile(r"[\u0900-\u0D7F]")
_INDIC_WORD_RE = re.compile(r"[\u0900-\u0D7F]+")
_NON_LATIN_RE = re.compile(r"[^\u0000-\u024F\u1E00-\u1EFF\u2000-\u206F\u20A0-\u20CF]+")


def _block_of(code_point: int) -> tuple[int, bool] | None:
    base = code_point & ~0x7F
    if base in _BLOCKS:
        return base, _BLOCKS[base]
    return None


# Token kinds in a word: ("C", latin) consonant, ("V", latin) vowel, ("A", "a") inherent
# vowel that schwa deletion may drop, ("S", latin) nasal sign or visarga.
_Token = tuple[str, str]


def _tokenize(word: str) -> tuple[list[_Token], bool]:
    """Split one Indic word into consonant/vowel tokens; also say if schwa deletion applies."""
    tokens: list[_Token] = []
    schwa_rules = False
    chars = [ord(ch) for ch in word]
    i = 0
    n = len(chars)
    while i < n:
        cp = chars[i]
        block = _block_of(cp)
        if block is None:
            i += 1
            continue
        base, deletes = block
        schwa_rules = schwa_rules or deletes
        if cp in _MALAYALAM_CHILLU:
            tokens.append(("C", _MALAYALAM_CHILLU[cp]))
            i += 1
            continue
        if cp == _GURMUKHI_TIPPI:
            tokens.append(("S", "n"))
            i += 1
            continue
        if cp == _GURMUKHI_ADDAK:
            # gemination mark: doubles the next consonant
            if i + 1 < n and (nxt := chars[i + 1] - (chars[i + 1] & ~0x7F)) in _CONSONANTS:
                tokens.append(("C", _CONSONANTS[nxt][0]))
            i += 1
            continue
        off = cp - base
        if off in _CONSONANTS:
            latin = _CONSONANTS[off]
            j = i + 1
            if j < n and chars[j] - base == _NUKTA_SIGN:
                latin = _NUKTA.get(off, latin)
                j += 1
            # व after a half consonant is a "w" (स्वामी -> swami, द्वारका -> dwarka)
            if off == _VA and tokens and tokens[-1][0] == "C":
                latin = "w"
            # ज्ञ is spoken and spelled "gy" (ज्ञान -> gyan)
            if off == 0x1E and tokens and tokens[-1] == ("C", "j"):
                tokens[-1] = ("C", "g")
                latin = "y"
            tokens.append(("C", latin))
            if j < n and chars[j] - base == _VIRAMA:
                j += 1
            elif j < n and chars[j] - base in _MATRAS and _block_of(chars[j]) is not None:
                tokens.append(("V", _MATRAS[chars[j] - base]))
                j += 1
            else:
                tokens.append(("A", "a"))
            i = j
            continue
        if off in _INDEPENDENT_VOWELS:
            tokens.append(("V", _INDEPENDENT_VOWELS[off]))
        elif off in (_CANDRABINDU, _ANUSVARA):
            tokens.append(("S", "N"))  # resolved once the next consonant is known
        elif off == _VISARGA:
            tokens.append(("S", "h"))
        elif off == _OM:
            tokens.append(("V", "om"))
        elif off in _DIGITS:
            tokens.append(("V", str(off - 0x66)))
        # virama without consonant, nukta alone, avagraha, dandas: nothing to spell
        i += 1
    return tokens, schwa_rules


def _delete_schwas(tokens: list[_Token]) -> list[_Token]:
    """Hindi schwa deletion, right to left (the inherent vowel tokens are "A")."""
    out = list(tokens)
    vowels = sum(1 for kind, _ in out if kind in ("V", "A"))
    last = len(out) - 1
    if last >= 1 and out[last][0] == "A" and vowels > 1:
        after_cluster = last >= 2 and out[last - 2][0] == "C"
        if not after_cluster:
            out[last] = ("", "")
    for i in range(last - 1, 1, -1):
        if out[i][0] != "A":
            continue
        before_ok = out[i - 1][0] == "C" and out[i - 2][0] in ("V", "A", "S")
        after_ok = i + 2 <= last and out[i + 1][0] == "C" and out[i + 2][0] in ("V", "A")
        if before_ok and after_ok:
            out[i] = ("", "")
    return out


def _spell(tokens: list[_Token], original: list[_Token]) -> str:
    parts: list[str] = []
    for index, (kind, latin) in enumerate(tokens):
        if not kind:
            continue
        if kind == "S" and latin == "N":
            nxt = next((t for t in original[index + 1 :] if t[0] == "C"), None)
            parts.append(_nasal_before(nxt[1] if nxt else None))
            continue
        parts.append(latin)
    return "".join(parts)


def _nasal_before(consonant: str | None) -> str:
    if consonant is None:
        return "n"
    if consonant in ("p", "ph", "b", "bh", "m"):
        return "m"
    if consonant == "h":
        return "ng"
    return "n"


def _indic_word(match: re.Match[str]) -> str:
    tokens, schwa_rules = _tokenize(match.group(0))
    kept = _delete_schwas(tokens) if schwa_rules else tokens
    return _spell(kept, tokens)


@functools.lru_cache(maxsize=65536)
def transliterate(text: str) -> str:
    """Latin spelling of ``text``: Indic scripts by the rules above, other scripts by unidecode.

    Latin characters (with their accents) and punctuation pass through unchanged.

    >>> transliterate("राहुल शर्मा")
    'rahul sharma'
    """
    if text.isascii():
        return text
    if _INDIC_RE.search(text):
        text = _INDIC_WORD_RE.sub(_indic_word, text)
    return _NON_LATIN_RE.sub(lambda m: unidecode(m.group(0)), text)

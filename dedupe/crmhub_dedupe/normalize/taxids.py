"""Tax identifiers validated with python-stdnum: EU and UK VAT numbers, Indian GSTIN and PAN,
German Steuernummer and Steuer-IdNr, Dutch BSN/RSIN, UK UTR.

The compact form is the key: VAT numbers always carry their country prefix
("NL 0001.23.456.B01" -> "NL000123456B01"; "123456789B01" on a Dutch record -> the same),
GSTIN and PAN are upper case without separators. Invalid input is reported, never raised.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from stdnum import exceptions as stdnum_exceptions
from stdnum.de import idnr as de_idnr
from stdnum.de import stnr as de_stnr
from stdnum.eu import vat as eu_vat
from stdnum.gb import utr as gb_utr
from stdnum.gb import vat as gb_vat
from stdnum.in_ import gstin, pan
from stdnum.nl import bsn as nl_bsn

from crmhub_dedupe.normalize import _taxid_checks

_CLEAN_RE = re.compile(r"[^0-9A-Z]")
_EU_VAT_PREFIXES = frozenset(code.upper() for code in eu_vat.MEMBER_STATES) | {"EL", "XI"}


_FAST_VAT = {
    "NL": _taxid_checks.nl_vat,
    "DE": _taxid_checks.de_vat,
    "GB": _taxid_checks.gb_vat,
}


class TaxId(NamedTuple):
    """A valid tax id: compact ``value`` and its ``scheme`` (VAT, GSTIN, PAN, DE_STNR ...)."""

    value: str
    scheme: str


def _valid(module: object, value: str) -> bool:
    try:
        return bool(module.is_valid(value))  # type: ignore[attr-defined]
    except (stdnum_exceptions.ValidationError, ValueError, TypeError, KeyError, IndexError):
        return False


def _fast(compact: str, prefix: str) -> TaxId | bool | None:
    """The answer of the fast checks: a TaxId, False (invalid as that scheme), None (unsure)."""
    check = _FAST_VAT.get(prefix)
    if check is not None:
        verdict = check(compact)
        if verdict is not None:
            return TaxId(compact, "VAT") if verdict else False
    if len(compact) == 15 and compact[:2].isdigit():
        verdict = _taxid_checks.gstin(compact)
        if verdict:
            return TaxId(compact, "GSTIN")
    if len(compact) == 10 and compact[:5].isalpha():
        verdict = _taxid_checks.pan(compact)
        if verdict:
            return TaxId(compact, "PAN")
    return None


@functools.lru_cache(maxsize=131072)
def _normalize(text: str, country: str | None) -> TaxId | None:
    compact = _CLEAN_RE.sub("", text.upper())
    if len(compact) < 5 or len(compact) > 20:
        return None
    prefix = compact[:2]
    fast = _fast(compact, prefix)
    if fast is False:
        return None
    if isinstance(fast, TaxId):
        return fast
    if country in _FAST_VAT and not compact.startswith(country):
        checked = _FAST_VAT[country](country + compact)
        if checked is not None:
            return TaxId(country + compact, "VAT") if checked else None
    if prefix in _EU_VAT_PREFIXES and _valid(eu_vat, compact):
        return TaxId(str(eu_vat.compact(compact)), "VAT")
    if prefix == "GB" and _valid(gb_vat, compact):
        return TaxId("GB" + str(gb_vat.compact(compact)), "VAT")
    if len(compact) == 15 and _valid(gstin, compact):
        return TaxId(compact, "GSTIN")
    if len(compact) == 10 and _valid(pan, compact):
        return TaxId(compact, "PAN")
    if country in _EU_VAT_PREFIXES and _valid(eu_vat, country + compact):
        return TaxId(str(eu_vat.compact(country + compact)), "VAT")
    if country == "GB" and _valid(gb_vat, compact):
        return TaxId("GB" + str(gb_vat.compact(compact)), "VAT")
    if country in (None, "DE"):
        if compact.isdigit() and len(compact) == 11 and _valid(de_idnr, compact):
            return TaxId(compact, "DE_IDNR")
        if country == "DE" and compact.isdigit() and _valid(de_stnr, compact):
            return TaxId(compact, "DE_STNR")
    if country == "NL" and compact.isdigit() and _valid(nl_bsn, compact):
        return TaxId(compact.zfill(9), "NL_BSN")
    if country == "GB" and compact.isdigit() and _valid(gb_utr, compact):
        return TaxId(compact, "GB_UTR")
    return None


def normalize_tax_id(raw: object, country: str | None = None) -> TaxId | None:
    """The valid :class:`TaxId` in ``raw``, or None when empty or invalid.

    ``country`` (ISO alpha-2 of the record) lets a VAT number written without its country
    prefix validate, and enables national schemes (DE Steuernummer, NL BSN, UK UTR).

    >>> normalize_tax_id("NL 0001.23.456.B01")
    TaxId(value='NL000123456B01', scheme='VAT')
    """
    if not isinstance(raw, str):
        if raw is None or isinstance(raw, float | bool):
            return None
        raw = str(raw)
    if not raw.strip() or len(raw) > 64:
        return None
    region = country.upper() if isinstance(country, str) and country else None
    return _normalize(raw, region)

"""NORMALIZE stage of the matching engine: canonical customers in, matching keys out.

The entry point is :func:`normalize_frame` (batch -> :class:`NormalizedFrame`;
:func:`normalize_batches` runs it over many batches on several cores,
:func:`normalize_records` over all records of a run in chunks, as one frame); the pure
per-value normalizers are exported for reuse and tests. Contract and reference tables:
docs/matching/normalize.md.
"""

from __future__ import annotations

from crmhub_dedupe.normalize.addresses import (
    expand_street,
    normalize_house_number,
    split_house_number,
)
from crmhub_dedupe.normalize.chunked import (
    Workers,
    available_cpus,
    normalize_chunks,
    normalize_records,
    resolve_workers,
)
from crmhub_dedupe.normalize.countries import country_to_iso
from crmhub_dedupe.normalize.dates import normalize_birth_date
from crmhub_dedupe.normalize.emails import normalize_email
from crmhub_dedupe.normalize.errors import NormalizeInputError
from crmhub_dedupe.normalize.frame import (
    FRAME_COLUMNS,
    MATCHING_COLUMNS,
    TUPLE_COLUMNS,
    NormalizedFrame,
    normalize_frame,
)
from crmhub_dedupe.normalize.issues import ISSUE_CODES, IssueCode, count_by_reason, severity
from crmhub_dedupe.normalize.names import PersonName, parse_person_name
from crmhub_dedupe.normalize.nicknames import canonical_given
from crmhub_dedupe.normalize.organizations import strip_legal_form
from crmhub_dedupe.normalize.parallel import normalize_batches
from crmhub_dedupe.normalize.phones import normalize_phone
from crmhub_dedupe.normalize.postcodes import normalize_postcode, postcode_check
from crmhub_dedupe.normalize.taxids import TaxId, normalize_tax_id
from crmhub_dedupe.normalize.text import fold, german_fold
from crmhub_dedupe.normalize.transliterate import transliterate

__all__ = [
    "FRAME_COLUMNS",
    "ISSUE_CODES",
    "MATCHING_COLUMNS",
    "TUPLE_COLUMNS",
    "IssueCode",
    "NormalizeInputError",
    "NormalizedFrame",
    "PersonName",
    "TaxId",
    "Workers",
    "available_cpus",
    "canonical_given",
    "count_by_reason",
    "country_to_iso",
    "expand_street",
    "fold",
    "german_fold",
    "normalize_batches",
    "normalize_birth_date",
    "normalize_chunks",
    "normalize_email",
    "normalize_frame",
    "normalize_house_number",
    "normalize_phone",
    "normalize_postcode",
    "normalize_records",
    "normalize_tax_id",
    "parse_person_name",
    "postcode_check",
    "resolve_workers",
    "severity",
    "split_house_number",
    "strip_legal_form",
    "transliterate",
]

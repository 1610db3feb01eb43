"""Email addresses: normalized (lower case, trimmed, ``mailto:`` and display names removed)
and validated with email-validator's syntax rules (no DNS look-up).

email-validator costs ~100 µs a call, so a plain ASCII address (dot-atom local part, LDH
domain labels, alphabetic top-level domain, within the length limits, not a special-use
domain) is accepted by a regular expression that accepts nothing email-validator rejects;
everything else goes through ``email_validator.validate_email``, cached per distinct value.
"""

from __future__ import annotations

import functools
import re

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email

_LOCAL_RE = re.compile(r"[a-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}")
_DOMAIN_RE = re.compile(r"(?:[a-z0-9-]{1,63}\.)+[a-z]{2,63}")
_DISPLAY_RE = re.compile(r"^[^<>]*<([^<>]+)>\s*$")
# email-validator's special-use names are all single top-level labels
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)


def _plain_ok(address: str) -> bool:
    """True only for addresses email-validator accepts as they are (see module docstring)."""
    local, at, domain = address.partition("@")
    if not at or len(address) > 254 or len(domain) > 253:
        return False
    if _LOCAL_RE.fullmatch(local) is None or _DOMAIN_RE.fullmatch(domain) is None:
        return False
    if local[0] == "." or local[-1] == "." or ".." in local:
        return False
    # labels must not start or end with "-"; "xn--" labels need the IDNA checks
    if domain[0] == "-" or "-." in domain or ".-" in domain or "--" in domain:
        return False
    return domain[domain.rfind(".") + 1 :] not in _SPECIAL_USE


@functools.lru_cache(maxsize=262144)
def _normalize(text: str) -> str | None:
    address = text.strip().lower()
    if "<" in address:
        display = _DISPLAY_RE.match(address)
        if display:
            address = display.group(1).strip()
    if address.startswith("mailto:"):
        address = address[7:].split("?", 1)[0]
    if address[-1:] in (";", ","):
        address = address.rstrip(";,").strip()
    if address.isascii() and _plain_ok(address):
        return address
    try:
        result = validate_email(address, check_deliverability=False)
    except EmailNotValidError:
        return None
    except (ValueError, TypeError, UnicodeError):  # pathological input must not stop a batch
        return None
    return str(result.normalized).lower()


def normalize_email(raw: object) -> str | None:
    """Normalized address ("Jan.Jansen@Example.COM" -> "jan.jansen@example.com") or None.

    None means empty or invalid; the local part is lower-cased too (mail systems treat it
    case-insensitively in practice, and matching needs one spelling). Never raises.

    >>> normalize_email(" Jan Jansen <Jan.Jansen@Example.COM> ")
    'jan.jansen@example.com'
    """
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 512:
        return None
    return _normalize(raw)


def normalize_emails(raws: list[object]) -> list[str | None]:
    """:func:`normalize_email` over a list (one pass; plain addresses never leave the loop)."""
    out: list[str | None] = []
    append = out.append
    local_ok = _LOCAL_RE.fullmatch
    domain_ok = _DOMAIN_RE.fullmatch
    special = _SPECIAL_USE
    for raw in raws:
        if not isinstance(raw, str) or len(raw) > 512:
            append(None)
            continue
        address = raw.strip().lower()
        local, at, domain = address.partition("@")
        if (
            at
            and local
            and domain
            and len(address) <= 254
            and local_ok(local) is not None
            and domain_ok(domain) is not None
            and local[0] != "."
            and local[-1] != "."
            and ".." not in local
            and domain[0] != "-"
            and "-." not in domain
            and ".-" not in domain
            and "--" not in domain
            and domain[domain.rfind(".") + 1 :] not in special
        ):
            append(address)
        else:
            append(normalize_email(raw))
    return out

"""UI text in one place, per language, so the app can be translated (English first)."""

from __future__ import annotations

import os

CATALOGS: dict[str, dict[str, str]] = {
    "en": {
        "app": "crmhub steward",
        "queue": "Review queue",
        "search": "Search",
        "runs": "Runs",
        "quarantine": "Quarantine",
        "users": "Users",
        "logout": "Log out",
        "login": "Log in",
        "username": "User name",
        "password": "Password",
        "approve": "Approve (merge)",
        "reject": "Reject (keep apart)",
        "skip": "Skip",
        "undo": "Undo my last decision",
        "split": "Split selected records into a new golden record",
        "why": "Why these records scored as they did",
        "no_candidates": "Nothing to review with these filters.",
        "keys_candidate": "Keys: a approve, r reject, s skip.",
        "keys_queue": "Keys: j/k move, Enter open.",
        "bulk": "Decide every candidate matching these filters",
        "confirm": "I have checked the filtered list",
        "members": "Member records",
        "surviving": "Surviving values",
        "history": "History",
        "override": "Keep this value",
        "skip_to_content": "Skip to content",
    },
    "nl": {
        "queue": "Beoordelingswachtrij",
        "search": "Zoeken",
        "logout": "Afmelden",
        "login": "Aanmelden",
        "username": "Gebruikersnaam",
        "password": "Wachtwoord",
        "approve": "Goedkeuren (samenvoegen)",
        "reject": "Afwijzen (gescheiden houden)",
        "skip": "Overslaan",
    },
}


def translator(language: str | None = None) -> dict[str, str]:
    """The catalog for ``language`` (or $CRMHUB_LANG), falling back to English per string."""
    lang = (language or os.environ.get("CRMHUB_LANG") or "en").split("_")[0].lower()
    return {**CATALOGS["en"], **CATALOGS.get(lang, {})}

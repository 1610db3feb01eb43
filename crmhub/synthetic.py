"""Synthetic international customer data with known truth, for the demo and the benchmarks.

The generator makes *entities* (persons and organizations from the Netherlands, Germany,
India and Great Britain) and renders each as one or more canonical customer records
(docs/canonical-model.md), the way real sources get them wrong: typos, nicknames
(Johannes/Jan, Robert/Bob, Friedrich/Fritz), given and family name swapped, names in
Devanagari, umlauts written out, legal-form variants ("Jansen B.V." / "Jansen BV" /
"JANSEN b.v."), phone formats (06-12345678 / +31 6 1234 5678 / 0031612345678), email case,
missing fields, moved customers with a new address, married name changes.

It also makes the records that must *not* be merged: family members at one address (same
family name, address and landline, another given name and birth date), namesakes in other
cities, company branches (same name and website, another address), and garbage (invalid
emails, phones and tax ids, empty records), each its own entity.

Everything is drawn from seeded generators: the same arguments give the same records. Faker
is called only to fill small pools of names, streets and cities once; records are combined
from the pools, so a million records take seconds, not minutes.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, TypeVar

from faker import Faker

__all__ = [
    "LOCALES",
    "GeneratedSet",
    "PairwiseScore",
    "generate",
    "generate_records",
    "pairwise_score",
    "split_sources",
    "true_pairs",
]

LOCALES: tuple[str, ...] = ("nl_NL", "de_DE", "en_IN", "en_GB")
_T = TypeVar("_T")
_COUNTRY = {"nl_NL": "NL", "de_DE": "DE", "en_IN": "IN", "en_GB": "GB"}
_LANGUAGE = {"nl_NL": "nl", "de_DE": "de", "en_IN": "hi", "en_GB": "en"}
_POOL_SIZE = 400

# Common Indian names in Latin and Devanagari, with the Latin spellings sources use.
_INDIAN_GIVEN_MALE = {
    "Rahul": "राहुल", "Amit": "अमित", "Rajesh": "राजेश", "Suresh": "सुरेश", "Ramesh": "रमेश",
    "Deepak": "दीपक", "Vijay": "विजय", "Sanjay": "संजय", "Arjun": "अर्जुन", "Rohan": "रोहन",
    "Vikram": "विक्रम", "Ravi": "रवि", "Manoj": "मनोज", "Ashok": "अशोक", "Ajay": "अजय",
    "Rajendra": "राजेंद्र", "Srinivas": "श्रीनिवास", "Venkatesh": "वेंकटेश",
}  # fmt: skip
_INDIAN_GIVEN_FEMALE = {
    "Priya": "प्रिया", "Anjali": "अंजलि", "Sunita": "सुनीता", "Pooja": "पूजा", "Neha": "नेहा",
    "Anita": "अनीता", "Kavita": "कविता", "Lakshmi": "लक्ष्मी", "Meena": "मीना", "Geeta": "गीता",
    "Shreya": "श्रेया", "Divya": "दिव्या",
}  # fmt: skip
_INDIAN_FAMILY = {
    "Sharma": "शर्मा", "Verma": "वर्मा", "Gupta": "गुप्ता", "Singh": "सिंह", "Kumar": "कुमार",
    "Patel": "पटेल", "Joshi": "जोशी", "Mishra": "मिश्रा", "Yadav": "यादव", "Agarwal": "अग्रवाल",
    "Shah": "शाह", "Mehta": "मेहता", "Reddy": "रेड्डी", "Iyer": "अय्यर", "Chauhan": "चौहान",
    "Pandey": "पांडे", "Tiwari": "तिवारी", "Srivastava": "श्रीवास्तव", "Jain": "जैन",
    "Kapoor": "कपूर",
}  # fmt: skip
_INDIAN_GIVEN = {**_INDIAN_GIVEN_MALE, **_INDIAN_GIVEN_FEMALE}
_INDIAN_GIVEN_MALE_LIST = list(_INDIAN_GIVEN_MALE)
_INDIAN_GIVEN_FEMALE_LIST = list(_INDIAN_GIVEN_FEMALE)
_INDIAN_FAMILY_LIST = list(_INDIAN_FAMILY)
_LATIN_VARIANTS = {
    "Agarwal": ["Aggarwal", "Agrawal"], "Srivastava": ["Shrivastava"], "Pandey": ["Pande"],
    "Lakshmi": ["Laxmi"], "Pooja": ["Puja"], "Geeta": ["Gita"], "Sunita": ["Suneeta"],
    "Reddy": ["Reddi"], "Chauhan": ["Chouhan"], "Srinivas": ["Shrinivas", "Sreenivas"],
}  # fmt: skip

# Formal given name -> the short forms sources write instead.
_NICKNAMES: dict[str, dict[str, list[str]]] = {
    "nl_NL": {
        "Johannes": ["Jan", "Hans", "Johan"], "Hendrik": ["Henk"], "Cornelis": ["Kees"],
        "Willem": ["Wim"], "Jacobus": ["Koos", "Jaap"], "Petrus": ["Piet"],
        "Theodorus": ["Theo"], "Johanna": ["Anneke", "Jo"], "Wilhelmina": ["Willy", "Mien"],
        "Catharina": ["Toos", "Katrien"], "Elisabeth": ["Els", "Lies"],
        "Margaretha": ["Greet", "Grietje"],
    },
    "de_DE": {
        "Friedrich": ["Fritz"], "Johannes": ["Hans"], "Wilhelm": ["Willi"],
        "Heinrich": ["Heinz"], "Alexander": ["Alex"], "Andreas": ["Andi"],
        "Katharina": ["Kathi", "Käthe"], "Elisabeth": ["Lisa", "Liesel"],
        "Margarete": ["Grete"], "Christina": ["Tina"], "Susanne": ["Susi"],
    },
    "en_GB": {
        "Robert": ["Bob", "Rob", "Bobby"], "William": ["Bill", "Will"], "Richard": ["Rick"],
        "James": ["Jim", "Jimmy"], "Thomas": ["Tom"], "Edward": ["Ed", "Ted"],
        "Michael": ["Mike"], "Anthony": ["Tony"], "Elizabeth": ["Liz", "Beth"],
        "Margaret": ["Maggie", "Peggy"], "Katherine": ["Kate", "Kathy"],
        "Jennifer": ["Jenny"], "Rebecca": ["Becky"],
    },
    "en_IN": {
        "Rajendra": ["Raju"], "Srinivas": ["Srini"], "Venkatesh": ["Venky"],
        "Ramesh": ["Ramu"], "Lakshmi": ["Lakshmi"],
    },
}  # fmt: skip
_FEMALE_FORMAL = {
    "Johanna", "Wilhelmina", "Catharina", "Elisabeth", "Margaretha", "Katharina", "Margarete",
    "Christina", "Susanne", "Elizabeth", "Margaret", "Katherine", "Jennifer", "Rebecca",
    "Lakshmi",
}  # fmt: skip

# Legal forms: the canonical spelling, then what sources write.
_LEGAL_FORMS: dict[str, list[list[str]]] = {
    "nl_NL": [["B.V.", "BV", "b.v.", "B.V"], ["N.V.", "NV"], ["V.O.F.", "VOF", "vof"]],
    "de_DE": [["GmbH", "Gmbh", "GMBH"], ["AG"], ["GmbH & Co. KG", "GmbH & Co KG"], ["e.K."]],
    "en_IN": [["Pvt. Ltd.", "Private Limited", "Pvt Ltd"], ["Ltd.", "Limited"], ["LLP"]],
    "en_GB": [["Ltd", "Limited", "Ltd."], ["PLC", "plc"], ["LLP"]],
}
_SECTORS: dict[str, list[str]] = {
    "nl_NL": ["Bouw", "Installatietechniek", "Transport", "Bakkerij", "Advies", "Metaal"],
    "de_DE": ["Bau", "Logistik", "Maschinenbau", "Elektrotechnik", "Beratung", "Bäckerei"],
    "en_IN": ["Textiles", "Traders", "Infotech", "Pharma", "Exports", "Engineering"],
    "en_GB": ["Builders", "Consulting", "Logistics", "Engineering", "Bakery", "Motors"],
}
_EMAIL_DOMAINS: dict[str, list[str]] = {
    "nl_NL": ["gmail.com", "hotmail.nl", "ziggo.nl", "kpnmail.nl", "outlook.com", "xs4all.nl"],
    "de_DE": ["gmail.com", "web.de", "gmx.de", "t-online.de", "outlook.de", "posteo.de"],
    "en_IN": ["gmail.com", "yahoo.co.in", "rediffmail.com", "outlook.com", "hotmail.com"],
    "en_GB": ["gmail.com", "btinternet.com", "outlook.com", "yahoo.co.uk", "sky.com"],
}
_PARTICLES = ["van", "de", "van der", "van den", "van de", "ter", "den"]
_STREET_ABBREV = [("straße", "str."), ("Straße", "Str."), ("straat", "str."),
                  ("Street", "St"), ("Road", "Rd"), ("laan", "ln")]  # fmt: skip
_PREFIXES = {
    "nl_NL": (["Dhr.", "de heer"], ["Mevr.", "mevrouw"]),
    "de_DE": (["Herr", "Hr."], ["Frau", "Fr."]),
    "en_IN": (["Shri", "Mr."], ["Smt.", "Ms."]),
    "en_GB": (["Mr", "Mr."], ["Mrs", "Ms"]),
}
_GARBAGE_EMAILS = ["n/a", "geen", "keine@", "test@test", "x@@example.com", "-", "none"]
_GARBAGE_PHONES = ["000", "12", "0000000000", "n/a", "+00 0", "123"]
_GARBAGE_TAX = ["NL000000000B00", "DE000000000", "XX123", "GSTIN?", "0"]


@dataclass(frozen=True)
class GeneratedSet:
    """Records (canonical dicts with ``record_id``, ``source``, ``updated_at``) and truth.

    ``truth`` maps every record id to the id of the entity it describes.
    """

    records: list[dict[str, Any]]
    truth: dict[str, str]

    @property
    def n_entities(self) -> int:
        """How many distinct entities the records describe."""
        return len(set(self.truth.values()))


@dataclass(frozen=True)
class PairwiseScore:
    """Pairwise precision, recall and F1 of a clustering against the truth."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    predicted_pairs: int
    true_pairs: int


@dataclass(slots=True)
class _Entity:
    entity_id: str
    locale: str
    kind: str
    female: bool = False
    given: str = ""
    family: str = ""
    particle: str = ""
    devanagari: tuple[str, str] | None = None
    org_base: str = ""
    legal_form: int = 0
    street: str = ""
    house_number: str = ""
    postal_code: str = ""
    city: str = ""
    region: str = ""
    moved_to: tuple[str, str, str, str, str] | None = None
    birth_date: str = ""
    mobile: str = ""
    landline: str = ""
    email: str = ""
    website: str = ""
    tax_id: str = ""
    married_family: str = ""
    created: datetime = field(default_factory=lambda: datetime(2020, 1, 1))


class _Pools:
    """Names, streets and places per locale, drawn from Faker once."""

    def __init__(self, locales: Sequence[str], seed: int) -> None:
        self.male: dict[str, list[str]] = {}
        self.female: dict[str, list[str]] = {}
        self.family: dict[str, list[str]] = {}
        self.streets: dict[str, list[str]] = {}
        self.places: dict[str, list[tuple[str, str, str]]] = {}
        # Emails, phone numbers and web domains belong to one customer in real life: the
        # generator never hands the same one to two entities (except households and
        # branches, which share a landline or a domain on purpose).
        self.used: set[str] = set()
        for i, loc in enumerate(locales):
            fake = Faker(loc)
            fake.seed_instance(seed * 7919 + i)
            male = _unique(fake.first_name_male() for _ in range(_POOL_SIZE))
            female = _unique(fake.first_name_female() for _ in range(_POOL_SIZE))
            family = _unique(fake.last_name() for _ in range(_POOL_SIZE * 2))
            if loc == "en_IN":
                male += list(_INDIAN_GIVEN_MALE) * 3
                female += list(_INDIAN_GIVEN_FEMALE) * 3
                family += list(_INDIAN_FAMILY) * 4
            formal = list(_NICKNAMES.get(loc, {}))
            male += [n for n in formal if n not in _FEMALE_FORMAL] * 2
            female += [n for n in formal if n in _FEMALE_FORMAL] * 2
            self.male[loc], self.female[loc], self.family[loc] = male, female, family
            self.streets[loc] = _unique(fake.street_name() for _ in range(_POOL_SIZE))
            self.places[loc] = [("", fake.city(), _region(fake, loc)) for _ in range(_POOL_SIZE)]


def generate(
    n_entities: int,
    *,
    seed: int = 0,
    duplicate_rate: float = 0.35,
    locales: Sequence[str] = LOCALES,
    organization_share: float = 0.2,
    household_share: float = 0.08,
    namesake_share: float = 0.03,
    garbage_share: float = 0.01,
) -> GeneratedSet:
    """Generate ``n_entities`` entities rendered as messy customer records, with the truth.

    ``duplicate_rate`` is the share of entities that appear more than once (1 to 4 extra
    records, in other sources or as re-entries). Households, namesakes and company branches
    are drawn as separate entities that look alike. Record ids are ``r`` + a number; all
    records carry ``source="synthetic"`` until :func:`split_sources` spreads them.
    """
    if n_entities < 0:
        raise ValueError(f"n_entities must be >= 0, got {n_entities}")
    return _generate(
        n_entities,
        None,
        seed=seed,
        duplicate_rate=duplicate_rate,
        locales=locales,
        shares=(organization_share, household_share, namesake_share, garbage_share),
    )


def generate_records(
    n_records: int,
    *,
    seed: int = 0,
    duplicate_rate: float = 0.35,
    locales: Sequence[str] = LOCALES,
    organization_share: float = 0.2,
    household_share: float = 0.08,
    namesake_share: float = 0.03,
    garbage_share: float = 0.01,
) -> GeneratedSet:
    """Like :func:`generate`, but stop at exactly ``n_records`` records (for benchmarks)."""
    if n_records < 0:
        raise ValueError(f"n_records must be >= 0, got {n_records}")
    return _generate(
        None,
        n_records,
        seed=seed,
        duplicate_rate=duplicate_rate,
        locales=locales,
        shares=(organization_share, household_share, namesake_share, garbage_share),
    )


def _generate(
    n_entities: int | None,
    n_records: int | None,
    *,
    seed: int,
    duplicate_rate: float,
    locales: Sequence[str],
    shares: tuple[float, float, float, float],
) -> GeneratedSet:
    unknown = [loc for loc in locales if loc not in _COUNTRY]
    if unknown or not locales:
        raise ValueError(f"unsupported locales {unknown}; choose from {list(LOCALES)}")
    for name, value in zip(
        ("duplicate_rate", "organization_share", "household_share", "namesake_share",
         "garbage_share"),
        (duplicate_rate, *shares),
        strict=True,
    ):  # fmt: skip
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be within 0..1, got {value}")
    organization_share, household_share, namesake_share, garbage_share = shares
    rnd = random.Random(seed)
    pools = _Pools(locales, seed)
    records: list[dict[str, Any]] = []
    truth: dict[str, str] = {}
    entities: list[_Entity] = []
    made = 0
    while (n_entities is None or made < n_entities) and (
        n_records is None or len(records) < n_records
    ):
        roll = rnd.random()
        base = entities[_below(rnd, len(entities))] if entities else None
        if base is not None and roll < household_share and base.kind == "person":
            entity = _household_member(base, made, pools, rnd)
        elif base is not None and roll < household_share + namesake_share:
            entity = _namesake(base, made, pools, rnd)
        elif rnd.random() < garbage_share:
            entity = _Entity(entity_id=f"e{made}", locale=_pick(rnd, locales), kind="garbage")
        else:
            entity = _new_entity(made, _pick(rnd, locales), organization_share, pools, rnd)
        entities.append(entity)
        made += 1
        copies = 1
        if entity.kind != "garbage" and rnd.random() < duplicate_rate:
            copies += 1 + min(3, int(rnd.expovariate(1.3)))
            if entity.kind == "person" and rnd.random() < 0.12:
                entity.moved_to = _address(entity.locale, pools, rnd)
            if entity.kind == "person" and entity.female and rnd.random() < 0.06:
                entity.married_family = _pick(rnd, pools.family[entity.locale])
        if n_records is not None:
            copies = min(copies, n_records - len(records))
        for copy in range(copies):
            rid = f"r{len(records):07d}"
            record = _render(entity, copy, rnd, pools)
            record["record_id"] = rid
            record["source"] = "synthetic"
            records.append(record)
            truth[rid] = entity.entity_id
    return GeneratedSet(records=records, truth=truth)


def true_pairs(truth: Mapping[str, str]) -> set[tuple[str, str]]:
    """Every unordered pair of record ids (smaller id first) that describe one entity."""
    by_entity: dict[str, list[str]] = {}
    for rid, eid in truth.items():
        by_entity.setdefault(eid, []).append(rid)
    pairs: set[tuple[str, str]] = set()
    for rids in by_entity.values():
        rids.sort()
        for i, a in enumerate(rids):
            for b in rids[i + 1 :]:
                pairs.add((a, b))
    return pairs


def pairwise_score(predicted: Mapping[str, Any], truth: Mapping[str, str]) -> PairwiseScore:
    """Pairwise precision/recall/F1 of ``predicted`` (record id -> cluster) against truth.

    Counted from cluster sizes, without listing pairs, so it is cheap for a million records.
    Records missing from ``predicted`` count as singletons.
    """

    def pairs_in(counter: Counter[Any]) -> int:
        return sum(c * (c - 1) // 2 for c in counter.values())

    pred = Counter(predicted.get(r, ("__single__", r)) for r in truth)
    true = Counter(truth.values())
    both = Counter((predicted.get(r, ("__single__", r)), e) for r, e in truth.items())
    tp, n_pred, n_true = pairs_in(both), pairs_in(pred), pairs_in(true)
    precision = tp / n_pred if n_pred else 1.0
    recall = tp / n_true if n_true else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return PairwiseScore(precision, recall, f1, tp, n_pred, n_true)


def split_sources(
    data: GeneratedSet,
    sources: Sequence[str] = ("erp", "webshop", "crm", "legacy"),
    *,
    seed: int = 0,
) -> dict[str, list[dict[str, Any]]]:
    """Spread records over ``sources``, each restyled the way that kind of system writes.

    Duplicates of one entity tend to land in different sources. Known styles: ``erp``
    (legal form in its own field, tax ids kept), ``webshop`` (lower-case emails, no tax
    ids, no organization legal form), ``legacy`` (UPPER CASE names, one full-name field,
    national phone numbers), anything else as generated. Record ids stay the same.
    """
    if not sources:
        raise ValueError("split_sources needs at least one source name")
    rnd = random.Random(seed)
    out: dict[str, list[dict[str, Any]]] = {s: [] for s in sources}
    last_source: dict[str, int] = {}
    for record in data.records:
        eid = data.truth[record["record_id"]]
        pick = _below(rnd, len(sources))
        if eid in last_source and pick == last_source[eid] and len(sources) > 1:
            pick = (pick + 1 + _below(rnd, len(sources) - 1)) % len(sources)
        last_source[eid] = pick
        name = sources[pick]
        styled = _restyle(dict(record), name)
        styled["source"] = name
        out[name].append(styled)
    return out


# --- entities ----------------------------------------------------------------------------


def _new_entity(
    number: int, locale: str, org_share: float, pools: _Pools, rnd: random.Random
) -> _Entity:
    e = _Entity(entity_id=f"e{number}", locale=locale, kind="person")
    e.street, e.house_number, e.postal_code, e.city, e.region = _address(locale, pools, rnd)
    e.created = datetime(2014, 1, 1) + timedelta(seconds=_below(rnd, 10 * 365 * 86400))
    if rnd.random() < org_share:
        e.kind = "organization"
        family = _pick(rnd, pools.family[locale])
        if rnd.random() < 0.5:
            base = f"{family} {_pick(rnd, _SECTORS[locale])}"
        elif rnd.random() < 0.5:
            base = f"{family} & {_pick(rnd, pools.family[locale])}"
        else:
            base = f"{_ascii(_pick(rnd, pools.streets[locale]).split()[0])} {family}"
        e.org_base = base
        e.legal_form = _below(rnd, len(_LEGAL_FORMS[locale]))
        e.landline = _phone_digits(locale, mobile=False, rnd=rnd, pools=pools)
        slug = _slug(base)[:20]
        while slug in pools.used:  # another company of that name has its own domain
            slug = f"{_slug(base)[:16]}{_between(rnd, 2, 999)}"
        pools.used.add(slug)
        tld = {"NL": "nl", "DE": "de", "IN": "in", "GB": "co.uk"}[_COUNTRY[locale]]
        e.website = f"www.{slug}.{tld}"
        e.email = f"{_pick(rnd, ['info', 'sales', 'contact', 'office'])}@{slug}.{tld}"
        e.tax_id = _tax_id(locale, rnd)
        return e
    e.female = rnd.random() < 0.5
    names = pools.female[locale] if e.female else pools.male[locale]
    e.given = _pick(rnd, names)
    e.family = _pick(rnd, pools.family[locale])
    if locale == "en_IN" and rnd.random() < 0.5:  # common names, known in Devanagari too
        e.given = _pick(rnd, _INDIAN_GIVEN_FEMALE_LIST if e.female else _INDIAN_GIVEN_MALE_LIST)
        e.family = _pick(rnd, _INDIAN_FAMILY_LIST)
    if locale == "nl_NL" and " " not in e.family and rnd.random() < 0.25:
        e.particle = _pick(rnd, _PARTICLES)
    if locale == "de_DE" and rnd.random() < 0.03:
        e.particle = "von"
    if locale == "en_IN":
        given_dev = _INDIAN_GIVEN.get(e.given)
        family_dev = _INDIAN_FAMILY.get(e.family)
        if given_dev and family_dev:
            e.devanagari = (given_dev, family_dev)
    birth = date(1936, 1, 1) + timedelta(days=_below(rnd, 70 * 365))
    e.birth_date = birth.isoformat()
    e.mobile = _phone_digits(locale, mobile=True, rnd=rnd, pools=pools)
    if rnd.random() < 0.3:
        e.landline = _phone_digits(locale, mobile=False, rnd=rnd, pools=pools)
    e.email = _person_email(e.given, e.family, locale, rnd, pools)
    return e


def _household_member(base: _Entity, number: int, pools: _Pools, rnd: random.Random) -> _Entity:
    """Same family name, address and landline; another given name, birth date, email."""
    e = _Entity(entity_id=f"e{number}", locale=base.locale, kind="person")
    e.female = rnd.random() < 0.5
    names = pools.female[base.locale] if e.female else pools.male[base.locale]
    e.given = _pick(rnd, [n for n in names[:50] if n != base.given] or names)
    e.family, e.particle = base.family, base.particle
    e.street, e.house_number, e.postal_code, e.city, e.region = (
        base.street, base.house_number, base.postal_code, base.city, base.region,
    )  # fmt: skip
    if not base.landline:
        base.landline = _phone_digits(base.locale, mobile=False, rnd=rnd, pools=pools)
    e.landline = base.landline
    born = date.fromisoformat(base.birth_date or "1970-01-01")
    e.birth_date = _clamp_birth(
        born + timedelta(days=_pick(rnd, [-1, 1]) * _below(rnd, 300, 12000))
    ).isoformat()
    e.mobile = (
        _phone_digits(base.locale, mobile=True, rnd=rnd, pools=pools) if rnd.random() < 0.7 else ""
    )
    e.email = (
        _person_email(e.given, e.family, base.locale, rnd, pools) if rnd.random() < 0.7 else ""
    )
    e.created = base.created + timedelta(days=_below(rnd, 1, 900))
    return e


def _clamp_birth(born: date) -> date:
    """Family members are adults or teenagers born 1930-2008, never in the future."""
    low, high = date(1930, 1, 1), date(2008, 12, 31)
    if born < low:
        return low + (low - born)
    if born > high:
        return high - (born - high) % timedelta(days=20 * 365)
    return born


def _namesake(base: _Entity, number: int, pools: _Pools, rnd: random.Random) -> _Entity:
    """Same name (or company name) in another city: another person, another branch."""
    e = _new_entity(number, base.locale, 0.0 if base.kind == "person" else 1.0, pools, rnd)
    if base.kind == "person":
        e.given, e.family, e.particle, e.female = (
            base.given,
            base.family,
            base.particle,
            base.female,
        )
        e.devanagari = base.devanagari
        e.email = _person_email(e.given, e.family, e.locale, rnd, pools)
    elif base.kind == "organization":
        # A branch: same name, legal form and website, its own address, phone and mailbox.
        e.org_base, e.legal_form, e.website = base.org_base, base.legal_form, base.website
        domain = base.website.removeprefix("www.")
        mailbox = _slug(e.city)[:12]
        while f"{mailbox}@{domain}" in pools.used:
            mailbox = f"{_slug(e.city)[:12]}{_between(rnd, 2, 99)}"
        e.email = f"{mailbox}@{domain}"
        pools.used.add(e.email)
        e.tax_id = ""
    return e


# --- rendering ---------------------------------------------------------------------------


def _render(e: _Entity, copy: int, rnd: random.Random, pools: _Pools) -> dict[str, Any]:
    """One source record of entity ``e``; copy 0 is the cleanest, later copies are messier."""
    if e.kind == "garbage":
        return _garbage(e, rnd, pools)
    noisy = copy > 0
    rec: dict[str, Any] = {"kind": e.kind}
    created = e.created + timedelta(days=_below(rnd, 0, 400) if noisy else 0)
    updated = created + timedelta(days=_below(rnd, 0, 700), seconds=_below(rnd, 86400))
    address = (e.street, e.house_number, e.postal_code, e.city, e.region)
    if e.moved_to is not None and noisy and rnd.random() < 0.6:
        address = e.moved_to
        updated += timedelta(days=800)
    family = e.family
    if e.married_family and noisy and rnd.random() < 0.6:
        family = e.married_family
        updated += timedelta(days=500)
    rec["created_at"] = created.isoformat(timespec="seconds") + "Z"
    rec["updated_at"] = updated.isoformat(timespec="seconds") + "Z"
    if e.kind == "organization":
        _render_org(rec, e, noisy, rnd)
    else:
        _render_person(rec, e, family, noisy, rnd)
    if not (noisy and rnd.random() < 0.12):
        rec["addresses"] = [_render_address(address, e.locale, noisy, rnd)]
    phones = []
    for digits in (e.mobile, e.landline):
        if digits and not (noisy and rnd.random() < 0.2):
            phones.append(_format_phone(digits, e.locale, rnd))
    if phones:
        rec["phones"] = phones
    if e.email and not (noisy and rnd.random() < 0.15):
        email = e.email
        if rnd.random() < 0.25:
            email = email.upper() if rnd.random() < 0.3 else email.title()
        rec["emails"] = [email]
        if noisy and e.kind == "person" and rnd.random() < 0.08:
            rec["emails"].append(_person_email(e.given, family, e.locale, rnd, pools))
    if e.tax_id and not (noisy and rnd.random() < 0.3):
        rec["tax_ids"] = [_format_tax(e.tax_id, rnd)]
    if e.website and not (noisy and rnd.random() < 0.3):
        rec["website"] = e.website if rnd.random() < 0.6 else "https://" + e.website
    rec["language"] = _LANGUAGE[e.locale]
    if rnd.random() < 0.3:
        rec["tags"] = [_pick(rnd, ["newsletter", "vip", "b2b", "retail", "prospect"])]
    if rnd.random() < 0.5:
        rec["consent_email"] = rnd.random() < 0.6
    return rec


def _render_person(
    rec: dict[str, Any], e: _Entity, family: str, noisy: bool, rnd: random.Random
) -> None:
    given = e.given
    if noisy and rnd.random() < 0.25:
        nick = _NICKNAMES.get(e.locale, {}).get(given)
        if nick:
            given = _pick(rnd, nick)
    if e.locale == "en_IN":
        given = _variant(given, rnd) if noisy else given
        family = _variant(family, rnd) if noisy else family
    if noisy and rnd.random() < 0.12:
        if rnd.random() < 0.5:
            given = _typo(given, rnd)
        else:
            family = _typo(family, rnd)
    if e.locale == "de_DE" and rnd.random() < 0.2:
        given, family = _umlauts_out(given), _umlauts_out(family)
    if e.devanagari and family == e.family and rnd.random() < (0.35 if noisy else 0.1):
        given_dev, family_dev = e.devanagari
        given = given_dev if given in (e.given, *_LATIN_VARIANTS.get(e.given, [])) else given
        family = family_dev
    if noisy and rnd.random() < 0.05:
        given, family = family, given
    if noisy and rnd.random() < 0.2:
        parts = [p for p in (given, e.particle, family) if p]
        rec["full_name"] = (
            f"{e.particle + ' ' if e.particle else ''}{family}, {given}"
            if rnd.random() < 0.3
            else " ".join(parts)
        )
    else:
        rec["given_name"] = given
        rec["family_name"] = family
        if e.particle:
            rec["name_particle"] = e.particle
    if rnd.random() < 0.3:
        male, female = _PREFIXES[e.locale]
        rec["name_prefix"] = _pick(rnd, female if e.female else male)
    if e.birth_date and not (noisy and rnd.random() < 0.25):
        born = e.birth_date
        if noisy and rnd.random() < 0.04:  # day and month swapped on entry
            y, m, d = born.split("-")
            if int(d) <= 12:
                born = f"{y}-{d}-{m}"
        rec["birth_date"] = born


def _render_org(rec: dict[str, Any], e: _Entity, noisy: bool, rnd: random.Random) -> None:
    forms = _LEGAL_FORMS[e.locale][e.legal_form]
    form = _pick(rnd, forms) if noisy else forms[0]
    base = e.org_base
    if noisy and rnd.random() < 0.1:
        base = _typo(base, rnd)
    if e.locale == "de_DE" and rnd.random() < 0.2:
        base = _umlauts_out(base)
    if rnd.random() < 0.2:
        rec["organization_name"] = base
        rec["legal_form"] = form
    else:
        name = f"{base} {form}"
        rec["organization_name"] = name.upper() if noisy and rnd.random() < 0.15 else name


def _render_address(
    address: tuple[str, str, str, str, str], locale: str, noisy: bool, rnd: random.Random
) -> dict[str, Any]:
    street, number, postal, city, region = address
    if noisy and rnd.random() < 0.3:
        for long, short in _STREET_ABBREV:
            if street.endswith(long):
                street = street[: -len(long)] + short
                break
    if locale == "nl_NL" and rnd.random() < 0.4:
        postal = postal.replace(" ", "")
    if locale == "de_DE" and rnd.random() < 0.2:
        street = _umlauts_out(street)
    if noisy and rnd.random() < 0.05:
        city = city.upper()
    out: dict[str, Any] = {
        "street": street,
        "house_number": number,
        "postal_code": postal,
        "city": city,
        "country": _COUNTRY[locale]
        if rnd.random() < 0.85
        else {"NL": "Nederland", "DE": "Deutschland", "IN": "India", "GB": "United Kingdom"}[
            _COUNTRY[locale]
        ],
        "type": "billing" if rnd.random() < 0.5 else "home",
    }
    if region and rnd.random() < 0.5:
        out["region"] = region
    if noisy and rnd.random() < 0.15:
        out["street"] = f"{street} {number}"
        del out["house_number"]
    return out


def _garbage(e: _Entity, rnd: random.Random, pools: _Pools) -> dict[str, Any]:
    rec: dict[str, Any] = {"updated_at": "2023-01-01T00:00:00Z"}
    roll = rnd.random()
    if roll < 0.3:
        return rec  # an empty record: only keys
    rec["kind"] = "person"
    if roll < 0.6:
        rec["family_name"] = _pick(rnd, ["?", "xxx", "test", "n.v.t.", "unbekannt"])
    rec["emails"] = [_pick(rnd, _GARBAGE_EMAILS)]
    rec["phones"] = [_pick(rnd, _GARBAGE_PHONES)]
    if rnd.random() < 0.5:
        rec["tax_ids"] = [_pick(rnd, _GARBAGE_TAX)]
    if rnd.random() < 0.5:
        rec["birth_date"] = _pick(rnd, ["1900-01-01", "2999-12-31", "31-02-1980", ""])
    return rec


def _restyle(rec: dict[str, Any], source: str) -> dict[str, Any]:
    if source == "legacy":
        parts = [rec.pop(k, "") for k in ("given_name", "name_particle", "family_name")]
        if any(parts) and "full_name" not in rec:
            rec["full_name"] = " ".join(p for p in parts if p)
        for key in ("full_name", "organization_name"):
            if rec.get(key):
                rec[key] = rec[key].upper()
        rec["phones"] = [_national(p) for p in rec.get("phones", [])]
    elif source == "webshop":
        rec["emails"] = [m.lower() for m in rec.get("emails", [])]
        rec.pop("tax_ids", None)
        if rec.get("legal_form"):
            rec.pop("legal_form")
    elif source == "erp" and rec.get("organization_name") and not rec.get("legal_form"):
        for locale_forms in _LEGAL_FORMS.values():
            for variants in locale_forms:
                for form in variants:
                    name = rec["organization_name"]
                    if name.endswith(" " + form):
                        rec["organization_name"] = name[: -len(form) - 1]
                        rec["legal_form"] = variants[0]
                        return rec
    return {k: v for k, v in rec.items() if v not in (None, [], "")}


# --- small value makers ------------------------------------------------------------------


# random.Random's randrange/choice check their arguments on every call; these draws are
# several times faster and just as deterministic for a given seed.
def _below(rnd: random.Random, n: int, stop: int | None = None) -> int:
    if stop is not None:
        return n + int(rnd.random() * (stop - n))
    return int(rnd.random() * n)


def _between(rnd: random.Random, low: int, high: int) -> int:
    return low + int(rnd.random() * (high - low + 1))


def _pick(rnd: random.Random, seq: Sequence[_T]) -> _T:
    return seq[int(rnd.random() * len(seq))]


def _unique(values: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def _region(fake: Faker, locale: str) -> str:
    for attr in ("state", "province", "county"):
        if hasattr(fake, attr):
            return str(getattr(fake, attr)())
    return ""


def _address(locale: str, pools: _Pools, rnd: random.Random) -> tuple[str, str, str, str, str]:
    _, city, region = _pick(rnd, pools.places[locale])
    number = str(_between(rnd, 1, 250))
    if rnd.random() < 0.1:
        number += _pick(rnd, ["a", "b", "-2", " A"])
    return _pick(rnd, pools.streets[locale]), number, _postcode(locale, rnd), city, region


_LETTERS = "ABCDEFGHJKLMNPRSTUVWXYZ"


def _postcode(locale: str, rnd: random.Random) -> str:
    """A postal code in the country's format; a city has many, as in real life."""
    country = _COUNTRY[locale]
    if country == "NL":
        return f"{_between(rnd, 1000, 9999)} {_pick(rnd, _LETTERS)}{_pick(rnd, _LETTERS)}"
    if country == "DE":
        return f"{_between(rnd, 1067, 99998):05d}"
    if country == "IN":
        return str(_between(rnd, 110001, 855999))
    area = _pick(rnd, ["B", "M", "L", "E", "N", "W", "SW", "SE", "LS", "BS", "CF", "EH"])
    inward = f"{_below(rnd, 10)}{_pick(rnd, _LETTERS)}{_pick(rnd, _LETTERS)}"
    return f"{area}{_between(rnd, 1, 29)} {inward}"


@lru_cache(maxsize=65536)
def _ascii(text: str) -> str:
    text = text.replace("ß", "ss").replace("ä", "ae").replace("ö", "oe").replace("ü", "ue")
    text = text.replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if ord(ch) < 128)


@lru_cache(maxsize=65536)
def _slug(text: str) -> str:
    return "".join(ch for ch in _ascii(text).lower() if ch.isalnum()) or "x"


@lru_cache(maxsize=65536)
def _umlauts_out(text: str) -> str:
    return (
        text.replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
        .replace("Ä", "Ae").replace("Ö", "Oe").replace("Ü", "Ue")
    )  # fmt: skip


def _person_email(given: str, family: str, locale: str, rnd: random.Random, pools: _Pools) -> str:
    g, f = _slug(given), _slug(family)
    style = _below(rnd, 5)
    local = [f"{g}.{f}", f"{g[0]}.{f}", f"{g}{f}", f"{f}.{g}", f"{g}_{f}"][style]
    domain = _pick(rnd, _EMAIL_DOMAINS[locale])
    email = (
        f"{local}@{domain}" if rnd.random() < 0.5 else f"{local}{_between(rnd, 1, 999)}@{domain}"
    )
    while email in pools.used:  # taken: people add a number
        email = f"{local}{_between(rnd, 1, 9999)}@{domain}"
    pools.used.add(email)
    return email


def _phone_digits(locale: str, *, mobile: bool, rnd: random.Random, pools: _Pools) -> str:
    """A national significant number (no trunk prefix, no country code) nobody else has."""
    mobile_heads, land_heads, length = _PHONE_PLAN[_COUNTRY[locale]]
    while True:
        head = _pick(rnd, mobile_heads if mobile else land_heads)
        k = length - len(head)
        number = head + f"{int(rnd.random() * 10**k):0{k}d}"
        if number not in pools.used:
            pools.used.add(number)
            return number


# Country -> (mobile prefixes, landline area codes, digits of the national number).
_PHONE_PLAN: dict[str, tuple[list[str], list[str], int]] = {
    "NL": (["61", "62", "63", "64", "65"], ["20", "10", "30", "70", "40", "50"], 9),
    "DE": (["151", "152", "160", "170", "171", "176"], ["302", "403", "895", "2214", "697"], 11),
    "IN": (["98", "97", "96", "91", "88", "79", "70"], ["1123", "1126", "2224", "8025"], 10),
    "GB": (["74", "75", "77", "78", "79"], ["207", "208", "203", "1132", "1214", "1612"], 10),
}


_CALLING = {"NL": "31", "DE": "49", "IN": "91", "GB": "44"}


def _format_phone(nsn: str, locale: str, rnd: random.Random) -> str:
    cc = _CALLING[_COUNTRY[locale]]
    head, tail = (
        nsn[:1] if nsn.startswith("6") else nsn[:3],
        nsn[1:] if nsn.startswith("6") else nsn[3:],
    )
    style = _below(rnd, 6)
    if style == 0:
        return f"0{head}-{tail}"
    if style == 1:
        return f"+{cc} {head} {tail[:4]} {tail[4:]}"
    if style == 2:
        return f"00{cc}{nsn}"
    if style == 3:
        return f"+{cc}{nsn}"
    if style == 4:
        return f"0{nsn}" if cc != "91" else nsn
    return f"(0{head}) {tail}"


def _national(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit())
    for cc in _CALLING.values():
        if phone.startswith("+" + cc) or digits.startswith("00" + cc):
            rest = digits[len(cc) + (2 if digits.startswith("00") else 0) :]
            return "0" + rest
    return phone


def _tax_id(locale: str, rnd: random.Random) -> str:
    country = _COUNTRY[locale]
    if country == "NL":
        while True:  # RSIN with the eleven test, then the B01 suffix
            body = [_below(rnd, 10) for _ in range(8)]
            check = sum(d * w for d, w in zip(body, range(9, 1, -1), strict=True)) % 11
            if check < 10:
                return "NL" + "".join(map(str, body)) + str(check) + "B01"
    if country == "DE":  # ISO 7064 MOD 11,10
        body = [_between(rnd, 1, 9)] + [_below(rnd, 10) for _ in range(7)]
        product = 10
        for d in body:
            total = (d + product) % 10 or 10
            product = (2 * total) % 11
        return "DE" + "".join(map(str, body)) + str((11 - product) % 10)
    if country == "GB":  # mod 97 over weights 8..2
        while True:
            body = [_below(rnd, 10) for _ in range(7)]
            total = sum(d * w for d, w in zip(body, range(8, 1, -1), strict=True))
            check = (-total) % 97
            if check < 100:
                return "GB" + "".join(map(str, body)) + f"{check:02d}"
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # Indian PAN: AAAAA9999A, the 4th letter C = company
    return (
        "".join(_pick(rnd, letters) for _ in range(3)) + "C" + _pick(rnd, letters)
        + "".join(str(_below(rnd, 10)) for _ in range(4)) + _pick(rnd, letters)
    )  # fmt: skip


def _format_tax(tax_id: str, rnd: random.Random) -> str:
    roll = rnd.random()
    if roll < 0.15:
        return tax_id.lower()
    if roll < 0.3 and tax_id[:2] in ("NL", "DE", "GB"):
        return tax_id[:2] + " " + tax_id[2:]
    return tax_id


def _variant(name: str, rnd: random.Random) -> str:
    options = _LATIN_VARIANTS.get(name)
    return _pick(rnd, options) if options and rnd.random() < 0.3 else name


def _typo(text: str, rnd: random.Random) -> str:
    if len(text) < 4:
        return text
    i = _below(rnd, 1, len(text) - 1)
    kind = _below(rnd, 4)
    if kind == 0:  # swap neighbours
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:  # drop one
        return text[:i] + text[i + 1 :]
    if kind == 2:  # double one
        return text[:i] + text[i] + text[i:]
    return text[:i] + _pick(rnd, "aeioulnrst") + text[i + 1 :]

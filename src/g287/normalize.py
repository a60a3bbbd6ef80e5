"""Pure normalization of the values printed on ICE's 287(g) sheets.

Every function takes one raw cell value and returns the normalized value plus,
where a value had to be repaired or could not be read, a flag code. Flags are
data (stored in ``row_issues``) so `g287 qa` and users can see every repair.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qs, urlsplit

# USPS code -> (FIPS, name). 50 states, DC and the territories ICE could list.
STATES: dict[str, tuple[str, str]] = {
    "AL": ("01", "Alabama"), "AK": ("02", "Alaska"), "AZ": ("04", "Arizona"),
    "AR": ("05", "Arkansas"), "CA": ("06", "California"), "CO": ("08", "Colorado"),
    "CT": ("09", "Connecticut"), "DE": ("10", "Delaware"), "DC": ("11", "District of Columbia"),
    "FL": ("12", "Florida"), "GA": ("13", "Georgia"), "HI": ("15", "Hawaii"),
    "ID": ("16", "Idaho"), "IL": ("17", "Illinois"), "IN": ("18", "Indiana"),
    "IA": ("19", "Iowa"), "KS": ("20", "Kansas"), "KY": ("21", "Kentucky"),
    "LA": ("22", "Louisiana"), "ME": ("23", "Maine"), "MD": ("24", "Maryland"),
    "MA": ("25", "Massachusetts"), "MI": ("26", "Michigan"), "MN": ("27", "Minnesota"),
    "MS": ("28", "Mississippi"), "MO": ("29", "Missouri"), "MT": ("30", "Montana"),
    "NE": ("31", "Nebraska"), "NV": ("32", "Nevada"), "NH": ("33", "New Hampshire"),
    "NJ": ("34", "New Jersey"), "NM": ("35", "New Mexico"), "NY": ("36", "New York"),
    "NC": ("37", "North Carolina"), "ND": ("38", "North Dakota"), "OH": ("39", "Ohio"),
    "OK": ("40", "Oklahoma"), "OR": ("41", "Oregon"), "PA": ("42", "Pennsylvania"),
    "RI": ("44", "Rhode Island"), "SC": ("45", "South Carolina"), "SD": ("46", "South Dakota"),
    "TN": ("47", "Tennessee"), "TX": ("48", "Texas"), "UT": ("49", "Utah"),
    "VT": ("50", "Vermont"), "VA": ("51", "Virginia"), "WA": ("53", "Washington"),
    "WV": ("54", "West Virginia"), "WI": ("55", "Wisconsin"), "WY": ("56", "Wyoming"),
    "AS": ("60", "American Samoa"), "GU": ("66", "Guam"),
    "MP": ("69", "Northern Mariana Islands"), "PR": ("72", "Puerto Rico"),
    "VI": ("78", "U.S. Virgin Islands"),
}

MODELS: dict[str, str] = {
    "JEM": "Jail Enforcement Model",
    "WSO": "Warrant Service Officer",
    "TFM": "Task Force Model",
}

AGENCY_TYPES = ("County", "Municipality", "State Agency")


@dataclass(frozen=True, slots=True)
class Normalized:
    """A normalized value, and the flag code when it was repaired or unreadable."""

    value: object
    flag: str | None = None


@lru_cache(maxsize=65536)
def clean_text(raw: object) -> str:
    """Collapse white space (incl. non-breaking) and strip; '' for None.

    The pure functions here are memoized: the same cell text recurs on every sheet.
    """
    if raw is None:
        return ""
    text = unicodedata.normalize("NFC", str(raw)).replace("\xa0", " ").translate(_INVISIBLE)
    return _SPACES.sub(" ", text).strip()


_SPACES = re.compile(r"\s+")
# Characters that print as nothing (zero-width space/joiners, word joiner, BOM, soft hyphen,
# Mongolian vowel separator): a cell of only these looks blank and is blank.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad\u180e"))
# Error-like or placeholder text a person typed instead of a value: every spelling of #N/A
# (``#N/A``, ``n/a``, ``N / A``, ``#NA``), spreadsheet errors, ``TBD``/``TBA``, ``link pending``,
# ``unknown``, ``none`` and bare dashes, dots or question marks.
_PLACEHOLDER = re.compile(
    r"^(?:#?\s*n\s*[/\\.]?\s*a\s*\.?\s*[!?]?|#\s*(?:ref|value|name|div/0|null|num|spill|calc|"
    r"getting_data)\s*[!?]?|tbd|tba|to be (?:determined|announced)|(?:link\s*)?pending|"
    r"not available|not applicable|unknown|none|null|nil|[-\u2010-\u2015_.?*]+)$",
    re.IGNORECASE)


@lru_cache(maxsize=65536)
def placeholder(raw: object) -> bool:
    """True for a cell whose text stands for a missing value: a placeholder or error-like
    string, or a cell that only looks blank (non-breaking or zero-width characters).
    Such a cell is read as missing and flagged, never stored as a value."""
    if not isinstance(raw, str) or raw == "":
        return False
    text = clean_text(raw)
    return not text or bool(_PLACEHOLDER.match(text))


def _letters(text: str) -> str:
    return re.sub(r"[^A-Z]", "", clean_text(text).upper())


_STATE_BY_LETTERS = {_letters(name): code for code, (_, name) in STATES.items()}
_STATE_BY_LETTERS.update({"USVIRGINISLANDS": "VI", "VIRGINISLANDS": "VI", "WASHINGTONDC": "DC"})


@lru_cache(maxsize=65536)
def state_code(raw: object) -> Normalized:
    """Map a printed state (``FLORIDA``, ``AlABAMA``, ``UTAHJ``, ``FL``) to its USPS code.

    Exact names and codes pass unflagged; a case slip is flagged ``state_case``;
    a one-letter typo (``UTAHJ``) is repaired only when exactly one state name is
    that close, flagged ``state_typo``. Anything else is ``state_unknown``.
    """
    text = clean_text(raw)
    letters = _letters(text)
    if not letters:
        return Normalized(None, "state_missing")
    if letters in _STATE_BY_LETTERS or letters in STATES:
        code = _STATE_BY_LETTERS.get(letters) or letters
        exact = text.upper() == text or len(text) == 2
        return Normalized(code, None if exact else "state_case")
    from rapidfuzz.distance import Levenshtein  # a rare path: read-only commands start without it

    close = [code for name, code in _STATE_BY_LETTERS.items()
             if Levenshtein.distance(letters, name, score_cutoff=1) <= 1]
    if len(close) == 1:
        return Normalized(close[0], "state_typo")
    return Normalized(None, "state_unknown")


_MODEL_PATTERNS: tuple[tuple[str, str], ...] = (
    (r"^jail\s*(enforcement)?(\s*model)?$", "JEM"),
    (r"^jem$", "JEM"),
    (r"^warrant\s*services?\s*(officer|office|officers)?(\s*model)?$", "WSO"),
    (r"^wso$", "WSO"),
    (r"^task\s*force(\s*(model|officer|officers))?$", "TFM"),
    (r"^tfm?$", "TFM"),
)
_CANONICAL_MODEL_TEXT = {text.lower(): code for code, text in MODELS.items()}


@lru_cache(maxsize=65536)
def support_model(raw: object) -> Normalized:
    """Map SUPPORT TYPE text to JEM, WSO or TFM, flagging spelling variants."""
    text = clean_text(raw)
    lowered = text.lower()
    if lowered in _CANONICAL_MODEL_TEXT:
        return Normalized(_CANONICAL_MODEL_TEXT[lowered])
    for pattern, code in _MODEL_PATTERNS:
        if re.match(pattern, lowered):
            return Normalized(code, "model_variant")
    return Normalized(None, "model_missing" if not text else "model_unknown")


@lru_cache(maxsize=65536)
def agency_type(raw: object) -> Normalized:
    """Map TYPE text to County, Municipality or State Agency."""
    text = clean_text(raw)
    lowered = text.lower()
    for canonical in AGENCY_TYPES:
        if lowered == canonical.lower():
            return Normalized(canonical)
    if lowered in {"municipal", "city", "town", "municipality police"}:
        return Normalized("Municipality", "type_variant")
    if lowered in {"state", "state agencies"}:
        return Normalized("State Agency", "type_variant")
    if lowered in {"counties", "county agency"}:
        return Normalized("County", "type_variant")
    return Normalized(None, "type_missing" if not text or lowered == "none" else "type_unknown")


_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_ABBREVIATIONS = tuple((re.compile(pattern), replacement) for pattern, replacement in (
    (r"\bdept\b", "department"), (r"\bpd\b", "police department"),
    (r"\bso\b", "sheriffs office"), (r"\bco\b", "county"), (r"\bst\b", "saint"),
    (r"\bft\b", "fort"), (r"\bmt\b", "mount"), (r"\btwp\b", "township"),
    (r"\bsheriff s\b", "sheriffs"), (r"\bsherriffs\b", "sheriffs"),
    (r"\bsheriff office\b", "sheriffs office"),
))


def display_name(raw: object) -> str:
    """Return the agency name as printed, with white space tidied (apostrophes kept)."""
    return clean_text(raw)


@lru_cache(maxsize=65536)
def name_key(raw: object) -> str:
    """Return the canonical key of an agency name: case, apostrophes, spacing and
    punctuation folded and common abbreviations expanded, so that spellings ICE
    alternates between (``Sheriff’s`` / ``Sheriff's``, ``Ft.`` / ``Fort``) meet."""
    text = clean_text(raw).translate(_APOSTROPHES).lower()
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = text.replace("'", "").replace("&", " and ")
    text = re.sub(r"[^a-z0-9]+", " ", text).strip()
    for pattern, replacement in _ABBREVIATIONS:
        text = pattern.sub(replacement, text)
    text = re.sub(r"^city of ", "", text)
    text = _ADDENDUM.sub("", text)
    return re.sub(r"\s+", " ", text).strip()


# ICE's 2010-2017 web rosters list an amendment as its own row, "X Sheriff's Office Addendum":
# the same agency (see is_addendum; the fold files the row under the agreement it amends).
_ADDENDUM = re.compile(r"(?<=\S) (?:moa )?addendum(?: \d+)?$")


def is_addendum(raw: object) -> bool:
    """Whether a printed agency name is an addendum row (``… Sheriff's Office Addendum``)."""
    text = clean_text(raw).lower()
    return bool(re.search(r"\baddendum\b(?:\s*\d+)?\s*$", text))


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_TEXT = (
    re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4,5})$"),
    # A slash dropped before the year: ``05/082025``, ``7/72025``.
    re.compile(r"^(\d{1,2})[/.-](\d{1,2})(\d{4})$"),
)
_ISO_TEXT = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")
EARLIEST_PLAUSIBLE = dt.date(1996, 1, 1)


def _plausible(day: dt.date, published: dt.date | None) -> bool:
    latest = (published or dt.date.today()) + dt.timedelta(days=31)
    return EARLIEST_PLAUSIBLE <= day <= latest


def signed_date(raw: object, published: dt.date | None = None) -> Normalized:
    """Read a SIGNED cell: Excel date, serial number or text such as ``05/082025``.

    A date before 1996 (the 287(g) law) or after the sheet's own date is kept out
    (``signed_implausible``) rather than guessed; repaired text is flagged.
    """
    if raw is None or (isinstance(raw, str) and not clean_text(raw)):
        return Normalized(None, "signed_missing")
    day: dt.date | None = None
    flag: str | None = None
    if isinstance(raw, dt.datetime):
        day = raw.date()
    elif isinstance(raw, dt.date):
        day = raw
    elif isinstance(raw, int | float) and not isinstance(raw, bool):
        if 1 <= raw < 2958466:
            day = _EXCEL_EPOCH + dt.timedelta(days=int(raw))
            flag = "signed_serial"
    else:
        day, flag = _date_from_text(clean_text(raw))
    if day is None:
        return Normalized(None, "signed_unreadable")
    if not _plausible(day, published):
        return Normalized(None, "signed_implausible")
    return Normalized(day, flag)


@lru_cache(maxsize=65536)
def _date_from_text(text: str) -> tuple[dt.date | None, str | None]:
    iso = _ISO_TEXT.match(text)
    if iso:
        try:
            return dt.date(*map(int, iso.groups())), "signed_text"
        except ValueError:
            return None, None
    compact = text.replace(" ", "")
    match = _DATE_TEXT[0].match(compact) or _DATE_TEXT[1].match(compact)
    if not match:
        return None, None
    month, day, year = (int(g) for g in match.groups())
    if len(match.group(3)) == 2:
        year += 2000
    try:
        parsed = dt.date(year, month, day)
    except ValueError:
        return None, None
    separators = re.sub(r"\d", "", text)
    return parsed, "signed_text" if len(separators) == 2 else "signed_text_repaired"


_URL = re.compile(r"https?://\S+", re.IGNORECASE)


_WAYBACK_URL = re.compile(r"https?://web\.archive\.org/web/\d{1,14}[a-z_]*/(?P<target>https?://\S+)",
                          re.IGNORECASE)


@lru_cache(maxsize=65536)
def unwrap_url(url: str) -> str:
    """Return the real target of an Outlook SafeLinks URL or of a Wayback Machine address
    (``https://web.archive.org/web/<ts>/<url>``), else the URL unchanged."""
    url = url.strip()
    archived = _WAYBACK_URL.fullmatch(url)
    if archived:
        url = archived["target"]
    parts = urlsplit(url)
    if parts.netloc.endswith("safelinks.protection.outlook.com"):
        target = parse_qs(parts.query).get("url")
        if target:
            return target[0].strip()
    return url


@dataclass(frozen=True, slots=True)
class DocumentLink:
    """What one MOA or ADDENDUM cell says about its document."""

    status: str  # 'linked' | 'pending' | 'unlinked' | 'none'
    url: str | None
    flag: str | None = None


@lru_cache(maxsize=65536)
def document_link(text: object, hyperlink: str | None) -> DocumentLink:
    """Read an MOA/ADDENDUM cell: its hyperlink, a URL typed as text, or ``link pending``.

    A cell counts as linked only with a hyperlink or a URL as text; ``link`` with
    no hyperlink (``link | addendum`` before July 2025) is ``unlinked``.
    """
    shown = clean_text(text)
    lowered = shown.lower()
    if hyperlink:
        url = unwrap_url(hyperlink)
        if not re.match(r"https?://[^/?#\s]", url, re.IGNORECASE):
            return DocumentLink("unlinked", None, "link_not_http")  # javascript:, file:, mailto:...
        flag = "link_safelinks" if url != hyperlink.strip() else None
        return DocumentLink("linked", url, flag)
    typed = _URL.search(shown)
    if typed:
        return DocumentLink("linked", unwrap_url(typed.group(0)), "link_as_text")
    if "pending" in lowered:
        return DocumentLink("pending", None)
    if placeholder(shown):
        return DocumentLink("none", None, "placeholder")
    if lowered:
        return DocumentLink("unlinked", None, "link_without_target")
    return DocumentLink("none", None)


@lru_cache(maxsize=65536)
def county_text(raw: object) -> str | None:
    """Return ICE's COUNTY text tidied, or None for blanks and ``#N/A``-style sentinels."""
    text = clean_text(raw)
    if not text or placeholder(text):
        return None
    return text

"""Fields of a 287(g) MOA, each with the page and character span it was read from.

Pure functions over page texts (:class:`g287.documents.text.PageText`). The rules follow
the structure ICE's templates share (the PARTIES sentence, the signature block, the
points-of-contact sections, the appendix headings), not any one agency's document; a
value that does not read cleanly (a handwritten date, a signature where a name should
be) is left ``None`` with the reason, never guessed.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from g287.documents.text import PageText

# Bump when a rule change would give different fields: `g287 moa extract` then re-reads fields.
FIELDS_VERSION = "4"

SECTIONS = {
    "supervision": r"ICE\s+SUPERVISION|SUPERVISION",
    "complaint_procedure": r"COMPLAINT\s+PROCEDURES?",
    "costs": r"COSTS\s+AND\s+EXPENDITURES|REIMBURSEMENT",
    "training": r"TRAINING\s+OF\s+PERSONNEL|TRAINING\s+AND\s+ASSIGNMENTS|TRAINING",
    "termination": r"(?:EFFECTIVE\s+DATE,?\s+(?:SUSPENSION,?\s+)?AND\s+)?TERMINATION(?:\s+OF\s+\S+\s+MOA)?",
    "records": r"RELEASE\s+OF\s+INFORMATION[A-Z\s]{0,80}|REPORTING\s+REQUIREMENTS|RECORDS",
}
# An MOA page holds 2,000-4,000 characters; rules that look for one sentence near the top of
# the first pages read no further than this (a hostile "page" of megabytes costs no more).
PAGE_CHARS = 20_000
FIELD_NAMES = (
    "model", "agency_name", "template",
    "ice_signer_name", "ice_signer_title", "ice_signed_date",
    "agency_signer_name", "agency_signer_title", "agency_signed_date",
    "ice_field_office", "ice_contact", "agency_contact", "agency_public_affairs_contact",
    *(f"section_{name}" for name in SECTIONS),
)


@dataclass(frozen=True, slots=True)
class Field:
    """One field: the text as written, its reading, where it is; or why it is missing."""

    name: str
    value: str | None          # as written (white space tidied)
    parsed: str | None = None  # ISO date for dates, the code for a model; else None
    page: int | None = None    # 1-based page of the PDF
    start: int | None = None   # character span in that page's stored text
    end: int | None = None
    reason: str | None = None  # why value is None
    # How far the value can be trusted (set when a record is read, see library.verify):
    # 'read' (printed in a text layer, or a structural reading), 'verified' (an OCR reading
    # that agrees with what is known elsewhere), 'unverified' (an OCR reading nothing
    # confirms: shown as such, never counted as a fact); None when value is None.
    status: str | None = None
    confidence: float | None = None   # for OCR readings: the page's mean word confidence (0-1)


def _missing(name: str, reason: str) -> Field:
    return Field(name, None, reason=reason)


def _found(name: str, page: PageText, match: re.Match[str], group: str | int = 0,
           value: str | None = None, parsed: str | None = None) -> Field:
    text = value if value is not None else _tidy(match.group(group))
    return Field(name, text, parsed, page.page, match.start(group), match.end(group))


def _tidy(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("_", " ")).strip(" ,;:.-")


# -- dates -------------------------------------------------------------------------------

_MONTHS = {m: i for i, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), start=1)}
_MONTH_WORD = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
DATE = re.compile(
    rf"(?P<mdy>(?P<m1>{_MONTH_WORD}),?\s+(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y1>\d{{4}}))"
    rf"|(?P<dmy>(?P<d2>\d{{1,2}})\s+(?P<m2>{_MONTH_WORD}),?\s+(?P<y2>\d{{4}}))"
    r"|(?P<stamp>(?P<y3>20\d\d)\.(?P<m3>\d\d)\.(?P<d3>\d\d))"
    rf"|(?P<ord>(?P<d5>\d{{1,2}})(?:st|nd|rd|th)?\s+day\s+of\s+(?P<m5>{_MONTH_WORD}),?\s+(?P<y5>\d{{4}}))"
    r"|(?P<num>(?<![\d.])(?P<m4>\d{1,2})\s?(?P<sep>[/.-])\s?(?P<d4>\d{1,2})\s?(?P=sep)\s?(?P<y4>\d{4}|\d{2})(?![\d]))",
    re.IGNORECASE)


def parse_date(match: re.Match[str]) -> dt.date | None:
    """The date a :data:`DATE` match spells, or None when it is no calendar date."""
    try:
        if match.group("mdy"):
            month, day, year = _month(match.group("m1")), int(match.group("d1")), int(match.group("y1"))
        elif match.group("dmy"):
            month, day, year = _month(match.group("m2")), int(match.group("d2")), int(match.group("y2"))
        elif match.group("ord"):
            month, day, year = _month(match.group("m5")), int(match.group("d5")), int(match.group("y5"))
        elif match.group("stamp"):
            year, month, day = int(match.group("y3")), int(match.group("m3")), int(match.group("d3"))
        else:
            month, day, year = int(match.group("m4")), int(match.group("d4")), int(match.group("y4"))
            year += 2000 if year < 100 else 0
        parsed = dt.date(year, month, day)
    except (ValueError, TypeError):
        return None
    return parsed if dt.date(1996, 9, 30) <= parsed <= dt.date(2100, 1, 1) else None


def _month(word: str) -> int:
    key = word.lower().rstrip(".")
    for name, number in _MONTHS.items():
        if name.startswith(key[:3]):
            return number
    raise ValueError(word)


# -- names and titles ---------------------------------------------------------------------

_NAME_TOKEN = r"(?:[A-Z][a-z]+(?:[-'’][A-Z]?[a-z]+)?|[A-Z]\.(?:[A-Z]\.)*|[A-Z])"
NAME = re.compile(rf"^{_NAME_TOKEN}(?:\s+{_NAME_TOKEN}){{1,4}}$")
_ORG_WORDS = re.compile(r"\b(?:County|Office|Department|Sheriff|Police|Enforcement|Security|Homeland|Agency|"
                        r"Director|Operations|Customs|Immigration|State|City|Date|Signature|Title|Name)\b")
_TITLE_WORDS = re.compile(r"\b(?:Sheriff|Director|Chief|Commissioner|Secretary|Superintendent|Warden|Mayor|"
                          r"Administrator|Marshal|Captain|Major|Colonel|Lieutenant|Officer|Judge|Manager|"
                          r"Executive|President|Constable|Undersheriff|Jailer)\b")
TITLE = re.compile(r"^[A-Z][A-Za-z]*(?:,?\s+(?:[A-Z][A-Za-z]*|of|for|and|the))*$")


def plausible_name(text: str) -> bool:
    """A printed personal name: 2-5 capitalised words or initials, no office words."""
    return bool(NAME.match(text)) and not _ORG_WORDS.search(text) and sum(c.isalpha() for c in text) >= 5


def plausible_title(text: str) -> bool:
    """A printed job title: capitalised words including a known rank or office."""
    return bool(TITLE.match(text)) and bool(_TITLE_WORDS.search(text)) and len(text.split()) <= 8


# -- model, agency, template ----------------------------------------------------------------

_MODEL_TITLES = (
    ("JEM", r"Jail\s+Enforcement\s+Model|\(JEM\)"),
    ("TFM", r"Task\s+Force\s+Model|\(TFM\)"),
    ("WSO", r"Warrant\s+Service\s+Officer|\(WSO\)"),
)
# Clauses only one model's template has, for documents whose title names no model: the WSO
# template delegates exactly two authorities (warrants of arrest and of removal); the task-force
# template sends officers into the field and lets them be co-located with ICE as task force officers.
_STRUCTURE = (
    ("WSO", re.compile(r"only\s+delegated\s+the\s+two\s+authorities", re.IGNORECASE)),
    ("TFM", re.compile(r"co\W{0,3}located\s+with\s+ICE\s+as\s+task\s+force\s+officers"
                       r"|When\s+operating\s+in\s+the\s+field", re.IGNORECASE)),
)


def find_model(pages: Sequence[PageText]) -> Field:
    """The model(s) named in the title or body; else the clause only one model's template has."""
    found: dict[str, tuple[PageText, re.Match[str]]] = {}
    for page in pages:
        for code, pattern in _MODEL_TITLES:
            match = re.search(pattern, page.text, re.IGNORECASE)
            if match and code not in found:
                found[code] = (page, match)
    if found:
        first_code = min(found, key=lambda c: (found[c][0].page, found[c][1].start()))
        page, match = found[first_code]
        codes = sorted(found)
        return _found("model", page, match, parsed="+".join(codes))
    for code, clause in _STRUCTURE:
        for page in pages:
            match = clause.search(page.text)
            if match:
                return _found("model", page, match, parsed=code)
    return _missing("model", "no model named and no model-specific clause found")


_PARTIES = re.compile(
    r"\(\s*[DO]HS\s*\)\s*,?\s+and\s+(?:the(?=[\s_]))?[\s_,]*(?P<name>[^()]{3,160}?)\s*(?:\([A-Z]{2,8}\))?\s*,?\s*"
    r"(?:hereinafter|pursuant\s+to\s+which)", re.IGNORECASE)


def find_agency_name(pages: Sequence[PageText]) -> Field:
    """The agency as the PARTIES sentence writes it ("… (DHS), and <agency>, hereinafter …")."""
    for page in pages[:2]:
        match = _PARTIES.search(page.text, 0, PAGE_CHARS)
        if match:
            name = _tidy(match.group("name"))
            if re.search(r"[A-Za-z]{3,}", name) and len(re.findall(r"[^\w\s,.'’&-]", name)) <= 1:
                return _found("agency_name", page, match, "name", value=name)
            if not name:
                return _missing("agency_name", f"the PARTIES sentence leaves the agency blank (page {page.page}; "
                                               "a form field drawn elsewhere)")
            return _missing("agency_name", f"the PARTIES sentence names the agency unreadably "
                                           f"(page {page.page}: {name[:40]!r})")
    return _missing("agency_name", "no PARTIES sentence (\"… (DHS), and <agency> …\") found")


_REVISION = re.compile(r"Rev(?:ised|\.)?\s*(?P<date>\d{1,2}\s?/\s?\d{1,2}\s?/\s?\d{2,4})")


def find_template(pages: Sequence[PageText], model: Field) -> Field:
    """The template: model plus ICE's revision mark ("Revised 02/15/2025") in the footers.

    The most frequent mark wins (OCR misreads one footer now and then). Without any mark,
    the document is the pre-2025 layout of its model, told apart by its unlabelled
    signature block.
    """
    if model.parsed is None:
        return _missing("template", "model unknown")
    marks: Counter[str] = Counter()
    first: dict[str, tuple[PageText, re.Match[str]]] = {}
    for page in pages:
        for match in _REVISION.finditer(page.text):
            date = DATE.fullmatch(re.sub(r"\s", "", match.group("date")))
            parsed = parse_date(date) if date else None
            if parsed is None:
                continue
            key = parsed.isoformat()
            marks[key] += 1
            first.setdefault(key, (page, match))
    if marks:
        key = marks.most_common(1)[0][0]
        page, match = first[key]
        return _found("template", page, match, value=f"{model.parsed} rev. {key}", parsed=key)
    labelled = any(re.search(r"For\s*the\s*LEA\s*:.*For\s*ICE", p.text) for p in pages)
    if labelled:
        return _missing("template", "no revision mark in the footers")
    return Field("template", f"{model.parsed} pre-2025 (no revision mark)", None, model.page, model.start,
                 model.end)


# -- signature block --------------------------------------------------------------------------

_LABEL = {"date": r"D\s?at[e&]", "name": r"N\s?ame", "title": r"T\s?it[l1]e", "agency": r"Agency"}
_HEADER = re.compile(r"For\s*the\s*LEA\s*:?[^\n]*?For\s*ICE\s*:?|For\s*ICE\s*:?[^\n]*?For\s*the\s*LEA",
                     re.IGNORECASE)
_SIGNING = re.compile(r"By\s+sign\s?ing\s+this\s+MOA", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Cell:
    page: PageText
    text: str
    start: int
    end: int


def _signature_page(pages: Sequence[PageText]) -> tuple[PageText, int] | None:
    for page in pages:
        match = _SIGNING.search(page.text)
        if match:
            return page, match.end()
    return None


def _columns(page: PageText, offset: int, label: str) -> list[_Cell] | None:
    """The values after ``label`` on its line, split where the label appears again."""
    pattern = re.compile(rf"(?m)^[^\S\n]*{_LABEL[label]}[^\S\n]*[:;.,z·]?")
    match = pattern.search(page.text, offset, offset + 1500)
    if not match:
        return None
    line_end = page.text.find("\n", match.end())
    line_end = len(page.text) if line_end < 0 else line_end
    again = re.compile(rf"{_LABEL[label]}[^\S\n]*[:;.,z·~]?")
    cells: list[_Cell] = []
    start = match.end()
    for repeat in again.finditer(page.text, match.end(), line_end):
        cells.append(_Cell(page, page.text[start:repeat.start()], start, repeat.start()))
        start = repeat.end()
    cells.append(_Cell(page, page.text[start:line_end], start, line_end))
    return cells


def _cell_field(name: str, cell: _Cell, kind: str) -> Field:
    text = _tidy(cell.text)
    if not text:
        return _missing(name, f"blank on the signature page (page {cell.page.page})")
    if kind == "date":
        match = DATE.search(cell.text)
        parsed = parse_date(match) if match else None
        if match is None or parsed is None:
            return _missing(name, f"date not readable as printed (page {cell.page.page}; handwritten?)")
        return Field(name, _tidy(match.group(0)), parsed.isoformat(), cell.page.page,
                     cell.start + match.start(), cell.start + match.end())
    ok = plausible_name(text) if kind == "name" else plausible_title(text)
    if not ok:
        return _missing(name, f"{kind} not readable as printed (page {cell.page.page}; handwritten or a signature)")
    lead = len(cell.text) - len(cell.text.lstrip(" _\t:"))
    return Field(name, text, None, cell.page.page, cell.start + lead, cell.start + lead + len(cell.text.strip(" _\t:")))


def _labelled_block(page: PageText, offset: int) -> dict[str, Field] | None:
    """The 2025 form: "For the LEA: / For ICE:" columns with Date/Name/Title lines."""
    header = _HEADER.search(page.text, offset)
    if header is None:
        return None
    lea_first = re.match(r"for\s*the", header.group(0), re.IGNORECASE) is not None
    out: dict[str, Field] = {}
    for kind in ("date", "name", "title"):
        cells = _columns(page, header.end(), kind)
        lea_name, ice_name = f"agency_signer_{kind}", f"ice_signer_{kind}"
        if kind == "date":
            lea_name, ice_name = "agency_signed_date", "ice_signed_date"
        if cells is None:
            reason = f"no {kind} line in the signature block (page {page.page})"
            out[lea_name], out[ice_name] = _missing(lea_name, reason), _missing(ice_name, reason)
            continue
        if len(cells) == 1 and kind == "date":
            dates = list(DATE.finditer(cells[0].text))
            if len(dates) == 2:   # both dates on one line, the second label lost
                split = cells[0].start + dates[0].end()
                cells = [_Cell(page, page.text[cells[0].start:split], cells[0].start, split),
                         _Cell(page, page.text[split:cells[0].end], split, cells[0].end)]
        if len(cells) != 2:
            reason = f"the {kind} line's two columns cannot be told apart (page {page.page})"
            out[lea_name], out[ice_name] = _missing(lea_name, reason), _missing(ice_name, reason)
            continue
        left, right = cells
        lea, ice = (left, right) if lea_first else (right, left)
        out[lea_name], out[ice_name] = _cell_field(lea_name, lea, kind), _cell_field(ice_name, ice, kind)
    return out


_ICE_TITLE_LINE = re.compile(
    r"(?m)^[^\S\n]*(?P<name>[^\n]+?)[^\S\n]*\n[^\S\n]*(?P<title>(?:Acting\s+|Deputy\s+|Executive\s+|Assistant\s+|"
    r"Associate\s+)*Director[^\n]*?)[^\S\n]*\n[^\S\n]*Enforcement\s+and\s+Removal\s+Operations")
# A digital signature's stamp: "Digitally signed by <NAME> … Date: 2020.06.08 10:05:20".
_STAMP = re.compile(r"Digitally\s+signed\s+by(?P<who>.{0,80}?)Date:\s*(?P<date>20\d\d\.\d\d\.\d\d)\s+\d\d:\d\d",
                    re.IGNORECASE | re.DOTALL)
_LEA_TITLE_LINE = re.compile(
    r"(?m)^[^\S\n]*(?P<name>[^\n]+?)[^\S\n]*\n[^\S\n]*(?P<title>(?:High\s+|Chief\s+)?(?:Sheriff|Chief\s+of\s+Police|"
    r"Director|Commissioner|Secretary|Mayor|Superintendent)[^\n]{0,40}?)[^\S\n]*\n")


_PARTY_LINE = re.compile(r"(?m)^[^\S\n]*For\s*(?P<who>the\s*LEA|ICE)\s*:?[^\S\n]*$", re.IGNORECASE)


def _column_block(page: PageText, offset: int) -> dict[str, Field] | None:
    """The 2025 form read by position: each party's column whole, under its own header line
    ("For the LEA:" … then "For ICE:" …, as :func:`g287.documents.text.positional_text` writes
    it); Date/Name/Title read in each column. A date typed just above its label's line
    (a form field drawn high) is taken; a name printed under the header is taken when the
    column has no Name line."""
    headers = list(_PARTY_LINE.finditer(page.text, offset))
    parties = {h.group("who").lower().startswith("ice"): h for h in headers}
    if len(parties) != 2:
        return None
    ordered = sorted(parties.items(), key=lambda item: item[1].start())
    spans: dict[bool, tuple[int, int]] = {}
    for index, (is_ice, header) in enumerate(ordered):
        end = ordered[index + 1][1].start() if index + 1 < len(ordered) else len(page.text)
        spans[is_ice] = (header.end(), end)
    out: dict[str, Field] = {}
    for is_ice, (start, end) in spans.items():
        party = "ice" if is_ice else "agency"
        for kind in ("date", "name", "title"):
            name = f"{party}_signed_date" if kind == "date" else f"{party}_signer_{kind}"
            cell = _column_cell(page, start, end, kind)
            if cell is None and kind == "name":
                cell = _name_under_header(page, start, end)
            if cell is None and kind == "date":   # a date alone under the header, its label lost
                under = _line_under_header(page, start, end)
                cell = under if under is not None and DATE.fullmatch(_tidy(under.text)) else None
            if cell is None:
                owner = "ICE's" if is_ice else "the agency's"
                out[name] = _missing(name, f"no {kind} line in {owner} column of the signature block "
                                           f"(page {page.page})")
                continue
            out[name] = _cell_field(name, cell, kind)
            if out[name].value is None and kind == "date":
                above = _line_above(page, start, cell.start)
                if above is not None and DATE.search(above.text):
                    out[name] = _cell_field(name, above, kind)
    return out


def _column_cell(page: PageText, start: int, end: int, kind: str) -> _Cell | None:
    label = re.compile(rf"(?m)^[^\S\n]*{_LABEL[kind]}[^\S\n]*[:;.,z·]?")
    match = label.search(page.text, start, end)
    if match is None:
        return None
    line_end = page.text.find("\n", match.end(), end)
    line_end = end if line_end < 0 else line_end
    return _Cell(page, page.text[match.end():line_end], match.end(), line_end)


def _line_above(page: PageText, start: int, at: int) -> _Cell | None:
    """The line before the one holding ``at``, if it is inside the column and carries no label."""
    line_start = page.text.rfind("\n", start, at)
    if line_start <= start:
        return None
    previous = page.text.rfind("\n", start, line_start)
    previous = start if previous < 0 else previous + 1
    text = page.text[previous:line_start]
    if re.search(r":", text) and not DATE.search(text):
        return None
    return _Cell(page, text, previous, line_start)


def _line_under_header(page: PageText, start: int, end: int) -> _Cell | None:
    first = page.text.find("\n", start, end)
    if first < 0:
        return None
    line_end = page.text.find("\n", first + 1, end)
    line_end = end if line_end < 0 else line_end
    return _Cell(page, page.text[first + 1:line_end], first + 1, line_end)


def _name_under_header(page: PageText, start: int, end: int) -> _Cell | None:
    under = _line_under_header(page, start, end)
    return under if under is not None and plausible_name(_tidy(under.text)) else None


def _unlabelled_block(page: PageText, offset: int) -> dict[str, Field]:
    """The pre-2025 form: name, title and office lines under each signature, no labels."""
    out: dict[str, Field] = {}
    ice = _ICE_TITLE_LINE.search(page.text, offset)
    if ice and plausible_name(_tidy(ice.group("name"))):
        out["ice_signer_name"] = _found("ice_signer_name", page, ice, "name")
    else:
        out["ice_signer_name"] = _missing("ice_signer_name", f"no printed name above the ICE title (page {page.page})")
    title = _tidy(ice.group("title")) if ice else ""
    if ice and plausible_title(title):
        out["ice_signer_title"] = _found("ice_signer_title", page, ice, "title")
    else:
        out["ice_signer_title"] = _missing("ice_signer_title", f"ICE title not readable (page {page.page})")
    stamp = _STAMP.search(page.text, offset)
    surname = (out["ice_signer_name"].value or "").split()[-1:] if out["ice_signer_name"].value else []
    if stamp and surname and surname[0].lower() in stamp.group("who").lower():
        day = parse_date(DATE.fullmatch(stamp.group("date")))  # type: ignore[arg-type]
        out["ice_signed_date"] = Field("ice_signed_date", stamp.group("date"), day.isoformat() if day else None,
                                       page.page, stamp.start("date"), stamp.end("date"))
    else:
        out["ice_signed_date"] = _missing("ice_signed_date", f"no readable digital-signature date for the ICE "
                                                             f"signer (page {page.page})")
    lea = None
    for candidate in _LEA_TITLE_LINE.finditer(page.text, offset):
        if ice and ice.start() <= candidate.start("title") < ice.end():
            continue
        lea = candidate
        break
    if lea and plausible_name(_tidy(lea.group("name"))):
        out["agency_signer_name"] = _found("agency_signer_name", page, lea, "name")
    else:
        out["agency_signer_name"] = _missing("agency_signer_name", f"no printed name above the agency title "
                                                                   f"(page {page.page})")
    if lea and plausible_title(_tidy(lea.group("title"))):
        out["agency_signer_title"] = _found("agency_signer_title", page, lea, "title")
    else:
        out["agency_signer_title"] = _missing("agency_signer_title", f"agency title not readable (page {page.page})")
    out["agency_signed_date"] = _missing("agency_signed_date", f"handwritten date beside an unlabelled signature "
                                                               f"is not read (page {page.page})")
    return out


def find_signatures(pages: Sequence[PageText]) -> dict[str, Field]:
    """Signers, titles and dates of both parties from the page that says "By signing this MOA"."""
    names = ("ice_signer_name", "ice_signer_title", "ice_signed_date",
             "agency_signer_name", "agency_signer_title", "agency_signed_date")
    located = _signature_page(pages)
    if located is None:
        return {n: _missing(n, "no signature page (\"By signing this MOA …\") found") for n in names}
    page, offset = located
    following = [p for p in pages if p.page == page.page + 1]
    labelled = _labelled_block(page, offset)
    if labelled is None and following and _HEADER.match(following[0].text.lstrip()):
        labelled = _labelled_block(following[0], 0)
    if labelled is not None:
        return labelled
    by_column = _column_block(page, offset)
    if by_column is not None:
        return {n: by_column[n] for n in names}
    if re.search(r"For\s*(?:the\s*)?LEA|For\s*ICE", page.text[offset:offset + 400], re.IGNORECASE):
        return {n: _missing(n, f"the signature block's column headings are garbled (page {page.page})")
                for n in names}
    return _unlabelled_block(page, offset)


# -- contacts -----------------------------------------------------------------------------------

_POC_DHS = re.compile(r"For\s*(?:[DO]HS|ICE)\s*:[^\S\n]*(?P<value>[^\n]*(?:\n[^\S\n]*[^\n:]+){0,4})", re.IGNORECASE)
_POC_HEADING = re.compile(r"(?m)^[^\n]{0,80}?(?P<public>PUBLIC\s+INFORMATION\s+)?POINTS\s+OF\s+CONT\s?ACT[^\n]*$")
# A section ends at the next numbered heading, its numeral possibly damaged by OCR ("VIll.", "X1.").
_NEXT_HEADING = re.compile(r"(?m)^[^\S\n]*(?:[IVX][IVXl1|]{0,6}[^\S\n]*[.,][^\S\n]*[A-Z]|APPENDIX)")
_FIELD_OFFICE = re.compile(r"(?:The\s+)?(?P<city>[A-Z][A-Za-z. ]+?),?\s+Field\s+Office\s+Director")


def find_contacts(pages: Sequence[PageText]) -> dict[str, Field]:
    """ICE's and the agency's points of contact, and the agency's public-information contact."""
    out = {
        "ice_field_office": _missing("ice_field_office", "no \"For DHS:\" point of contact naming a field office"),
        "ice_contact": _missing("ice_contact", "no POINTS OF CONTACT section found"),
        "agency_contact": _missing("agency_contact", "no POINTS OF CONTACT section found"),
        "agency_public_affairs_contact": _missing("agency_public_affairs_contact",
                                                  "no PUBLIC INFORMATION POINTS OF CONTACT appendix found"),
    }
    for page in pages:
        ends = [m.start() for m in _NEXT_HEADING.finditer(page.text)]   # once a page: linear in its text
        for heading in _POC_HEADING.finditer(page.text):
            following = bisect.bisect_left(ends, heading.end())
            body_end = ends[following] if following < len(ends) else len(page.text)
            if heading.group("public"):
                out["agency_public_affairs_contact"] = _lea_block(
                    "agency_public_affairs_contact", page, heading.end(), body_end)
                continue
            if out["ice_contact"].value is None:
                out["agency_contact"] = _lea_block("agency_contact", page, heading.end(), body_end)
                match = _POC_DHS.search(page.text, heading.end(), body_end)
                if match and re.search(r"[A-Za-z]{2,}", _cut_at_lea(match.group("value"))):
                    value = _tidy(_cut_at_lea(match.group("value")))
                    out["ice_contact"] = Field("ice_contact", value, None, page.page, match.start("value"),
                                               match.start("value") + len(_cut_at_lea(match.group("value"))))
                    office = _FIELD_OFFICE.search(match.group("value"))
                    if office:
                        out["ice_field_office"] = Field(
                            "ice_field_office", office.group("city").strip(), None, page.page,
                            match.start("value") + office.start("city"), match.start("value") + office.end("city"))
                    else:
                        out["ice_field_office"] = _missing(
                            "ice_field_office", f"ICE's point of contact names no field office (page {page.page})")
                elif match:
                    out["ice_contact"] = _missing("ice_contact", f"ICE's point of contact is blank (page {page.page})")
    return out


def _cut_at_lea(value: str) -> str:
    cut = re.search(r"For\s*the\s*LEA", value, re.IGNORECASE)
    return value[:cut.start()] if cut else value


_LEA_BLOCK = re.compile(r"(?m)^[^\S\n]*For(?:\s*the\s+|\s+|(?=[A-Z]))(?!ICE\b|[DO]HS\b)(?P<who>[^\n:]{2,80}):[^\S\n]*"
                        r"(?P<value>(?:[^\n]*\n?){1,6})", re.IGNORECASE)


def _lea_block(name: str, page: PageText, start: int, end: int) -> Field:
    match = _LEA_BLOCK.search(page.text, start, end)
    if match is None:
        return _missing(name, f"no \"For the LEA:\" entry (page {page.page})")
    value = match.group("value")
    stop = re.search(r"(?m)^[^\S\n]*For(?:\s+|(?=[A-Z]))\S[^\n]*:|For\s*(?:ICE|[DO]HS)\b", value, re.IGNORECASE)
    value = value[:stop.start()] if stop else value
    lines = [_tidy(line) for line in value.splitlines()]
    lines = [line for line in lines if line]
    if not lines or not any(re.search(r"[A-Za-z]{3,}", line) for line in lines):
        return _missing(name, f"the agency's entry is blank (page {page.page})")
    garbled = sum(1 for line in lines if not re.match(r"^[\w(][\w\s.,'’()&@/#-]*$", line))
    if garbled > len(lines) / 2:
        return _missing(name, f"the agency's entry is handwritten or unreadable (page {page.page})")
    begin = match.start("value") + (len(value) - len(value.lstrip()))
    return Field(name, " / ".join(lines), None, page.page, begin, match.start("value") + len(value.rstrip()))


# -- sections --------------------------------------------------------------------------------------

def find_sections(pages: Sequence[PageText]) -> dict[str, Field]:
    """Which standard sections the document has, by their headings (numbered or appendix titles)."""
    out: dict[str, Field] = {}
    for key, pattern in SECTIONS.items():
        name = f"section_{key}"
        heading = re.compile(r"(?m)^[^\S\n]*(?:[IVXLUivxlm1]{1,8}[^\S\n]*[.,]|[A-Z][^\S\n]*[.,])?[^\S\n]*"
                             rf"(?P<h>(?:[A-Z]+\s+){{0,6}}?(?:{pattern}))[^\S\n]*$")
        out[name] = _missing(name, "no heading for it found")
        for page in pages:
            match = heading.search(page.text)
            if match:
                out[name] = _found(name, page, match, "h")
                break
    return out


def extract_fields(pages: Sequence[PageText]) -> dict[str, Field]:
    """Every field of :data:`FIELD_NAMES`, found or missing with its reason."""
    if not any(p.text.strip() for p in pages):
        return {n: _missing(n, "the document has no readable text") for n in FIELD_NAMES}
    model = find_model(pages)
    fields = {"model": model, "agency_name": find_agency_name(pages), "template": find_template(pages, model)}
    fields.update(find_signatures(pages))
    fields.update(find_contacts(pages))
    fields.update(find_sections(pages))
    return {n: fields[n] for n in FIELD_NAMES}

"""The data dictionary: the one description of every exported table and column.

The table builders, the writers (CSV, Parquet, XLSX, SQLite), the Frictionless
``datapackage.json``, Datasette's metadata and ``docs/DATA_DICTIONARY.md`` all read
it, so a column cannot be named, typed or described two ways. Column names and
types are a public contract: add columns, never rename or retype one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from g287.errors import BadInput
from g287.history import EVENT_KINDS
from g287.normalize import AGENCY_TYPES, MODELS

TYPES = ("string", "integer", "number", "date", "boolean")


class ExportError(BadInput):
    """An export asked for something the history or the format cannot give."""


@dataclass(frozen=True, slots=True)
class Column:
    """One exported column: its contract (name, type) and its provenance."""

    name: str
    type: str                      # Frictionless type, one of TYPES
    description: str               # what a value means
    derivation: str                # where it comes from in the history
    enum: tuple[str, ...] = ()     # the only values it takes, if closed
    references: str | None = None  # "table.column" it joins to


@dataclass(frozen=True, slots=True)
class Table:
    """One exported table; rows are sorted by ``order`` (which ends with the key)."""

    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    order: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, type_: str, description: str, derivation: str, *,
       enum: tuple[str, ...] = (), references: str | None = None) -> Column:
    return Column(name, type_, description, derivation, enum, references)


LISTS = ("participating", "pending")
MODEL_CODES = tuple(MODELS)
AGREEMENT_STATUSES = ("active", "removed", "superseded", "switched")
PENDING_STATUSES = ("pending", "signed", "withdrawn")
STANDINGS = ("participating", "pending", "former")
AMPM = ("am", "pm", "mid")

_PUB_ID = "publication id: the first 12 hex digits of the file's SHA-256"
_FOLD = "the history fold (g287.history) replayed over the publications in the cut"
_MODEL = "JEM (Jail Enforcement), WSO (Warrant Service Officer) or TFM (Task Force)"


def _agency_ref(prefix: str = "") -> tuple[Column, ...]:
    return (
        _c("agency_id", "string", f"{prefix}agency id", "stable id resolved from state + name",
           references="agencies.agency_id"),
        _c("agency_name", "string", "the agency's latest printed name",
           "agencies.name of that agency"),
        _c("state", "string", "USPS state code", "STATE read to a code (typos such as UTAHJ repaired)"),
    )


def _span(what: str, list_name: str) -> tuple[Column, ...]:
    return tuple(
        col for end in ("first", "last") for col in (
            _c(f"{end}_publication_id", "string", f"{end} {list_name} sheet listing the {what}",
               f"publication id of that sheet ({_FOLD})", references="publications.publication_id"),
            _c(f"{end}_file", "string", "ICE's file name of that sheet",
               "publications.file of that publication"),
            _c(f"{end}_date", "date", "that sheet's date", "publications.date of that publication"),
            _c(f"{end}_ampm", "string", "am or pm in that sheet's file name",
               "publications.label_ampm of that publication", enum=AMPM),
        ))


TABLES: dict[str, Table] = {t.name: t for t in (
    Table("publications", "Every distinct sheet file ICE published: one row per content and list.", (
        _c("publication_id", "string", _PUB_ID, "sha256 of the file's bytes, cut to 12 digits"),
        _c("list", "string", "which of ICE's two sheets", "file name, else the header", enum=LISTS),
        _c("file", "string", "ICE's file name at the earliest capture",
           "capture with the earliest time; ICE reuses names for different contents"),
        _c("label_date", "date", "date in ICE's file name (MMDDYYYY); empty if the name has none",
           "parsed from the file name"),
        _c("label_ampm", "string", "am or pm in ICE's file name", "parsed from the file name",
           enum=AMPM),
        _c("date", "date", "the date the history files it under",
           "label date, else the date of the first capture"),
        _c("dated_by", "string", "what gave the date", "label if the name has a plausible date; "
           "caption for a web roster whose heading's as-of date held; else capture "
           "(capture_label_implausible: the name's date was before 1996-09-30 or after the capture)",
           enum=("label", "caption", "capture", "capture_label_implausible")),
        _c("sequence", "integer", "order within its list, 1 = oldest",
           "label date, am before pm, then first capture time"),
        _c("rows", "integer", "data rows printed", "worksheet rows after the header, blank rows skipped"),
        _c("items", "integer", "distinct agreements (participating) or entries (pending) printed",
           "distinct agreement_id or pending_id over its publication_rows"),
        _c("captures", "integer", "times the file was captured (under any name)", "captures table"),
        _c("first_captured_utc", "string", "earliest capture time, UTC, ISO 8601",
           "capture folder name (sheets_YYYYMMDD_HHMMSS), else the file's mtime"),
        _c("xlsx_modified_utc", "string", "last-modified time ICE's workbook records, UTC",
           "dcterms:modified in the workbook's docProps/core.xml"),
        _c("sha256", "string", "SHA-256 of the file's bytes", "hash of the file as downloaded; "
           "for a web roster, of the transcription's lines for its first capture"),
        _c("source_kind", "string", "what the publication is",
           "ICE sheet: a file ICE published; web archive transcription: ICE's 2010-2017 web "
           "roster as captured by the Wayback Machine and transcribed",
           enum=("ICE sheet", "web archive transcription")),
        _c("caption", "string", "web roster: the heading ICE printed above its table",
           "as transcribed; empty when the capture has none"),
        _c("caption_count", "integer", "web roster: the number of agreements the heading states",
           "the N of 'Mutually Signed Agreements (N)'; may differ from rows (g287 qa)"),
        _c("transcription_file", "string", "web roster: the transcription file it was read from",
           "file name as ingested"),
        _c("transcription_sha256", "string", "web roster: SHA-256 of the whole transcription",
           "hash of the file as ingested"),
    ), ("publication_id",), ("list", "sequence", "publication_id")),

    Table("agencies", "Agencies with stable ids, one row per agency ever listed.", (
        _c("agency_id", "string", "stable agency id",
           "hash of state + canonical name at first sight; later spellings resolve to it"),
        _c("state", "string", "USPS state code", "STATE of its first row, read to a code"),
        _c("name", "string", "latest printed spelling, as printed (curly apostrophes kept)",
           "LAW ENFORCEMENT AGENCY of its latest row, white space tidied"),
        _c("agency_type", "string", "latest printed TYPE", "TYPE of its latest row",
           enum=AGENCY_TYPES),
        _c("county", "string", "latest printed COUNTY; empty where ICE printed #N/A",
           "COUNTY of its latest row"),
        _c("spellings", "string", "every printed spelling, sorted, separated by ' | '",
           "agency_names of the resolver (exact, normalized, near-match and alias merges)"),
        _c("standing", "string", "where it stood at the end of the cut",
           "participating if it has an active agreement, else pending if an entry is pending, "
           "else former", enum=STANDINGS),
        _c("first_date", "date", "date of the first publication (either list) listing it",
           f"first sighting in {_FOLD}"),
        _c("last_date", "date", "date of the last publication (either list) listing it",
           f"last sighting in {_FOLD}"),
    ), ("agency_id",), ("state", "name", "agency_id")),

    Table("agreements", "Agreements (agency + model + signing date) with their life span.", (
        _c("agreement_id", "string", "stable agreement id", "hash of agency id + model + signing date"),
        *_agency_ref(),
        _c("model", "string", "support model", "SUPPORT TYPE read to a code", enum=MODEL_CODES),
        _c("signed", "date", "signing date as last printed",
           "SIGNED read to a date; small re-datings by ICE (under 180 days) update it"),
        _c("signed_first", "date", "signing date when first listed", "SIGNED on its first sheet"),
        _c("status", "string", "active (on the last sheet), removed, superseded (re-signed: "
           "renewed) or switched (replaced by another model)",
           f"{_FOLD}, comparing each participating sheet with the one before",
           enum=AGREEMENT_STATUSES),
        *_span("agreement", "participating"),
        _c("first_published_date", "date", "date of the sheet on which the archive saw it first "
           "appear; empty when it was already on the first sheet (or the first after a gap), "
           "so published earlier; signed is ICE's own date, first_date the archive's first sight",
           "query.first_published: first_date when the sheet before it is at most GAP_DAYS older"),
        _c("publications_listed", "integer", "participating sheets listing it",
           "distinct publication_id over its publication_rows"),
        _c("moa_url", "string", "MOA PDF URL; empty if never linked",
           "MOA cell hyperlink (or URL text), Outlook SafeLinks unwrapped; the latest one"),
        _c("addendum_url", "string", "addendum PDF URL; empty if none",
           "ADDENDUM cell hyperlink, SafeLinks unwrapped; the latest one"),
        _c("moa_first_linked_date", "date", "date of the first sheet with an MOA link",
           "publications.date where moa_url first appeared"),
        _c("succeeded_by", "string", "agreement that replaced it (renewal or model switch)",
           _FOLD, references="agreements.agreement_id"),
        _c("events", "integer", "lifecycle events about it", "rows of events with its agreement_id"),
    ), ("agreement_id",), ("state", "agency_name", "model", "signed", "agreement_id")),

    Table("pending_entries", "Entries of the pending list: agency + model.", (
        _c("pending_id", "string", "stable pending-entry id", "hash of agency id + model"),
        *_agency_ref(),
        _c("model", "string", "support model", "SUPPORT TYPE read to a code", enum=MODEL_CODES),
        _c("status", "string", "pending (on the last pending sheet), signed, or withdrawn "
           "(left the list and never signed within the cut)",
           f"{_FOLD}; departures are judged with the whole cut in view", enum=PENDING_STATUSES),
        *_span("entry", "pending"),
        _c("agreement_id", "string", "the agreement it became, if signed",
           "first new agreement of the same agency and model after it was listed",
           references="agreements.agreement_id"),
        _c("days_pending", "integer", "days from its first pending sheet to its first "
           "participating sheet", "difference of the two sheets' dates"),
    ), ("pending_id",), ("state", "agency_name", "model", "pending_id")),

    Table("events", "Lifecycle events found between consecutive publications of a list.", (
        _c("event_id", "string", "stable event id",
           "hash of kind + publication + agency + agreement/entry + model"),
        _c("sequence", "integer", "order in which the fold found it", f"position in {_FOLD}"),
        _c("date", "date", "date of the sheet where the change shows", "publications.date"),
        _c("date_from", "date", "when the publications around the change are far apart: the last "
           "day before it was seen (it happened between date_from and date); else empty",
           "details.between, set when the two are more than 31 days apart or of different "
           "source kinds"),
        _c("kind", "string", "what happened: " + "; ".join(f"{k}: {v}" for k, v in EVENT_KINDS.items()),
           f"{_FOLD}", enum=tuple(EVENT_KINDS)),
        _c("list", "string", "the list the change shows on", "list of after_publication_id",
           enum=LISTS),
        _c("state", "string", "USPS state code", "the agency's state"),
        _c("agency_id", "string", "agency id", "resolved identity", references="agencies.agency_id"),
        _c("agency_name", "string", "the agency's latest printed name", "agencies.name"),
        _c("model", "string", "support model", "SUPPORT TYPE read to a code", enum=MODEL_CODES),
        _c("agreement_id", "string", "agreement concerned, if any", "resolved identity",
           references="agreements.agreement_id"),
        _c("pending_id", "string", "pending entry concerned, if any", "resolved identity",
           references="pending_entries.pending_id"),
        _c("before_publication_id", "string", "sheet before the change; empty for a list's "
           "first sheet (its contents are the baseline)", "previous publication of the list",
           references="publications.publication_id"),
        _c("before_file", "string", "ICE's file name of that sheet", "publications.file"),
        _c("after_publication_id", "string", "sheet where the change shows", "the publication folded",
           references="publications.publication_id"),
        _c("after_file", "string", "ICE's file name of that sheet", "publications.file"),
        _c("status", "string", "departures only: provisional (not yet absent long enough), "
           "confirmed, or retracted (listed again soon: an omission by ICE); empty for other kinds",
           "absent from the sheet that dropped it and 2 more of its list over 14 days "
           "(g287.history.departure_status)", enum=("provisional", "confirmed", "retracted")),
        _c("details", "string", "JSON object with the event's particulars (dates, URLs, "
           "previous agreement, days pending)", "written by the fold; keys sorted"),
    ), ("event_id",), ("sequence", "event_id")),

    Table("daily_series", "The program at the end of each day, each list's last sheet carried "
          "forward over days without a new one.", (
        _c("date", "date", "day", "every day from the first publication to the last (or the cut)"),
        _c("agreements", "integer", "agreements on the participating sheet in force; empty "
           "before the first", "distinct agreement ids printed on it (g287.analytics.series)"),
        _c("agencies", "integer", "agencies on it", "distinct agency ids with an agreement on it"),
        _c("states", "integer", "states on it", "distinct states of those agreements"),
        _c("pending_entries", "integer", "entries on the pending sheet in force; empty before "
           "the first", "distinct pending ids printed on it"),
        _c("jem", "integer", "Jail Enforcement Model agreements", "agreements with model JEM"),
        _c("wso", "integer", "Warrant Service Officer agreements", "agreements with model WSO"),
        _c("tfm", "integer", "Task Force Model agreements", "agreements with model TFM"),
        _c("participating_file", "string", "participating sheet in force",
           "newest participating publication dated on or before the day"),
        _c("pending_file", "string", "pending sheet in force",
           "newest pending publication dated on or before the day"),
        _c("in_gap", "boolean", "the day lies in a stretch of the participating list nobody "
           "captured: its figures are those of the last publication before, not an observation",
           "sightings (publication dates, captures) more than 31 days apart or of different "
           "source kinds"),
    ), ("date",), ("date",)),

    Table("publication_rows", "Every data row of every sheet, with the cells as printed "
          "(for auditing) beside what g287 read from them.", (
        _c("publication_id", "string", _PUB_ID, "the sheet the row is on",
           references="publications.publication_id"),
        _c("list", "string", "which of ICE's two sheets", "publications.list", enum=LISTS),
        _c("file", "string", "ICE's file name", "publications.file"),
        _c("date", "date", "the sheet's date", "publications.date"),
        _c("row_number", "integer", "worksheet row number (the header is row 1)", "the worksheet"),
        _c("state_printed", "string", "STATE as printed", "cell text, untouched"),
        _c("agency_printed", "string", "LAW ENFORCEMENT AGENCY as printed (spaces and "
           "apostrophes kept)", "cell text, untouched"),
        _c("type_printed", "string", "TYPE as printed", "cell text, untouched"),
        _c("county_printed", "string", "COUNTY as printed (the error value #N/A kept)",
           "cell text or error value, untouched"),
        _c("support_printed", "string", "SUPPORT TYPE as printed", "cell text, untouched"),
        _c("signed_printed", "string", "SIGNED as printed: a date cell as an ISO date, a text "
           "cell as typed (e.g. 05/082025)", "cell value"),
        _c("moa_printed", "string", "MOA cell text as printed (link, link pending, ...)",
           "cell text, untouched"),
        _c("moa_hyperlink", "string", "the MOA cell's hyperlink target as stored",
           "worksheet hyperlinks (SafeLinks wrappers kept)"),
        _c("addendum_printed", "string", "ADDENDUM cell text (column exists from 2025-07-01 pm)",
           "cell text, untouched"),
        _c("addendum_hyperlink", "string", "the ADDENDUM cell's hyperlink target as stored",
           "worksheet hyperlinks"),
        _c("other_printed", "string", "JSON object of non-empty cells under headers g287 "
           "does not know", "cells of extra columns"),
        _c("state", "string", "USPS state code read", "g287.normalize.state_code"),
        _c("agency_name", "string", "agency name read", "white space tidied"),
        _c("agency_type", "string", "TYPE read", "g287.normalize.agency_type",
           enum=AGENCY_TYPES),
        _c("county", "string", "COUNTY read; empty for #N/A or blank", "g287.normalize.county_text"),
        _c("model", "string", "model read", "SUPPORT TYPE read to a code", enum=MODEL_CODES),
        _c("signed", "date", "signing date read; empty if missing or unreadable",
           "g287.normalize.signed_date (repairs such as 05/082025)"),
        _c("moa_status", "string", "what the MOA cell offers", "g287.normalize.document_link",
           enum=("linked", "pending", "unlinked", "none")),
        _c("moa_url", "string", "MOA URL read", "hyperlink or URL text, SafeLinks unwrapped"),
        _c("addendum_url", "string", "addendum URL read", "hyperlink, SafeLinks unwrapped"),
        _c("issues", "string", "data problems found on the row, as codes separated by ' | '",
           "row_issues (e.g. state_typo, signed_text_repaired, county_missing)"),
        _c("agency_id", "string", "agency the row belongs to", f"resolved by {_FOLD}",
           references="agencies.agency_id"),
        _c("agreement_id", "string", "agreement the row belongs to (participating rows)",
           f"resolved by {_FOLD}", references="agreements.agreement_id"),
        _c("pending_id", "string", "pending entry the row belongs to (pending rows)",
           f"resolved by {_FOLD}", references="pending_entries.pending_id"),
    ), ("publication_id", "row_number"), ("date", "list", "publication_id", "row_number")),
)}

NOTES: tuple[tuple[str, str], ...] = (
    ("As of a date",
     "`g287 export --as-of DATE` keeps the publications whose date (ICE's file-name label, "
     "else the first capture) is on or before DATE, am and pm alike, and replays the history "
     "fold over them alone: statuses, withdrawals and events are what the archive showed then, "
     "not what later sheets revealed. ICE's label can be days older than the capture, so a "
     "sheet counts from the day ICE dated it."),
    ("Order", "Rows are sorted by the columns listed as *order* below, ending with the key, so "
     "the same history always gives the same bytes."),
    ("Text", "UTF-8. Cells are kept as printed where a column says *printed* (trailing spaces, "
     "`’` versus `'`, typos such as `UTAHJ`). Empty means no value."),
    ("Spreadsheet safety",
     "In CSV files a text cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return "
     "gets a leading `'`, so that a spreadsheet shows it instead of running it as a formula; "
     "strip one leading `'` from such a cell to get the value. XLSX cells are written as text "
     "and never as formulas; Parquet and SQLite hold the values unchanged."),
    ("License",
     "ICE's sheets are works of the U.S. government, in the public domain (17 U.S.C. 105). "
     "g287's compilation (identities, agreements, events, series) is dedicated to the public "
     "domain under CC0 1.0, chosen over ODC-PDDL because it is the dedication data repositories "
     "(Zenodo, Dryad, data.gov) and tools recognize, and it has a fallback license where a "
     "waiver is not possible."),
)


def check_tables(names: list[str] | None) -> list[str]:
    """The tables asked for, in dictionary order; all of them when ``names`` is empty."""
    unknown = sorted(set(names or ()) - set(TABLES))
    if unknown:
        raise ExportError(f"unknown table(s) {', '.join(unknown)}; use {', '.join(TABLES)}")
    return [n for n in TABLES if not names or n in names]


def frictionless_schema(table: Table) -> dict[str, Any]:
    """The table's Frictionless Table Schema, with closed values and joins."""
    fields = []
    for column in table.columns:
        field: dict[str, Any] = {"name": column.name, "type": column.type,
                                    "description": column.description}
        constraints: dict[str, Any] = {}
        if column.name in table.key:
            constraints["required"] = True
        if column.enum:
            constraints["enum"] = list(column.enum)
        if constraints:
            field["constraints"] = constraints
        fields.append(field)
    foreign = [{"fields": c.name, "reference": {"resource": ref_table, "fields": ref_column}}
               for c in table.columns if c.references
               for ref_table, ref_column in [c.references.split(".")]]
    schema: dict[str, Any] = {"fields": fields, "primaryKey": list(table.key), "missingValues": [""]}
    if foreign:
        schema["foreignKeys"] = foreign
    return schema


def markdown() -> str:
    """The data dictionary as Markdown (``docs/DATA_DICTIONARY.md``)."""
    lines = ["# g287 data dictionary", "",
             "Generated from `g287.export.dictionary`; do not edit by hand "
             "(`python -m g287.export.dictionary > docs/DATA_DICTIONARY.md`).", "",
             "Every release holds each table as CSV and Parquet, all of them in one XLSX workbook "
             "and one SQLite file, with a Frictionless `datapackage.json` made from this dictionary.",
             ""]
    for title, text in NOTES:
        lines += [f"**{title}.** {text}", ""]
    for table in TABLES.values():
        lines += [f"## `{table.name}`", "", table.description, "",
                  f"Key: {', '.join(f'`{k}`' for k in table.key)}. "
                  f"Order: {', '.join(f'`{k}`' for k in table.order)}.", "",
                  "| column | type | description | derived from |", "| --- | --- | --- | --- |"]
        lines += [f"| `{c.name}` | {c.type} | {_cell(c)} | {_escape(c.derivation)} |"
                  for c in table.columns]
        lines.append("")
    return "\n".join(lines)


def _cell(column: Column) -> str:
    text = column.description
    if column.enum:
        text += "; one of " + ", ".join(f"`{v}`" for v in column.enum)
    if column.references:
        text += f"; joins `{column.references}`"
    return _escape(text)


def _escape(text: str) -> str:
    return text.replace("|", "\\|")


if __name__ == "__main__":
    import sys

    sys.stdout.write(markdown())

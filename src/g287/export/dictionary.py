"""The data dictionary: the one description of every exported table and column.

Writers (CSV, Parquet, XLSX, SQLite), the Frictionless ``datapackage.json``,
Datasette's metadata and ``docs/DATA_DICTIONARY.md`` are all generated from it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str          # Frictionless type: string | integer | number | date | boolean
    description: str


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    description: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


def _c(name: str, type_: str, description: str) -> Column:
    return Column(name, type_, description)


PUB = "publication id (first 12 hex digits of the file's SHA-256)"
TABLES: dict[str, Table] = {t.name: t for t in (
    Table("publications", "Every distinct sheet file ICE published (one per content and list).", (
        _c("publication_id", "string", PUB),
        _c("list", "string", "participating or pending"),
        _c("file", "string", "ICE's file name at the earliest capture"),
        _c("label_date", "date", "date in ICE's file name (MMDDYYYY); empty if the name has none"),
        _c("label_ampm", "string", "am or pm part of ICE's file name"),
        _c("date", "date", "the date the history uses: label date, else first capture date"),
        _c("sequence", "integer", "order within its list, 1 = oldest"),
        _c("rows", "integer", "data rows printed (blank rows skipped)"),
        _c("captures", "integer", "times the file was captured"),
        _c("first_captured_utc", "string", "earliest capture time, UTC (ISO 8601)"),
        _c("sha256", "string", "SHA-256 of the file's bytes"),
    ), ("publication_id",)),
    Table("agencies", "Agencies with stable ids (state + canonical name at first sight).", (
        _c("agency_id", "string", "stable agency id"),
        _c("state", "string", "USPS state code"),
        _c("name", "string", "latest printed spelling, as printed"),
        _c("agency_type", "string", "latest printed TYPE: County, Municipality or State Agency"),
        _c("county", "string", "latest printed COUNTY, empty for #N/A"),
        _c("spellings", "string", "every printed spelling, separated by ' | '"),
        _c("standing", "string", "participating, pending or former on the last sheets"),
        _c("first_date", "date", "date of the first publication listing it"),
        _c("last_date", "date", "date of the last publication listing it"),
    ), ("agency_id",)),
    Table("agreements", "Agreements: agency + model + signing date, with their life span.", (
        _c("agreement_id", "string", "stable agreement id"),
        _c("agency_id", "string", "agency id"),
        _c("agency_name", "string", "latest printed agency name"),
        _c("state", "string", "USPS state code"),
        _c("model", "string", "JEM, WSO or TFM"),
        _c("signed", "date", "signing date as last printed"),
        _c("signed_first", "date", "signing date when first listed"),
        _c("status", "string", "active, removed, superseded (renewed) or switched (model changed)"),
        _c("first_publication", "string", "file of the first participating sheet listing it"),
        _c("first_date", "date", "date of that publication"),
        _c("last_publication", "string", "file of the last participating sheet listing it"),
        _c("last_date", "date", "date of that publication"),
        _c("moa_url", "string", "MOA PDF URL (SafeLinks unwrapped), empty if never linked"),
        _c("addendum_url", "string", "addendum PDF URL, if any"),
        _c("moa_first_linked_date", "date", "date of the first publication with an MOA link"),
        _c("succeeded_by", "string", "agreement id that replaced it (renewal or switch)"),
        _c("events", "integer", "number of lifecycle events about it"),
    ), ("agreement_id",)),
    Table("pending_entries", "Entries of the pending list: agency + model.", (
        _c("pending_id", "string", "stable pending-entry id"),
        _c("agency_id", "string", "agency id"),
        _c("agency_name", "string", "latest printed agency name"),
        _c("state", "string", "USPS state code"),
        _c("model", "string", "JEM, WSO or TFM"),
        _c("status", "string", "pending, signed or withdrawn (judged with the whole archive)"),
        _c("first_date", "date", "date of the first pending sheet listing it"),
        _c("last_date", "date", "date of the last pending sheet listing it"),
        _c("agreement_id", "string", "the agreement it became, if signed"),
        _c("days_pending", "integer", "days from first pending label to first participating label"),
    ), ("pending_id",)),
    Table("events", "Lifecycle events between consecutive publications of a list.", (
        _c("event_id", "string", "stable event id"),
        _c("sequence", "integer", "order of derivation"),
        _c("date", "date", "label date of the publication where the change shows"),
        _c("kind", "string", "event kind (see g287.history.EVENT_KINDS)"),
        _c("list", "string", "participating or pending"),
        _c("state", "string", "USPS state code"),
        _c("agency_id", "string", "agency id"),
        _c("agency_name", "string", "latest printed agency name"),
        _c("model", "string", "JEM, WSO or TFM"),
        _c("agreement_id", "string", "agreement id, if any"),
        _c("pending_id", "string", "pending-entry id, if any"),
        _c("before_publication", "string", "file of the publication before (empty for the first)"),
        _c("after_publication", "string", "file of the publication where the change shows"),
        _c("details", "string", "JSON with the event's particulars (dates, URLs, days pending)"),
    ), ("event_id",)),
    Table("daily_series", "The program at the end of each day, each list carried forward.", (
        _c("date", "date", "day"),
        _c("agreements", "integer", "agreements on the participating sheet in force"),
        _c("agencies", "integer", "agencies on it"),
        _c("states", "integer", "states on it"),
        _c("pending_entries", "integer", "entries on the pending sheet in force"),
        _c("jem", "integer", "Jail Enforcement Model agreements"),
        _c("wso", "integer", "Warrant Service Officer agreements"),
        _c("tfm", "integer", "Task Force Model agreements"),
        _c("participating_file", "string", "participating sheet in force"),
        _c("pending_file", "string", "pending sheet in force"),
    ), ("date",)),
    Table("publication_rows", "Every row of every sheet as printed, with its reading and identity.", (
        _c("publication_id", "string", PUB),
        _c("file", "string", "ICE's file name"),
        _c("row_number", "integer", "worksheet row number"),
        _c("state_printed", "string", "STATE as printed"),
        _c("agency_printed", "string", "LAW ENFORCEMENT AGENCY as printed (apostrophes kept)"),
        _c("type_printed", "string", "TYPE as printed"),
        _c("county_printed", "string", "COUNTY as printed (#N/A kept)"),
        _c("support_printed", "string", "SUPPORT TYPE as printed"),
        _c("signed_printed", "string", "SIGNED as printed (dates in ISO form)"),
        _c("moa_printed", "string", "MOA cell text as printed"),
        _c("state", "string", "USPS state code read"),
        _c("model", "string", "model read"),
        _c("signed", "date", "signing date read"),
        _c("moa_url", "string", "MOA URL read (hyperlink, SafeLinks unwrapped)"),
        _c("agency_id", "string", "agency id"),
        _c("agreement_id", "string", "agreement id (participating rows)"),
        _c("pending_id", "string", "pending-entry id (pending rows)"),
    ), ("publication_id", "row_number")),
)}


def markdown() -> str:
    """The data dictionary as Markdown (``docs/DATA_DICTIONARY.md``)."""
    lines = ["# g287 data dictionary", "",
             "Generated from `g287.export.dictionary`; do not edit by hand "
             "(`python -m g287.export.dictionary > docs/DATA_DICTIONARY.md`).", ""]
    for table in TABLES.values():
        lines += [f"## `{table.name}`", "", table.description, "",
                  f"Key: {', '.join(f'`{k}`' for k in table.key)}", "",
                  "| column | type | description |", "| --- | --- | --- |"]
        lines += [f"| `{c.name}` | {c.type} | {c.description} |" for c in table.columns]
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")

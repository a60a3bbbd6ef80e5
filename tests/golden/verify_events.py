"""Check every change event g287 derives from the shared ICE archive against the sheets.

Independent of g287's reader and normalizers: the sheets are read with openpyxl, names
are folded only for case, spacing and the curly apostrophe, models by keyword, links by
unwrapping SafeLinks. g287's history database supplies the *claims* (each event, its
publications and the spellings g287 holds for the agency); each claim is confirmed or
refuted from the two sheets involved. A naive diff of consecutive sheets then looks for
changes no event explains (recall).

    python tests/golden/verify_events.py HISTORY.sqlite ICE_SHEETS_DIR > tests/golden/events.csv

Prints the CSV on stdout and precision/recall per kind on stderr. Every removal,
withdrawal, rename, relabel, state correction and duplicate was also read by hand
(``--show KIND`` prints the rows of both sheets for each event of a kind).
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import json
import re
import sqlite3
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import openpyxl

STATE_NAMES = dict(pair.split(":") for pair in str.split(
    "AL:ALABAMA AK:ALASKA AZ:ARIZONA AR:ARKANSAS CA:CALIFORNIA CO:COLORADO CT:CONNECTICUT "
    "DE:DELAWARE DC:DISTRICT_OF_COLUMBIA FL:FLORIDA GA:GEORGIA HI:HAWAII ID:IDAHO IL:ILLINOIS "
    "IN:INDIANA IA:IOWA KS:KANSAS KY:KENTUCKY LA:LOUISIANA ME:MAINE MD:MARYLAND "
    "MA:MASSACHUSETTS MI:MICHIGAN MN:MINNESOTA MS:MISSISSIPPI MO:MISSOURI MT:MONTANA "
    "NE:NEBRASKA NV:NEVADA NH:NEW_HAMPSHIRE NJ:NEW_JERSEY NM:NEW_MEXICO NY:NEW_YORK "
    "NC:NORTH_CAROLINA ND:NORTH_DAKOTA OH:OHIO OK:OKLAHOMA OR:OREGON PA:PENNSYLVANIA "
    "RI:RHODE_ISLAND SC:SOUTH_CAROLINA SD:SOUTH_DAKOTA TN:TENNESSEE TX:TEXAS UT:UTAH "
    "VT:VERMONT VA:VIRGINIA WA:WASHINGTON WV:WEST_VIRGINIA WI:WISCONSIN WY:WYOMING "
    "PR:PUERTO_RICO GU:GUAM VI:VIRGIN_ISLANDS"))
BY_NAME = {name.replace("_", ""): code for code, name in STATE_NAMES.items()}
COLUMNS = ("kind", "date", "state", "agency", "model", "before_file", "after_file",
           "verdict", "evidence")


def fold(name: object) -> str:
    return " ".join(str(name or "").replace("\u2019", "'").replace("\xa0", " ").lower().split())


def state_code(text: object) -> str | None:
    letters = re.sub(r"[^A-Z]", "", str(text or "").upper())
    if letters in BY_NAME:
        return BY_NAME[letters]
    close = difflib.get_close_matches(letters, list(BY_NAME), n=1, cutoff=0.85)
    return BY_NAME[close[0]] if close else None


def model_code(text: object) -> str | None:
    low = str(text or "").lower()
    return "JEM" if "jail" in low else "WSO" if "warrant" in low else "TFM" if "task" in low else None


def signed_date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    match = re.match(r"^(\d{1,2})/(\d{1,2})/?(\d{4})$", str(value or "").strip())
    return dt.date(int(match[3]), int(match[1]), int(match[2])) if match else None


def link(cell) -> str | None:
    target = cell.hyperlink.target if cell.hyperlink else None
    if not target and str(cell.value or "").strip().lower().startswith("http"):
        target = str(cell.value).strip()
    if not target:
        return None
    parts = urlsplit(target)
    if "safelinks" in parts.netloc:
        target = parse_qs(parts.query)["url"][0]
    return re.sub(r"^https?://(www\.)?", "", unquote(target).strip().lower())


@dataclass(frozen=True)
class Row:
    number: int
    state: str | None
    name: str
    fold: str
    model: str | None
    signed: dt.date | None
    link: str | None


@cache
def read(path: Path) -> tuple[Row, ...]:
    sheet = openpyxl.load_workbook(path).worksheets[0]
    header = [fold(c.value) for c in sheet[1]]
    col = {name: header.index(name) for name in header if name}
    rows = []
    for number, cells in enumerate(sheet.iter_rows(min_row=2), start=2):
        name = " ".join(str(cells[col["law enforcement agency"]].value or "").split())
        if not name:
            continue
        rows.append(Row(number, state_code(cells[col["state"]].value), name, fold(name),
                        model_code(cells[col["support type"]].value),
                        signed_date(cells[col["signed"]].value) if "signed" in col else None,
                        link(cells[col["moa"]]) if "moa" in col else None))
    return tuple(rows)


def similar(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


COMMON = {"county", "sheriff's", "sheriffs", "office", "police", "department", "city", "town",
          "township", "constable", "constable's", "state", "parish", "services", "of", "the"}


def related(a: str, b: str) -> bool:
    """Two folded names sharing a distinctive word (≥ 4 letters, not a common office word):
    a pair worth reading by hand."""
    words = [{w for w in re.findall(r"[a-z']+", x) if len(w) >= 4 and w not in COMMON} for x in (a, b)]
    return bool(words[0] & words[1])


class Archive:
    def __init__(self, db: Path, sheets: Path) -> None:
        self.conn = sqlite3.connect(db)
        self.conn.row_factory = sqlite3.Row
        by_sha = {}
        with (sheets / "manifest.csv").open() as handle:
            for r in csv.DictReader(handle):
                by_sha.setdefault(r["sha256"][:12], sheets / r["capture_folder"] / r["file"])
        self.pubs = {r["id"]: (r["file"], by_sha[r["id"]], dt.date.fromisoformat(r["date"]), r["list"],
                               r["seq"]) for r in self.conn.execute("SELECT * FROM publications")}
        self.spellings = defaultdict(set)
        for r in self.conn.execute("SELECT agency_id, spelling FROM agency_names"):
            self.spellings[r[0]].add(fold(r[1]))

    def rows(self, pub: str | None) -> tuple[Row, ...]:
        return read(self.pubs[pub][1]) if pub else ()

    def ordered(self, list_name: str) -> list[str]:
        return [p for p, v in sorted(self.pubs.items(), key=lambda kv: kv[1][4]) if v[3] == list_name]


def check(archive: Archive, e: sqlite3.Row) -> tuple[str, str, str]:
    """(agency as printed, verdict, evidence) for one event."""
    kind, details, model, state = e["kind"], json.loads(e["details"]), e["model"], e["state"]
    names = archive.spellings[e["agency_id"]] | {fold(details.get(k)) for k in ("from_name", "to_name")
                                                  if details.get(k)}
    before, after = archive.rows(e["before_pub"]), archive.rows(e["after_pub"])

    def mine(rows, m=model, st=state, who=None):
        return [r for r in rows if r.fold in (who or names) and r.model == m and (st is None or r.state == st)]

    b, a = mine(before), mine(after)
    printed = (a or b or [Row(0, None, "?", "", None, None, None)])[0].name

    def verdict(ok: bool, text: str) -> tuple[str, str, str]:
        return printed, "confirmed" if ok else "refuted", text

    if kind in ("agreement_added", "model_added", "model_switched", "agreement_reinstated"):
        day = dt.date.fromisoformat(details["signed"]) if details.get("signed") else None
        new = [r for r in a if r.signed == day]
        was = [r for r in b if r.signed == day]
        gone_alike = [r for r in before if r.state == state and r.model == model and r.signed == day
                      and r.fold not in {x.fold for x in after} and similar(r.fold, new[0].fold if new else "") > 0.8]
        ok = bool(new) and not was and not gone_alike
        extra = ""
        if kind == "model_added":
            others = [r for r in before if r.fold in names and r.state == state and r.model != model]
            ok, extra = ok and bool(others), f"; agency listed before with {sorted({r.model for r in others})}"
        if kind == "model_switched":
            old = mine(before, details["from_model"])
            ok = ok and bool(old) and not mine(after, details["from_model"])
            extra = f"; {details['from_model']} row gone"
        return verdict(ok, f"row {new[0].number if new else '?'} after ({model}, signed {day}); "
                           f"not on the sheet before{extra}"
                       + (f"; look-alike gone: {gone_alike[0].name}" if gone_alike else ""))
    if kind == "agreement_removed":
        day = dt.date.fromisoformat(details["signed"])
        was = [r for r in b if r.signed == day]
        links = {x.link for x in was}
        alike = [r for r in after if r.model == model and (r.signed == day or (r.link and r.link in links))
                 and r.fold not in {x.fold for x in before if x.state == r.state and x.model == model}
                 and (similar(r.fold, was[0].fold if was else "") > 0.75 or r.fold in names)]
        return verdict(bool(was) and not a and not alike,
                       f"row {was[0].number if was else '?'} before (signed {day}), no row for it after;"
                       + (f" look-alike appeared: {alike[0].name} ({alike[0].state})" if alike else
                          " no new row with the same name, model and date, or the same MOA, in any state"))
    if kind == "renewed":
        day = dt.date.fromisoformat(details["signed"])
        return verdict(any(r.signed == day for r in a) and not any(r.signed == day for r in b),
                       f"signed {details['previous_signed']} before, {day} after")
    if kind == "signing_date_corrected":
        new, old = (dt.date.fromisoformat(details[k]) if details.get(k) else None for k in ("to", "from"))
        return verdict(any(r.signed == new for r in a) and not any(r.signed == new for r in b)
                       and not any(r.signed == old for r in a),
                       f"signed {old} before, {new} after, same agency and model")
    if kind in ("moa_published", "moa_link_changed"):
        url = re.sub(r"^https?://(www\.)?", "", unquote(details.get("url") or details["to"]).lower())
        old = re.sub(r"^https?://(www\.)?", "", unquote(details["from"]).lower()) if "from" in details else None
        pubs = archive.ordered("participating")
        earlier = [r.link for p in pubs[:pubs.index(e["before_pub"]) + 1]
                   for r in mine(archive.rows(p)) if r.link]   # the last link printed before
        last = earlier[-1] if earlier else None
        return verdict(any(r.link == url for r in a) and not any(r.link == url for r in b)
                       and last == old,
                       f"last link printed before: {last}; after: {url}")
    if kind == "pending_added":
        return verdict(bool(a) and not b, f"row {a[0].number if a else '?'} on the pending sheet after, none before")
    if kind == "pending_withdrawn":
        later = [(archive.pubs[p][0], r) for p in archive.ordered("participating") for r in archive.rows(p)
                 if r.state == state and (r.fold in names or related(r.fold, b[0].fold if b else ""))]
        return verdict(bool(b) and not a and not later,
                       f"pending row {b[0].number if b else '?'} before, gone after; "
                       + (f"but listed as participating: {later[0][1].name} on {later[0][0]}" if later
                          else "never on any participating sheet of the archive under a similar name"))
    if kind == "pending_signed":
        waited = (details.get("model_changed") or {}).get("pending", model)
        firsts = [archive.pubs[p][2] for p in archive.ordered("pending")
                  if any(r.fold in names and r.state == state and r.model == waited
                         for r in archive.rows(p))]
        days = (archive.pubs[e["after_pub"]][2] - min(firsts)).days if firsts else None
        return verdict(bool(a) and not b and days == details.get("days_pending"),
                       f"listed as participating (row {a[0].number if a else '?'}); first pending "
                       f"{min(firsts) if firsts else '?'}: {days} days")
    if kind in ("agreement_renamed", "agreement_relabelled", "pending_renamed"):
        old, new = {fold(details["from_name"])}, {fold(details["to_name"])}
        ob, oa = mine(before, who=old), mine(after, who=old)
        nb, na = mine(before, who=new), mine(after, who=new)
        same = bool(ob and na) and (ob[0].signed == na[0].signed)
        links = f"; MOA before {ob[0].link if ob else None}, after {na[0].link if na else None}"
        return na[0].name if na else printed, "confirmed" if (ob and na and not oa and not nb and same) else \
            "refuted", (f"'{details['from_name']}' row {ob[0].number if ob else '?'} before only, "
                        f"'{details['to_name']}' row {na[0].number if na else '?'} after only, "
                        f"same state, model{' and signing date ' + str(na[0].signed) if same and na[0].signed else ''}"
                        + (links if kind != "pending_renamed" else ""))
    if kind == "state_corrected":
        ob = mine(before, st=details["from_state"])
        na = mine(after, st=details["to_state"])
        return verdict(bool(ob and na) and not mine(after, st=details["from_state"]),
                       f"{details['from_state']} before, {details['to_state']} after, same name/model/date")
    if kind == "duplicate_row_removed":
        kept = {fold(details["kept_name"])} if "kept_name" in details else names
        gone = {fold(details["removed_name"])} if "removed_name" in details else names
        rows_b = [r for r in before if r.model == model and r.state == state and r.fold in kept | gone]
        rows_a = [r for r in after if r.model == model and r.state == state and r.fold in kept | gone]
        return verdict(len(rows_b) > len(rows_a) >= 1,
                       f"{len(rows_b)} rows before ({', '.join(f'{r.name} r{r.number} {r.signed}' for r in rows_b)}),"
                       f" {len(rows_a)} after")
    return printed, "unsettled", f"no check for {kind}"


def recall(archive: Archive, events: list[sqlite3.Row]) -> Counter:
    """Naive differences between consecutive sheets that no event explains, by the kind
    they would need."""
    explained = defaultdict(set)   # after pub -> folded names g287 reports on
    signed = set()                 # names of agencies g287 reports as signed, at any publication
    for e in events:
        d = json.loads(e["details"])
        explained[e["after_pub"]] |= archive.spellings[e["agency_id"]] | {
            fold(d.get(k)) for k in ("from_name", "to_name", "kept_name", "removed_name") if d.get(k)}

    for e in archive.conn.execute("SELECT agency_id FROM events WHERE kind = 'pending_signed'"):
        signed |= archive.spellings[e["agency_id"]]   # including the first sheets' signings
    same_agency = {}
    for agency_id, spellings in archive.spellings.items():
        for s in spellings:
            same_agency[s] = agency_id
    missing = Counter()
    for list_name in ("participating", "pending"):
        pubs = archive.ordered(list_name)
        for before, after in zip(pubs, pubs[1:], strict=False):
            keys = {p: {(r.state, r.fold, r.model) for r in archive.rows(p)} for p in (before, after)}
            agencies = {p: {(same_agency.get(k[1]), k[2]) for k in keys[p]} for p in (before, after)}
            for label, left, right in (("gone", before, after), ("new", after, before)):
                for key in keys[left] - keys[right]:
                    if (same_agency.get(key[1]), key[2]) in agencies[right]:
                        continue  # another spelling of the same agency and model: no event due
                    if key[1] not in explained[after] and not (
                            list_name == "pending" and label == "gone" and key[1] in signed):
                        missing[f"{list_name} row {label}"] += 1
                        print(f"unexplained: {list_name} {label} {key} {archive.pubs[after][0]}",
                              file=sys.stderr)
    return missing


def main() -> None:
    db, sheets = Path(sys.argv[1]), Path(sys.argv[2])
    show = sys.argv[sys.argv.index("--show") + 1] if "--show" in sys.argv else None
    archive = Archive(db, sheets)
    events = archive.conn.execute("SELECT * FROM events WHERE before_pub IS NOT NULL ORDER BY seq").fetchall()
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(COLUMNS)
    tally: dict[str, Counter] = defaultdict(Counter)
    for e in events:
        printed, verdict, evidence = check(archive, e)
        tally[e["kind"]][verdict] += 1
        if json.loads(e["details"]).get("provisional"):
            evidence += " (g287 marks it provisional: the signing window was still open at the archive's end)"
        writer.writerow([e["kind"], e["date"], e["state"], printed, e["model"] or "",
                         archive.pubs[e["before_pub"]][0], archive.pubs[e["after_pub"]][0], verdict, evidence])
        if show == e["kind"]:
            names = archive.spellings[e["agency_id"]]
            print(f"\n== {e['kind']} {e['date']} {printed}: {evidence}", file=sys.stderr)
            for pub in (e["before_pub"], e["after_pub"]):
                for r in archive.rows(pub):
                    if r.state == e["state"] and (r.fold in names or related(r.fold, fold(printed))):
                        print(f"   {archive.pubs[pub][0]}: {r}", file=sys.stderr)
    for kind, counts in sorted(tally.items()):
        total = sum(counts.values())
        print(f"{kind}: {total} events, {counts['confirmed']} confirmed, {counts['refuted']} refuted, "
              f"{counts['unsettled']} unsettled; precision {counts['confirmed'] / total:.0%}", file=sys.stderr)
    print(f"naive differences no event explains: {dict(recall(archive, events)) or 0}", file=sys.stderr)


if __name__ == "__main__":
    main()

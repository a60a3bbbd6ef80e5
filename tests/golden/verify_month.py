"""Check g287's change events across one month of ``sheets-2025-2026/`` against the sheets.

Independent of g287's reader and normalizers (openpyxl only; names folded for case, spacing,
apostrophes; states by name; models by keyword; links with SafeLinks unwrapped). g287's
history database (built from the window's sheets: the last sheets before the month as the
baseline, then every sheet of the month) supplies the claims; each is confirmed or refuted
from the two sheets it names, and a naive diff of consecutive sheets of each list looks for
changes no event explains (recall). Kinds it cannot settle mechanically (renames, relabels,
duplicates, state corrections) are printed with both sheets' rows, to be read by hand.

    python tests/golden/verify_month.py HISTORY.sqlite SHEETS_DIR > tests/golden/events_2025_12.csv
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import re
import sqlite3
import sys
from collections import Counter, defaultdict
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import openpyxl

COLUMNS = ("kind", "date", "state", "agency", "model", "before_file", "after_file", "verdict")
STATES = {"ALABAMA": "AL", "ALASKA": "AK", "ARIZONA": "AZ", "ARKANSAS": "AR", "CALIFORNIA": "CA",
          "COLORADO": "CO", "CONNECTICUT": "CT", "DELAWARE": "DE", "FLORIDA": "FL", "GEORGIA": "GA",
          "HAWAII": "HI", "IDAHO": "ID", "ILLINOIS": "IL", "INDIANA": "IN", "IOWA": "IA",
          "KANSAS": "KS", "KENTUCKY": "KY", "LOUISIANA": "LA", "MAINE": "ME", "MARYLAND": "MD",
          "MASSACHUSETTS": "MA", "MICHIGAN": "MI", "MINNESOTA": "MN", "MISSISSIPPI": "MS",
          "MISSOURI": "MO", "MONTANA": "MT", "NEBRASKA": "NE", "NEVADA": "NV", "NEWHAMPSHIRE": "NH",
          "NEWJERSEY": "NJ", "NEWMEXICO": "NM", "NEWYORK": "NY", "NORTHCAROLINA": "NC",
          "NORTHDAKOTA": "ND", "OHIO": "OH", "OKLAHOMA": "OK", "OREGON": "OR", "PENNSYLVANIA": "PA",
          "RHODEISLAND": "RI", "SOUTHCAROLINA": "SC", "SOUTHDAKOTA": "SD", "TENNESSEE": "TN",
          "TEXAS": "TX", "UTAH": "UT", "VERMONT": "VT", "VIRGINIA": "VA", "WASHINGTON": "WA",
          "WESTVIRGINIA": "WV", "WISCONSIN": "WI", "WYOMING": "WY", "PUERTORICO": "PR", "GUAM": "GU"}
MECHANICAL = {"agreement_added", "model_added", "agreement_removed", "pending_added", "agreement_renamed",
              "pending_withdrawn", "pending_signed", "signing_date_corrected", "moa_published",
              "moa_link_changed", "agreement_reinstated"}


def fold(text: object) -> str:
    return " ".join(str(text or "").replace("\u2019", "'").replace("\xa0", " ").lower().split())


def state(text: object) -> str:
    return STATES.get(re.sub(r"[^A-Z]", "", str(text or "").upper()), str(text))


def model(text: object) -> str:
    t = fold(text)
    return "JEM" if "jail" in t else "WSO" if "warrant" in t else "TFM" if "task" in t else t


def link(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.netloc.endswith("safelinks.protection.outlook.com"):
        url = parse_qs(parts.query).get("url", [url])[0]
    return re.sub(r"^https?://(www\.)?", "", url.strip()).lower()


def read(path: Path) -> dict[tuple[str, str, str], dict]:
    """(state, folded name, model) -> {signed, link, name} of each data row."""
    sheet = openpyxl.load_workbook(path).active
    rows = list(sheet.iter_rows())
    header = [fold(c.value) for c in rows[0]]
    col = {name: header.index(name) for name in header if name}
    out = {}
    for row in rows[1:]:
        if not any(c.value not in (None, "") and str(c.value).strip() for c in row):
            continue
        name = row[col["law enforcement agency"]].value
        key = (state(row[col["state"]].value), fold(name), model(row[col["support type"]].value))
        signed = row[col["signed"]].value if "signed" in col else None
        moa = row[col["moa"]].hyperlink if "moa" in col else None
        out[key] = {"signed": signed.date() if hasattr(signed, "date") else signed,
                    "link": link(moa.target if moa else None), "name": " ".join(str(name).split())}
    return out


def main() -> None:
    db, folder = sqlite3.connect(sys.argv[1]), Path(sys.argv[2])
    db.row_factory = sqlite3.Row
    by_sha = {hashlib.sha256(p.read_bytes()).hexdigest(): p for p in folder.rglob("*.xlsx")}
    pubs = {r["id"]: (by_sha[r["sha256"]], r["list"], r["seq"]) for r in db.execute("SELECT * FROM publications")}
    sheets = {pub: read(path) for pub, (path, _, _) in pubs.items()}
    writer = csv.writer(sys.stdout, lineterminator="\n")
    writer.writerow(COLUMNS)
    explained: dict[tuple[str, str], set] = defaultdict(set)
    tally: Counter = Counter()
    signed: set[tuple[str, str]] = set()
    for e in db.execute("SELECT e.*, a.name FROM events e JOIN agencies a USING (agency_id)"
                        " WHERE before_pub IS NOT NULL ORDER BY seq"):
        before, after = sheets[e["before_pub"]], sheets[e["after_pub"]]
        mine = [k for k in (*after, *before) if k[0] == e["state"] and k[2] == (e["model"] or k[2])
                and k[1] in spellings(db, e["agency_id"])]
        key = mine[0] if mine else None
        verdict = "by_hand"
        if e["kind"] in MECHANICAL and key:
            earlier = [sheets[p] for p, (_, list_name, seq) in pubs.items()
                       if list_name == pubs[e["after_pub"]][1] and seq < pubs[e["after_pub"]][2]]
            verdict = "confirmed" if confirm(e["kind"], key, before, after, earlier) else "refuted"
        elif e["kind"] in MECHANICAL:
            verdict = "refuted"
        tally[(e["kind"], verdict)] += 1
        for k in mine:
            explained[(e["before_pub"], e["after_pub"])].add(k)
        if e["kind"] == "pending_signed":   # leaves the pending list under any of its spellings
            signed |= {(e["state"], name) for name in spellings(db, e["agency_id"])}
        name = (after.get(key) or before.get(key) or {}).get("name", e["name"]) if key else e["name"]
        writer.writerow([e["kind"], e["date"], e["state"], name, e["model"] or "",
                         pubs[e["before_pub"]][0].name, pubs[e["after_pub"]][0].name, verdict])
        if verdict == "by_hand":
            print(f"== {e['kind']} {e['date']} {name}: {e['details']}", file=sys.stderr)
    unexplained = Counter()
    for (before_pub, after_pub), keys in explained.items():
        before, after = sheets[before_pub], sheets[after_pub]
        changed = set(before) ^ set(after)
        for k in changed:
            if k not in keys and (k[0], k[1]) not in signed and not respelled(k, changed):
                unexplained[pubs[after_pub][0].name] += 1
                print(f"   unexplained: {k} ({pubs[after_pub][0].name})", file=sys.stderr)
    print(dict(tally), file=sys.stderr)
    print(f"naive differences no event explains: {dict(unexplained) or 0}", file=sys.stderr)


def respelled(key: tuple, changed: set) -> bool:
    """A name ICE retyped (``Dimmit Couny`` → ``Dimmit County``): one key gone and one come
    with the same state and model and names one or two letters apart. No event: same agency."""
    return any(k != key and k[0] == key[0] and k[2] == key[2]
               and difflib.SequenceMatcher(None, k[1], key[1]).ratio() >= 0.9 for k in changed)


def spellings(db: sqlite3.Connection, agency_id: str) -> set[str]:
    return {fold(r[0]) for r in db.execute("SELECT spelling FROM agency_names WHERE agency_id = ?",
                                           (agency_id,))}


def confirm(kind: str, key: tuple, before: dict, after: dict, earlier: list[dict]) -> bool:
    """Whether the sheets show the event: ``before`` and ``after`` are the two sheets it names,
    ``earlier`` every sheet of the list before ``after`` (a row can come back after a gap)."""
    if kind in ("agreement_added", "model_added", "pending_added"):
        return key in after and key not in before
    if kind in ("agreement_removed", "pending_withdrawn"):
        return key in before and key not in after
    if kind == "pending_signed":   # on the participating sheet it names, and not pending any more
        return key in after
    if kind == "signing_date_corrected":   # against the last sheet that printed the row
        last = before if key in before else next((s for s in reversed(earlier) if key in s), {})
        return key in last and key in after and last[key]["signed"] != after[key]["signed"]
    if kind == "agreement_renamed":   # retyped: its old spelling gone, the new one come (respelled)
        gone = [k for k in before if k not in after and k[0] == key[0] and k[2] == key[2]]
        return key in after and key not in before and respelled(key, set(gone) | {key})
    if kind == "agreement_reinstated":
        return key in after and key not in before and any(key in s for s in earlier)
    if kind == "moa_published":
        return key in after and bool(after[key]["link"]) and not (before.get(key) or {}).get("link")
    if kind == "moa_link_changed":
        return key in after and key in before and after[key]["link"] != before[key]["link"]
    return False


if __name__ == "__main__":
    main()

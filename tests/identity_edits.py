"""ICE-style edits by class, applied to synthetic sheets: the generalization harness of lineage.

Each class builds a small history (participating sheets, and pending sheets where the class
needs them) around one edit ICE could make next, with the events a careful reader of the
sheets would record. :func:`run` ingests it with g287 and compares. Names, states, dates and
links are drawn from a seed, never from the shared archive, so the harness checks the rules,
not today's names.

    python tests/identity_edits.py [SEEDS]     # the precision/recall table (docs/ARCHITECTURE.md)
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from g287 import ingest, query, store  # noqa: E402
from sheets import PARTICIPATING_HEADER, PENDING_HEADER, write_sheet  # noqa: E402

D = dt.date
STATES = {"OH": "OHIO", "PA": "PENNSYLVANIA", "GA": "GEORGIA", "IA": "IOWA", "TX": "TEXAS", "FL": "FLORIDA"}
MODELS = {"TFM": "Task Force Model", "WSO": "Warrant Service Officer", "JEM": "Jail Enforcement Model"}
PLACES = ("Alder", "Birchwood", "Cedarton", "Dunmore", "Elkhart", "Fairview", "Glenrock", "Harlan",
          "Ironwood", "Juniper", "Kestrel", "Larkin", "Marlow", "Norwood", "Oakridge", "Pembroke",
          "Quarry", "Redfield", "Sheldon", "Thornton", "Upton", "Verona", "Walden", "Yardley")
MOA = "https://www.ice.gov/doclib/287gMOA/{}.pdf"
DEPARTURES = ("agreement_removed", "pending_withdrawn")


@dataclass(frozen=True, slots=True)
class Row:
    state: str
    name: str
    kind: str
    county: str
    model: str
    signed: dt.date | None = None
    link: str | None = None


@dataclass(slots=True)
class Case:
    """A history: participating and pending sheets by label date, and the events expected
    (kind, or kind:status for departures) for the agencies the edit touched."""

    name: str
    participating: list[tuple[dt.date, list[Row]]] = field(default_factory=list)
    pending: list[tuple[dt.date, list[Row]]] = field(default_factory=list)
    expected: Counter = field(default_factory=Counter)
    watched: set[str] = field(default_factory=set)   # agency names whose events count


def _filler(rng: random.Random, count: int, state: str, start: dt.date) -> list[Row]:
    """Agencies that stay untouched (and one added per sheet, to keep sheets distinct)."""
    rows = []
    for i in range(count):
        place = f"{rng.choice(PLACES)}{'ville' if i % 2 else 'berg'}{i}"
        rows.append(Row(state, f"{place} County Sheriff's Office", "County", f"{place} County",
                        rng.choice(list(MODELS)), start - dt.timedelta(days=30 + i), f"{place}_moa"))
    return rows


def _history(name: str, before: list[Row], after: list[Row], rng: random.Random,
             back: list[Row] | None = None) -> Case:
    """Five participating sheets a week apart: before, before, after, after (or ``back``),
    after (or ``back``), each with one filler agency more (so no two sheets are equal)."""
    state = before[0].state if before else after[0].state
    start = D(2026, 1, 5)
    base = _filler(rng, 4, state, start)
    extra = _filler(random.Random(rng.random()), 9, state, start)[4:]
    case = Case(name)
    for week, rows in enumerate((before, before, after, back or after, back or after)):
        day = start + dt.timedelta(days=7 * week)
        case.participating.append((day, base + extra[:week] + rows))
    case.watched = {r.name for r in (*before, *after, *(back or ()))}
    return case


def _place(rng: random.Random) -> str:
    return rng.choice(PLACES)


def _date(rng: random.Random) -> dt.date:
    """A signing date before every sheet of the case, also when moved 170 days later."""
    return D(2025, 1, 1) + dt.timedelta(days=rng.randrange(190))


def _renamed(old: str, new: str, rng: random.Random, kind: str, *, link: bool, relabel: bool = False,
             state: str | None = None) -> Case:
    state = state or rng.choice(list(STATES))
    day, model = _date(rng), rng.choice(list(MODELS))
    moa = f"{_place(rng)}_{model}_{day:%m%d%y}" if link else None
    county = f"{_place(rng)} County"
    case = _history(kind, [Row(state, old, "State Agency", county, model, day, moa)],
                    [Row(state, new, "State Agency", county, model, day, moa)], rng)
    case.expected["agreement_relabelled" if relabel else "agreement_renamed"] += 1
    return case


def acronym(rng: random.Random) -> Case:
    """Department of Corrections → DOC, Police Department → P.D., Sheriff's Office → S.O."""
    place = _place(rng)
    old, new = rng.choice([(f"{place} Department of Corrections", f"{place} DOC"),
                           (f"{place} Department of Public Safety", f"{place} DPS"),
                           (f"{place} Police Department", f"{place} P.D."),
                           (f"{place} County Sheriff's Office", f"{place} County S.O.")])
    return _renamed(old, new, rng, "acronym", link=rng.random() < 0.5)


def role_added(rng: random.Random) -> Case:
    """A role word printed on one side only: "X Township" → "X Township Constables Office"."""
    place = _place(rng)
    return _renamed(f"{place} Township", f"{place} Township Constables Office", rng, "role_added",
                    link=rng.random() < 0.5)


def role_typo(rng: random.Random) -> Case:
    """A typo inside the role word ("Constbales", "Sherrif's")."""
    place = _place(rng)
    old, new = rng.choice([(f"{place} Township Constables", f"{place} Township Constbales"),
                           (f"{place} County Sheriff's Office", f"{place} County Sherrif's Office")])
    return _renamed(old, new, rng, "role_typo", link=rng.random() < 0.5)


def word_order(rng: random.Random) -> Case:
    """"Y Constable Office" → "Office of Constable Y"."""
    place = _place(rng)
    return _renamed(f"{place} Constable Office", f"Office of Constable {place}", rng, "word_order",
                    link=rng.random() < 0.5)


def truncated(rng: random.Random) -> Case:
    """A name cut by the cell's width, then printed whole: "… Sheriff's Offic" → "… Office"."""
    place = _place(rng)
    return _renamed(f"{place} County Sheriff's Offic", f"{place} County Sheriff's Office", rng,
                    "truncated", link=rng.random() < 0.5)


def relabel_same_moa(rng: random.Random) -> Case:
    """Another body's name on the same agreement: same MOA link, date and model."""
    place = _place(rng)
    old, new = rng.choice([(f"{place} Fish and Wildlife Conservation Commission",
                            f"{place} Department of Environmental Protection"),
                           (f"{place} County Sheriff's Office", f"{place} County Board of Commissioners")])
    return _renamed(old, new, rng, "relabel_same_moa", link=True, relabel=True)


def lookalike_neighbour(rng: random.Random) -> Case:
    """A neighbouring county one letter apart replaces another, with its own link, county
    and date: two agencies (a departure and an arrival), never a merge."""
    state, model = rng.choice(list(STATES)), rng.choice(list(MODELS))
    place = rng.choice([p for p in PLACES if len(p) >= 5])
    i = rng.randrange(1, len(place) - 1)
    other = place[:i] + ("m" if place[i] != "m" else "n") + place[i + 1:]
    day = _date(rng)
    old = Row(state, f"{place} County Sheriff's Office", "County", f"{place} County", model, day, f"{place}_moa")
    new = Row(state, f"{other} County Sheriff's Office", "County", f"{other} County", model,
              day + dt.timedelta(days=rng.randrange(70, 170)), f"{other}_moa")
    case = _history("lookalike_neighbour", [old], [new], rng)
    case.expected.update({"agreement_removed:confirmed": 1, "agreement_added": 1})
    return case


def same_name_other_county(rng: random.Random) -> Case:
    """The same office name in another county, another link, a date 90 days later: the
    old agreement left and another began (not a corrected date)."""
    state, model = rng.choice(list(STATES)), rng.choice(list(MODELS))
    name, day = f"{_place(rng)} Police Department", _date(rng)
    a, b = rng.sample(PLACES, 2)
    old = Row(state, name, "Municipality", f"{a} County", model, day, f"{a}_pd")
    new = Row(state, name, "Municipality", f"{b} County", model, day + dt.timedelta(days=90), f"{b}_pd")
    case = _history("same_name_other_county", [old], [new], rng)
    case.expected.update({"agreement_removed:confirmed": 1, "agreement_added": 1})
    return case


def place_typo_with_evidence(rng: random.Random) -> Case:
    """A one-letter typo in the place with the same link, date and county: a rename."""
    place = rng.choice([p for p in PLACES if len(p) >= 6])
    typo = place[:-2] + place[-1] + place[-2]
    return _renamed(f"{place} Police Department", f"{typo} Police Department", rng,
                    "place_typo_with_evidence", link=True)


def omission(rng: random.Random) -> Case:
    """Left out of one sheet, back on the next: a recorded omission, not a departure."""
    state, model, day = rng.choice(list(STATES)), rng.choice(list(MODELS)), _date(rng)
    row = Row(state, f"{_place(rng)} County Sheriff's Office", "County", "", model, day, None)
    case = _history("omission", [row], [], rng, back=[row])
    case.expected.update({"agreement_removed:retracted": 1, "agreement_reinstated": 1})
    return case


def state_misprint(rng: random.Random) -> Case:
    """Printed under another state for one sheet, then fixed."""
    state, wrong = rng.sample(list(STATES), 2)
    model, day = rng.choice(list(MODELS)), _date(rng)
    name = f"{_place(rng)} County Sheriff's Office"
    row = Row(state, name, "County", "", model, day, f"{name[:5]}_{model}")
    case = _history("state_misprint", [row], [replace(row, state=wrong)], rng, back=[row])
    case.expected["state_corrected"] += 2
    return case


def duplicate_row(rng: random.Random) -> Case:
    """A second copy of a row, deleted."""
    state, model, day = rng.choice(list(STATES)), rng.choice(list(MODELS)), _date(rng)
    place = _place(rng)
    first = Row(state, f"City of {place} Police Department", "Municipality", "", model, day, None)
    second = Row(state, f"{place} Police Department", "Municipality", "", model, day, f"{place}_pd")
    case = _history("duplicate_row", [first, second], [second], rng)
    case.expected["duplicate_row_removed"] += 1
    return case


def pending_respelled(rng: random.Random) -> Case:
    """Pending under one spelling, signed under another (the held-back sheets' classes)."""
    place = _place(rng)
    pend, signed = rng.choice([(f"{place} Township, PA", f"{place} Township Constables Office"),
                               (f"{place} Constable Office, PA", f"Office of Constable {place} 6th Ward"),
                               (f"{place} Township Constbales, PA", f"{place} Township Constables"),
                               (f"{place} Department of Public Safety", f"{place} DPS")])
    model = rng.choice(list(MODELS))
    start = D(2026, 1, 5)
    row = Row("PA", signed, "Municipality", "", model, start + dt.timedelta(days=3), None)
    case = _history("pending_respelled", [], [row], rng)
    case.pending = [(start, [Row("PA", pend, "Municipality", "", model)]),
                    (start + dt.timedelta(days=14), []), (start + dt.timedelta(days=28), [])]
    case.watched |= {pend}
    case.expected.update({"agreement_added": 1, "pending_signed": 1})
    return case


def relabel_same_date(rng: random.Random) -> Case:
    """Another signatory of the same agreement printed without a link: one county, and a
    signing date that no other agreement arriving or leaving has (Sheriff → Prison, PD →
    Public Safety, a constable district renumbered)."""
    place = _place(rng)
    old, new = rng.choice([(f"{place} County Sheriff's Office", f"{place} County Prison"),
                           (f"{place} County Sheriff's Office", f"{place} County Attorney's Office"),
                           (f"{place} State Constable 4th District", f"{place} County Constable District 4")])
    return _renamed(old, new, rng, "relabel_same_date", link=False, relabel=True)


CLASSES: dict[str, Callable[[random.Random], Case]] = {f.__name__: f for f in (
    acronym, role_added, role_typo, word_order, truncated, relabel_same_moa, relabel_same_date,
    place_typo_with_evidence,
    lookalike_neighbour, same_name_other_county, omission, state_misprint, duplicate_row,
    pending_respelled)}


def _write(folder: Path, case: Case) -> list[Path]:
    paths = []
    for day, rows in case.participating:
        cells = [[STATES[r.state], r.name, r.kind, r.county or "#N/A", MODELS[r.model], r.signed,
                  "link" if r.link else "link pending"] for r in rows]
        links = {(i, 6): MOA.format(r.link) for i, r in enumerate(rows) if r.link}
        paths.append(write_sheet(folder / f"sheets_{day:%Y%m%d}_160000" /
                                 f"participatingAgencies{day:%m%d%Y}am.xlsx", PARTICIPATING_HEADER, cells, links))
    for day, rows in case.pending:
        cells = [[STATES[r.state], r.name, r.kind, r.county or "#N/A", MODELS[r.model]] for r in rows]
        paths.append(write_sheet(folder / f"sheets_{day:%Y%m%d}_150000" /
                                 f"pendingAgencies{day:%m%d%Y}am.xlsx", PENDING_HEADER, cells))
    return paths


def found_events(folder: Path, case: Case) -> Counter:
    """Ingest the case's sheets; the events about the watched agencies (any spelling)."""
    conn = store.connect(folder / "h.sqlite")
    try:
        report = ingest.ingest_paths(conn, _write(folder, case))
        assert not report.failed, report.failed
        spellings: dict[str, set[str]] = {}
        for agency_id, spelling in conn.execute("SELECT agency_id, spelling FROM agency_names"):
            spellings.setdefault(agency_id, set()).add(spelling)
        found = Counter()
        for e in query.changes(conn, status="all"):
            if not spellings.get(e.agency_id, set()) & case.watched or e.kind == "moa_published":
                continue
            found[f"{e.kind}:{e.status}" if e.kind in DEPARTURES else e.kind] += 1
        return found
    finally:
        conn.close()


def run(name: str, seed: int, folder: Path) -> tuple[Counter, Counter]:
    """Expected and found events of one class for one seed."""
    case = CLASSES[name](random.Random(f"{name}:{seed}"))
    expected = Counter({k: v for k, v in case.expected.items() if v})
    return expected, found_events(folder, case)


def table(seeds: int) -> str:
    """Precision and recall of events per class and per event kind, over ``seeds`` seeds."""
    kinds: dict[str, Counter] = {}
    lines = ["| class | cases | events expected | found | correct | precision | recall |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name in CLASSES:
        exp_total = found_total = hit_total = 0
        for seed in range(seeds):
            with tempfile.TemporaryDirectory() as tmp:
                expected, found = run(name, seed, Path(tmp))
            hit = expected & found
            exp_total, found_total, hit_total = (exp_total + sum(expected.values()),
                                                 found_total + sum(found.values()), hit_total + sum(hit.values()))
            for kind in set(expected) | set(found):
                c = kinds.setdefault(kind, Counter())
                c["expected"] += expected[kind]
                c["found"] += found[kind]
                c["hit"] += hit[kind]
        lines.append(f"| {name} | {seeds} | {exp_total} | {found_total} | {hit_total} | "
                     f"{_pct(hit_total, found_total)} | {_pct(hit_total, exp_total)} |")
    lines += ["", "| event (kind:status) | expected | found | precision | recall |",
              "| --- | --- | --- | --- | --- |"]
    for kind in sorted(kinds):
        c = kinds[kind]
        lines.append(f"| {kind} | {c['expected']} | {c['found']} | {_pct(c['hit'], c['found'])} | "
                     f"{_pct(c['hit'], c['expected'])} |")
    return "\n".join(lines)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "—"


if __name__ == "__main__":
    print(table(int(sys.argv[1]) if len(sys.argv) > 1 else 5))

"""A deterministic generator of long, realistic ICE 287(g) histories, as real xlsx files.

    python bench/synthetic.py OUT [--publications 377] [--start-rows 100] [--end-rows 2700]
                                  [--seed 287]

Writes ``OUT/sheets_YYYYMMDD_HHMMSS/participatingAgenciesMMDDYYYYam.xlsx`` and
``pendingAgencies….xlsx``, the capture-folder layout ``g287 ingest`` reads. Between
publications the participating list grows (geometrically, from ``start_rows`` to
``end_rows``) and changes the way ICE's lists change: agreements are added (some by
pending entries that sign) and removed, renewed (a signing date more than 180 days
later) and re-dated by a day, agencies renamed, names misprinted for one publication
and put right, rows printed twice, MOA links posted after "link pending". The pending
list gains entries, loses some (withdrawn) and passes others to the participating list.
The same parameters and seed give the same files, byte for byte.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import random
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import xlsxwriter

STATES = ("ALABAMA", "ARIZONA", "ARKANSAS", "CALIFORNIA", "COLORADO", "FLORIDA", "GEORGIA", "IDAHO",
          "INDIANA", "IOWA", "KANSAS", "KENTUCKY", "LOUISIANA", "MAINE", "MARYLAND", "MICHIGAN",
          "MISSISSIPPI", "MISSOURI", "MONTANA", "NEBRASKA", "NEVADA", "NEW HAMPSHIRE",
          "NEW JERSEY", "NEW MEXICO", "NORTH CAROLINA", "NORTH DAKOTA", "OHIO", "OKLAHOMA",
          "PENNSYLVANIA", "SOUTH CAROLINA", "SOUTH DAKOTA", "TENNESSEE", "TEXAS", "UTAH",
          "VIRGINIA", "WASHINGTON", "WEST VIRGINIA", "WISCONSIN", "WYOMING")
MODELS = ("Jail Enforcement Model", "Warrant Service Officer", "Task Force Model")
_SYLLABLES = ("ban", "ber", "cal", "dor", "el", "fair", "gar", "hal", "ing", "kel", "lan", "mar",
              "nor", "os", "par", "quin", "ros", "sal", "tan", "ver", "wil", "york", "ash", "brook",
              "clay", "dale", "field", "glen", "hart", "lake", "mont", "ridge", "stone", "wood")
HEADER = ("STATE", "LAW ENFORCEMENT AGENCY", "TYPE", "COUNTY", "SUPPORT TYPE", "SIGNED", "MOA",
          "ADDENDUM")
PENDING_HEADER = HEADER[:5]


@dataclass(frozen=True, slots=True)
class Params:
    """What shapes a history: its length, its sizes, its pace of change and its seed."""

    publications: int = 377        # participating sheets (a pending sheet beside each)
    start_rows: int = 100
    end_rows: int = 2700
    pending_rows: int = 60         # typical size of the pending list
    first_label: str = "2015-01-05"
    days_between: int = 10
    removal_rate: float = 0.003    # share of agreements removed per publication
    renewal_rate: float = 0.002
    redate_rate: float = 0.001
    rename_rate: float = 0.001
    typo_rate: float = 0.002
    duplicate_rate: float = 0.001
    seed: int = 287

    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:16]


@dataclass(slots=True)
class _Agency:
    state: str
    name: str
    kind: str
    county: str


@dataclass(slots=True)
class _Agreement:
    agency: _Agency
    model: str
    signed: dt.date
    moa: str | None = None        # URL once posted
    duplicate_until: int = -1     # printed twice up to this publication
    typo_at: int = -1             # misprinted on this publication only


@dataclass(slots=True)
class _World:
    rng: random.Random
    params: Params
    agencies: dict[tuple[str, str], _Agency] = field(default_factory=dict)
    active: list[_Agreement] = field(default_factory=list)
    pending: list[tuple[_Agency, str]] = field(default_factory=list)

    def new_agency(self) -> _Agency:
        while True:
            place = "".join(self.rng.choice(_SYLLABLES) for _ in range(self.rng.choice((2, 2, 3))))
            place = place.capitalize()
            state = self.rng.choice(STATES)
            if self.rng.random() < 0.6:
                agency = _Agency(state, f"{place} County Sheriff's Office", "County",
                                 f"{place} County")
            else:
                county = "".join(self.rng.choice(_SYLLABLES) for _ in range(2)).capitalize()
                agency = _Agency(state, f"{place} Police Department", "Municipality",
                                 f"{county} County")
            if (state, agency.name) not in self.agencies:
                self.agencies[(state, agency.name)] = agency
                return agency

    def sign(self, agency: _Agency, model: str, day: dt.date) -> None:
        if any(a.agency is agency and a.model == model for a in self.active):
            return
        self.active.append(_Agreement(agency, model, day - dt.timedelta(days=self.rng.randint(1, 20))))


def _typo(name: str, rng: random.Random) -> str:
    words = name.split()
    index = rng.randrange(len(words))
    word = words[index]
    if len(word) >= 6:
        at = rng.randrange(1, len(word) - 2)
        words[index] = word[:at] + word[at + 1] + word[at] + word[at + 2:]
    return " ".join(words)


def _moa_url(agreement: _Agreement) -> str:
    slug = "".join(c for c in agreement.agency.name.title() if c.isalnum())
    code = "".join(w[0] for w in agreement.model.split())
    return (f"https://www.ice.gov/doclib/287gMOA/{slug}{agreement.agency.state[:2]}_{code}_MOA_"
            f"{agreement.signed:%m.%d.%y}.pdf")


def _step(world: _World, index: int, day: dt.date, target: int) -> None:
    """Change the world from the previous publication to this one."""
    rng, p = world.rng, world.params
    for agreement in list(world.active):
        roll = rng.random()
        if roll < p.removal_rate:
            world.active.remove(agreement)
        elif roll < p.removal_rate + p.renewal_rate and (day - agreement.signed).days > 400:
            agreement.signed, agreement.moa = day - dt.timedelta(days=rng.randint(1, 9)), None
        elif roll < p.removal_rate + p.renewal_rate + p.redate_rate:
            agreement.signed += dt.timedelta(days=1)
        elif roll < p.removal_rate + p.renewal_rate + p.redate_rate + p.rename_rate:
            agency = agreement.agency
            agency.name = (agency.name.replace("Sheriff's", "Sheriffs") if "Sheriff's" in agency.name
                           else agency.name.replace("Police Department", "Police Dept."))
        elif roll < 1 - p.typo_rate - p.duplicate_rate:
            pass
        elif roll < 1 - p.duplicate_rate:
            agreement.typo_at = index
        else:
            agreement.duplicate_until = index + rng.randint(1, 6)
        if agreement.moa is None and rng.random() < 0.08:
            agreement.moa = _moa_url(agreement)
    signing = [entry for entry in world.pending if rng.random() < 0.05]
    for agency, model in signing:
        world.pending.remove((agency, model))
        world.sign(agency, model, day)
    world.pending = [entry for entry in world.pending if rng.random() > 0.01]   # withdrawn
    while len(world.active) < target:
        known = [a.agency for a in world.active]
        agency = rng.choice(known) if known and rng.random() < 0.15 else world.new_agency()
        world.sign(agency, rng.choice(MODELS), day)
    wanted_pending = max(5, int(p.pending_rows * (0.5 + rng.random())))
    while len(world.pending) < wanted_pending:
        world.pending.append((world.new_agency(), rng.choice(MODELS)))


def _write(path: Path, header: tuple[str, ...], rows: list[tuple], created: dt.datetime) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path), {"strings_to_urls": False})
    book.set_properties({"created": created})
    sheet = book.add_worksheet("Sheet1")
    dates = book.add_format({"num_format": "m/d/yyyy"})
    sheet.write_row(0, 0, header)
    for number, row in enumerate(rows, start=1):
        sheet.write_row(number, 0, row[:5])
        if len(row) > 5:
            sheet.write_datetime(number, 5, dt.datetime.combine(row[5], dt.time()), dates)
            if row[6]:
                sheet.write_url(number, 6, row[6], string="link")
            else:
                sheet.write_string(number, 6, "link pending")
    book.close()


def generate(folder: Path, params: Params = Params()) -> list[Path]:
    """Write the history's sheets under ``folder``; return the files, oldest first."""
    world = _World(random.Random(params.seed), params)
    first = dt.date.fromisoformat(params.first_label)
    growth = (params.end_rows / params.start_rows) ** (1 / max(1, params.publications - 1))
    written = []
    for index in range(params.publications):
        day = first + dt.timedelta(days=index * params.days_between)
        target = round(params.start_rows * growth ** index)
        _step(world, index, day, target)
        capture = dt.datetime.combine(day, dt.time(15, 17, 10))
        base = folder / f"sheets_{capture:%Y%m%d_%H%M%S}"
        rows = []
        for agreement in world.active:
            agency = agreement.agency
            name = _typo(agency.name, world.rng) if agreement.typo_at == index else agency.name
            row = (agency.state, name, agency.kind, agency.county, agreement.model, agreement.signed,
                   agreement.moa)
            rows += [row, row] if index <= agreement.duplicate_until else [row]
        rows.sort(key=lambda r: (r[0], r[1], r[4]))
        part = base / f"participatingAgencies{day:%m%d%Y}am.xlsx"
        _write(part, HEADER, rows, capture)
        pending = sorted((a.state, a.name, a.kind, a.county, model) for a, model in world.pending)
        pend = base / f"pendingAgencies{day:%m%d%Y}am.xlsx"
        _write(pend, PENDING_HEADER, pending, capture)
        written += [pend, part]
    return written


def cached(params: Params = Params()) -> Path:
    """The history for these parameters, generated once into the temp folder and reused."""
    folder = Path(tempfile.gettempdir()) / f"g287-synthetic-{params.key()}"
    done = folder / "complete"
    if not done.exists():
        generate(folder, params)
        done.write_text(json.dumps(asdict(params)))
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    defaults = Params()
    for name in ("publications", "start_rows", "end_rows", "pending_rows", "seed"):
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))
    args = parser.parse_args()
    params = Params(publications=args.publications, start_rows=args.start_rows,
                    end_rows=args.end_rows, pending_rows=args.pending_rows, seed=args.seed)
    files = generate(args.out, params)
    print(f"{len(files)} files, {sum(f.stat().st_size for f in files):,} bytes under {args.out}")


if __name__ == "__main__":
    main()

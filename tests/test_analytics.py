"""Analytics on the real archive, each figure checked against an independent reading of
ICE's sheets with openpyxl (not g287's reader): rows, STATE and SUPPORT TYPE cells, the
MOA cells' hyperlinks, and file-name labels."""

from __future__ import annotations

import datetime as dt
import json
import re
import statistics
from collections import Counter
from functools import cache
from pathlib import Path

import openpyxl
import pytest
from typer.testing import CliRunner

from conftest import sheet
from g287.analytics import claims, measures, reference, series
from g287.analytics.report import write_report
from g287.cli import app
from g287.cli.common import to_jsonable

EXAMPLES = Path(__file__).resolve().parents[1] / "examples" / "claims.yaml"
LAST = ("sheets_20250708_151823", "participatingAgencies07072025pm.xlsx")
FIRST = ("sheets_20250519_024330", "participatingAgencies05162025am.xlsx")


@cache
def openpyxl_rows(path: Path) -> list[dict]:
    """Non-blank data rows keyed by header, with the MOA cell's hyperlink target."""
    ws = openpyxl.load_workbook(path).worksheets[0]
    header = [c.value for c in ws[1]]
    rows = []
    for cells in ws.iter_rows(min_row=2):
        values = [c.value for c in cells]
        if not any(v not in (None, "") and str(v).strip() for v in values):
            continue
        row = {h: v for h, v in zip(header, values, strict=False) if h}
        moa = cells[header.index("MOA")] if "MOA" in header else None
        row["_moa_link"] = moa.hyperlink.target if moa is not None and moa.hyperlink else None
        rows.append(row)
    return rows


def test_publication_series_matches_row_counts(history_db, ice_sheets):
    points = {p.publication["file"]: p for p in series.publication_series(history_db, "participating")}
    for capture, name in (FIRST, LAST, ("sheets_20250606_151618", "participatingAgencies06062025am.xlsx")):
        rows = openpyxl_rows(sheet(ice_sheets, capture, name))
        point = points[name]
        assert point.rows == point.count == len(rows)
        models = Counter(str(r["SUPPORT TYPE"]).strip() for r in rows)
        assert point.by_model == {"JEM": models["Jail Enforcement Model"],
                                  "WSO": models["Warrant Service Officer"],
                                  "TFM": models["Task Force Model"]}


def test_growth_between_first_and_last_sheet(history_db, ice_sheets):
    first = len(openpyxl_rows(sheet(ice_sheets, *FIRST)))
    last = len(openpyxl_rows(sheet(ice_sheets, *LAST)))
    result = measures.growth(history_db, dt.date(2025, 5, 16), dt.date(2025, 7, 7))
    assert (result.start.value, result.end.value, result.absolute) == (first, last, last - first)
    assert result.percent == round(100 * (last - first) / first, 1)
    assert result.start.publication["file"] == FIRST[1]


def test_state_share_and_model_share(history_db, ice_sheets):
    rows = openpyxl_rows(sheet(ice_sheets, *LAST))
    florida = [r for r in rows if r["STATE"].strip() == "FLORIDA"]
    result = measures.share(history_db, dt.date(2025, 7, 7), state="FL")
    assert (result.part, result.whole) == (len(florida), len(rows))
    tfm = [r for r in rows if str(r["SUPPORT TYPE"]).strip() == "Task Force Model"]
    fl_tfm = [r for r in tfm if r["STATE"].strip() == "FLORIDA"]
    of_model = measures.share(history_db, dt.date(2025, 7, 7), state="FL", model="TFM", of="model")
    assert (of_model.part, of_model.whole) == (len(fl_tfm), len(tfm))


def _signed(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    match = re.fullmatch(r"(\d{1,2})/(\d{1,2})/?(\d{4})", str(value).strip())  # e.g. 05/082025
    return dt.date(int(match[3]), int(match[1]), int(match[2])) if match else None


def test_new_agreements_per_month_by_signing_date(history_db, ice_sheets):
    days = [_signed(r["SIGNED"]) for r in openpyxl_rows(sheet(ice_sheets, *LAST))]
    expected = Counter(f"{d.year}-{d.month:02d}" for d in days if d and d.year < 3000)
    got = {p.period: p.count for p in measures.new_agreements(history_db, "signed", "month",
                                                              dt.date(2025, 7, 7))}
    assert got == dict(expected)


def test_moa_transparency_counts_hyperlinks(history_db, ice_sheets):
    rows = openpyxl_rows(sheet(ice_sheets, *LAST))
    linked = sum(r["_moa_link"] is not None for r in rows)
    result = measures.moa_transparency(history_db, dt.date(2025, 7, 7))
    assert (result.moa_published, result.agreements) == (linked, len(rows))
    assert result.median_days_until_published is not None and result.median_days_until_published > 0


def _label(path: Path) -> tuple[dt.date, int, str]:
    m = re.search(r"(\d{2})(\d{2})(\d{4})(am|pm)", path.name)
    return dt.date(int(m[3]), int(m[1]), int(m[2])), m[4] == "pm", path.parent.name


def test_pending_pipeline_days_match_an_independent_walk(history_db, ice_sheets):
    """Walk every sheet in label order with openpyxl; for each (state, agency, model) first
    on a pending sheet and later on a participating sheet, days = first participating label
    date − first pending label date. Names are folded only for case, spacing and ’."""
    def key(r: dict) -> tuple:
        name = " ".join(str(r["LAW ENFORCEMENT AGENCY"]).replace("’", "'").lower().split())
        return (str(r["STATE"]).strip().upper(), name, str(r["SUPPORT TYPE"]).strip())
    first_pending: dict[tuple, dt.date] = {}
    days: dict[tuple, int] = {}
    for path in sorted(ice_sheets.rglob("*.xlsx"), key=_label):
        day = _label(path)[0]
        for r in openpyxl_rows(path):
            k = key(r)
            if path.name.startswith("pending"):
                first_pending.setdefault(k, day)
            elif k in first_pending and k not in days:
                days[k] = (day - first_pending[k]).days
    result = measures.pending_pipeline(history_db)
    assert result.median_days_to_signed == statistics.median(days.values())
    assert abs(result.signed - len(days)) <= 3  # spelling folds g287 resolves beyond this walk
    last_pending = openpyxl_rows(sheet(ice_sheets, LAST[0], "pendingAgencies07072025pm.xlsx"))
    assert result.entries == len(last_pending)


def test_daily_series_carries_the_last_publication_forward(history_db):
    points = {p.date: p for p in series.daily_series(history_db)}
    assert points["2025-06-24"].participating_file == "participatingAgencies06232025am.xlsx"
    assert points["2025-06-15"].agreements == points["2025-06-10"].agreements
    assert points["2025-05-15"].agreements is None and points["2025-05-15"].pending_entries == 92


def test_reconstruction_reaches_back_and_says_what_it_cannot_see(history_db, ice_sheets):
    result = series.reconstructed_series(history_db, dt.date(2025, 7, 7))
    dated = [d for d in (_signed(r["SIGNED"]) for r in openpyxl_rows(sheet(ice_sheets, *LAST)))
             if d and d.year < 3000]
    assert result.points[0]["date"] == min(dated).isoformat()
    assert result.points[-1]["reconstructed_agreements"] == len(dated)
    counts = [p["reconstructed_agreements"] for p in result.points]
    assert counts == sorted(counts)
    assert "cannot see agreements that ended" in result.caveat
    assert result.undated == 776 - len(dated)


def test_example_claims_are_exact(history_db):
    results = claims.check_claims(history_db, claims.load_claims(EXAMPLES))
    assert results and {r.verdict for r in results} == {"exact"}
    assert all(r.publication for r in results)


def test_claim_verdicts(history_db):
    checked = claims.check_claims(history_db, [
        {"text": "wrong", "date": "2025-06-06", "metrics": [{"metric": "agreements", "value": 700}]},
        {"text": "near", "date": "2025-06-06", "metrics": [
            {"metric": "agreements", "value": 650, "tolerance": "1%"}]},
        {"text": "too early", "date": "2025-01-20", "metrics": [{"metric": "agreements", "value": 135}]},
    ])
    assert [(r.verdict, r.computed) for r in checked] == [("differs", 649), ("close", 649),
                                                          ("outside_range", None)]
    assert "2025-05-15 to 2025-07-07" in checked[2].note


def test_claims_find_lists_publications(history_db):
    found = claims.find_claim(history_db, "agreements", 649)
    assert [m.publication["file"] for m in found] == ["participatingAgencies06062025am.xlsx"]


def test_report_renders_with_its_figures(history_db, tmp_path):
    path = write_report(history_db, tmp_path / "brief.html", since=dt.date(2025, 7, 1))
    text = path.read_text()
    assert "776" in text and "participatingAgencies07072025pm.xlsx" in text
    assert text.count("<svg") == 2
    assert not re.search(r'(src|href)\s*=\s*["\']https?:|@import|<link', text)  # self-contained
    md = write_report(history_db, tmp_path / "brief.md", as_of=dt.date(2025, 6, 6)).read_text()
    assert "| Agreements | 649 |" in md


def test_reference_data_has_sources():
    assert [m.code for m in reference.models()] == ["JEM", "WSO", "TFM"]
    assert all(e.source.startswith("https://") for e in reference.timeline())


@pytest.mark.parametrize("args, fn", [
    (["growth", "--since", "2025-05-16"],
     lambda c: measures.growth(c, dt.date(2025, 5, 16))),
    (["pending"], lambda c: measures.pending_pipeline(c)),
    (["share", "--state", "TX"], lambda c: measures.share(c, state="TX")),
])
def test_cli_json_equals_library(history_path, history_db, args, fn):
    result = CliRunner().invoke(app, [*args, "--json", "--db", str(history_path)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == to_jsonable(fn(history_db))


def test_claims_check_cli_and_csv(history_path):
    result = CliRunner().invoke(app, ["claims", "check", str(EXAMPLES), "--csv", "--db", str(history_path)])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0].startswith("claim,date,metric")
    assert result.stdout.count(",exact,") == len(result.stdout.splitlines()) - 1


def test_top_states_and_agency_types(history_db, ice_sheets):
    rows = openpyxl_rows(sheet(ice_sheets, *LAST))
    states = Counter(r["STATE"].strip() for r in rows)
    top = measures.top(history_db, "state", dt.date(2025, 7, 7), 3)
    assert [n for _, n in top] == [n for _, n in states.most_common(3)]
    assert top[0] == ("FL", states["FLORIDA"])
    types = Counter(str(r["TYPE"]).strip() for r in rows)
    assert dict(measures.top(history_db, "agency_type", dt.date(2025, 7, 7))) == dict(types)

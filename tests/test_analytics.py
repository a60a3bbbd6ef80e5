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


def test_example_claims_are_exact(long_history_db):
    results = claims.check_claims(long_history_db, claims.load_claims(EXAMPLES))
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
                                                          ("before_archive", None)]
    assert "2025-05-16" in checked[2].note and "reconstructed from signing dates" in checked[2].note


def _reconstructed_first_sheet(ice_sheets: Path, day: dt.date) -> int:
    days = [_signed(r["SIGNED"]) for r in openpyxl_rows(sheet(ice_sheets, *FIRST))]
    return sum(1 for d in days if d and d <= day)


def test_claims_after_the_archive_are_never_judged(history_db, ice_sheets):
    last = openpyxl_rows(sheet(ice_sheets, *LAST))
    states = len({r["STATE"].strip() for r in last} - {"UTAHJ"})  # ICE's typo for UTAH on this sheet
    checked = claims.check_claims(history_db, [
        {"text": "896 in August", "date": "2025-08-15", "metrics": [
            {"metric": "agreements", "value": 896}, {"metric": "states", "value": states}]},
        {"text": "over 1,130", "date": "2025-12-01", "metrics": [
            {"metric": "agreements", "value": 1130, "qualifier": "over"}]},
        {"text": "cites the last sheet", "date": "2025-08-15", "source": LAST[1], "metrics": [
            {"metric": "agreements", "value": len(last)}]},
    ])
    assert {r.verdict for r in checked} == {"after_archive"}
    assert all(r.computed is None and LAST[1] in r.note and "2025-07-07" in r.note for r in checked)
    assert f"said {len(last)}" in checked[0].note and f"said {states}" in checked[1].note
    assert "cited sheet" in checked[-1].note


def test_claims_before_the_archive_give_the_reconstruction(history_db, ice_sheets):
    january = _reconstructed_first_sheet(ice_sheets, dt.date(2025, 1, 20))
    last = len(openpyxl_rows(sheet(ice_sheets, *LAST)))
    checked = claims.check_claims(history_db, [
        {"text": "135 in January", "date": "2025-01-20", "metrics": [{"metric": "agreements", "value": 135}]},
        {"text": "new since January", "date": "2025-07-07", "metrics": [
            {"metric": "new_agreements", "value": 600, "since": "2025-01-20"}]},
        {"text": "pending in March", "date": "2025-03-01", "metrics": [{"metric": "pending_entries", "value": 9}]},
    ])
    assert [r.verdict for r in checked] == ["before_archive"] * 3
    assert checked[0].reconstructed == january and checked[0].computed is None
    assert checked[1].reconstructed == last - january
    assert checked[2].reconstructed is None and "no reconstruction" in checked[2].note


def test_qualifiers_and_new_metrics(history_db, ice_sheets):
    rows = openpyxl_rows(sheet(ice_sheets, *LAST))
    signed_2025 = [r for r in rows if (_signed(r["SIGNED"]) or dt.date.min).year == 2025]
    tfm = sum(str(r["SUPPORT TYPE"]).strip() == "Task Force Model" for r in rows)
    first = len(openpyxl_rows(sheet(ice_sheets, *FIRST)))
    year_share = round(100 * len(signed_2025) / len(rows), 1)
    day = "2025-07-07"
    cases = [
        ({"metric": "agreements", "value": len(rows) - 1, "qualifier": "over"}, "exact"),
        ({"metric": "agreements", "value": len(rows), "qualifier": "more than"}, "differs"),
        ({"metric": "agreements", "value": len(rows), "qualifier": "at least"}, "exact"),
        ({"metric": "agreements", "value": len(rows) + 1, "qualifier": "under"}, "exact"),
        ({"metric": "signed_in_year_share", "value": round(year_share) + 1, "qualifier": "nearly"}, "close"),
        ({"metric": "signed_in_year_share", "value": round(year_share) - 1, "qualifier": "nearly"}, "differs"),
        ({"metric": "agreements", "value": len(rows) + 20, "qualifier": "about"}, "close"),
        ({"metric": "new_agreements", "value": len(rows) - first, "since": "2025-05-16"}, "exact"),
        ({"metric": "model_share", "value": round(100 * tfm / len(rows), 1), "filters": {"model": "TFM"}},
         "exact"),
        ({"metric": "majority", "value": "TFM"}, "exact" if tfm * 2 > len(rows) else "differs"),
        ({"metric": "signed_in_year_share", "value": year_share, "year": 2025}, "exact"),
    ]
    checked = claims.check_claims(history_db, [{"text": "t", "date": day, "metrics": [m for m, _ in cases]}])
    assert [r.verdict for r in checked] == [v for _, v in cases]
    assert checked[7].baseline["file"] == FIRST[1] and checked[7].publication["file"] == LAST[1]


def test_signed_year_restricts_both_sides_of_a_share(history_db, ice_sheets):
    rows = [r for r in openpyxl_rows(sheet(ice_sheets, *LAST)) if (_signed(r["SIGNED"]) or dt.date.min).year == 2025]
    florida = [r for r in rows if r["STATE"].strip() == "FLORIDA"]
    result = measures.share(history_db, dt.date(2025, 7, 7), state="FL", signed_year=2025)
    assert (result.part, result.whole, result.percent) == (len(florida), len(rows), 39.6) == (254, 641, 39.6)
    assert result.denominator == "agreements signed in 2025" and "FL" in result.numerator
    with pytest.raises(measures.MeasureError, match="needs the model"):
        measures.share(history_db, state="FL", of="model")


def test_unknown_claim_keys_fail_with_exit_2(history_path, tmp_path):
    for body, word in (("{metric: agreement, value: 3}", "agreements"),
                       ("{metric: agreements, value: 3, filters: {Stat: FL}}", "signed_year"),
                       ("{metric: agreements, value: 3, signed_year: 2025}", "filters"),
                       ("{metric: agreements, value: 3, qualifier: kinda}", "roughly")):
        path = tmp_path / "c.yaml"
        path.write_text(f"claims:\n  - {{text: x, date: 2025-06-06, metrics: [{body}]}}\n")
        result = CliRunner().invoke(app, ["claims", "check", str(path), "--db", str(history_path)])
        assert result.exit_code == 2, result.output
        assert word in result.output and len(result.output.strip().splitlines()) <= 3


def test_claims_table_never_crashes(history_path, tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("claims:\n"
                    "  - {text: a, date: 2025-06-06, metrics: [{metric: state_share, value: 3}]}\n"
                    "  - {text: b, date: 2025-09-01, metrics: [{metric: majority, value: TFM}]}\n"
                    "  - {text: c, date: 2024-09-01, metrics: [{metric: growth_multiple, value: 2,"
                    " since: 2024-01-01}]}\n"
                    "  - {text: d, date: 2025-06-06, source: nothere.xlsx, metrics: [{metric: agreements,"
                    " value: 3}]}\n")
    result = CliRunner().invoke(app, ["claims", "check", str(path), "--db", str(history_path)])
    assert result.exit_code == 0, result.output
    for verdict in ("unanswer", "after_ar", "before_a"):
        assert verdict in result.output


def test_source_picks_the_cited_content(history_db, ice_sheets):
    morning = len(openpyxl_rows(sheet(ice_sheets, "sheets_20250707_151710", "participatingAgencies07072025am.xlsx")))
    name = "participatingAgencies07032025pm.xlsx"
    first, second = (len(openpyxl_rows(sheet(ice_sheets, c, name)))
                     for c in ("sheets_20250703_151805", "sheets_20250704_151659"))
    claim = {"text": "t", "date": "2025-07-07", "metrics": [{"metric": "agreements", "value": morning}]}
    checked = claims.check_claims(history_db, [
        {**claim, "source": "participatingAgencies07072025am.xlsx"},
        {**claim, "date": "2025-07-03", "source": name},
        {**claim, "date": "2025-07-03", "source": f"{name}@sheets_20250703_151805",
         "metrics": [{"metric": "agreements", "value": first}]},
        {**claim, "date": "2025-07-03", "source": f"{name}@2025-07-04T15:16:59Z",
         "metrics": [{"metric": "agreements", "value": second}]},
    ])
    assert checked[0].verdict == "exact" and checked[0].publication["file"] == "participatingAgencies07072025am.xlsx"
    assert checked[1].verdict == "unanswerable" and "2 contents" in checked[1].note
    assert [r.verdict for r in checked[2:]] == ["exact", "exact"]
    assert checked[2].publication["sha256"] != checked[3].publication["sha256"]


def test_claims_find_lists_publications(history_db):
    found = claims.find_claim(history_db, "agreements", 649)
    assert [m.publication["file"] for m in found if not m.near] == ["participatingAgencies06062025am.xlsx"]


def test_claims_find_sees_replaced_publications(history_db, ice_sheets):
    morning = len(openpyxl_rows(sheet(ice_sheets, "sheets_20250707_151710", "participatingAgencies07072025am.xlsx")))
    found = claims.find_claim(history_db, "agreements", morning)
    replaced = [m for m in found if m.publication["file"] == "participatingAgencies07072025am.xlsx"]
    assert replaced and replaced[0].replaced


def test_pending_as_of_uses_only_what_was_known(history_db, ice_sheets):
    that_day = openpyxl_rows(sheet(ice_sheets, "sheets_20250520_151813", "pendingAgencies05192025pm.xlsx"))
    result = measures.pending_pipeline(history_db, dt.date(2025, 5, 19))
    assert result.entries == result.still_pending == len(that_day)
    assert result.publication["file"] == "pendingAgencies05192025pm.xlsx"
    assert result.left_censored == result.signed and "already pending" in result.note
    before = measures.pending_pipeline(history_db, dt.date(2020, 1, 1))
    assert before.entries is None and before.signed is None and "before the archive" in before.note


def test_every_figure_command_warns_outside_the_archive(history_path):
    for args in (["growth", "--since", "2025-05-16", "--until", "2025-09-01"], ["share", "--as-of", "2025-09-01"],
                 ["status", "--as-of", "2025-09-01"], ["coverage", "--as-of", "2020-01-01"],
                 ["pending", "--as-of", "2020-01-01"], ["pending", "--as-of", "2025-09-01"],
                 ["places", "--as-of", "2025-09-01"], ["series", "--kind", "reconstructed", "--as-of", "2025-09-01"]):
        result = CliRunner().invoke(app, [*args, "--db", str(history_path)])
        assert result.exit_code == 0, result.output
        assert "warning:" in result.stderr and ("after the archive" in result.stderr
                                                 or "before the archive" in result.stderr)
    growth = CliRunner().invoke(app, ["growth", "--since", "2025-05-16", "--until", "2025-09-01", "--db",
                                      str(history_path)])
    assert "on 2025-09-01" not in growth.stdout and FIRST[1] in growth.stdout


def test_reconstructed_csv_is_labelled(history_path):
    result = CliRunner().invoke(app, ["series", "--kind", "reconstructed", "--csv", "--db", str(history_path)])
    lines = result.stdout.splitlines()
    assert lines[0].startswith("date,reconstructed_agreements,reconstructed_JEM")
    assert lines[-1].startswith("caveat,") and "cannot see agreements that ended" in lines[-1]


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


REPORTING = EXAMPLES.parent / "claims_2025_reporting.yaml"


def test_reporting_claims_get_their_verdicts(long_history_db, ice_sheets):
    """Every metric of the real-article claims file gets the verdict and figure written beside
    it, on the history `make history` builds (sheets and web rosters together)."""
    entries = claims.load_claims(REPORTING)
    metrics = [m for c in entries for m in c["metrics"]]
    checked = claims.check_claims(long_history_db, entries)
    assert [r.verdict for r in checked] == [m["expect"] for m in metrics]
    assert [r.computed if r.computed is not None else r.reconstructed for r, m in zip(checked, metrics, strict=True)
            if "expect_figure" in m] == [m["expect_figure"] for m in metrics if "expect_figure" in m]
    assert {"exact", "close", "differs", "outside_range", "after_archive"} <= {r.verdict for r in checked}
    for r in checked:
        if r.verdict == "after_archive":
            assert r.computed is None and "said" in r.note and "2025-07-07" in r.note
        if r.verdict == "outside_range":
            # never answered by the 2017 page; both sides named with their figures
            assert r.computed is None and r.publication is None
            assert "2017-08-01 (58 agreements on" in r.note and "2025-05-16 (571 agreements on" in r.note
            if r.reconstructed is not None:
                assert "reconstructed from signing dates" in r.note and "05162025" in r.note
    may_28 = openpyxl_rows(sheet(ice_sheets, "sheets_20250528_151748", "participatingAgencies05282025am.xlsx"))
    assert (len(may_28), len({r["STATE"].strip() for r in may_28})) == (628, 40)
    assert sum(str(r["SUPPORT TYPE"]).strip() == "Task Force Model" for r in may_28) != 231
    december = next(r for r in checked if r.date == "2024-12-31")
    assert december.reconstructed == _reconstructed_first_sheet(ice_sheets, dt.date(2024, 12, 31))
    florida = next(r for r in checked if r.filters.get("state") == "FL" and r.metric == "growth_percent")
    assert "said 529.2" in florida.note and "48 on" in florida.note and "2017" not in florida.note

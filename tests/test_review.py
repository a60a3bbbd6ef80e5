"""The review queue: candidates listed with evidence, settled into the alias file, replayed."""

from __future__ import annotations

import datetime as dt
import json

from typer.testing import CliRunner

from g287 import ingest, query, store
from g287.cli import app
from g287.identity import decisions, review
from test_lineage import OTHER, TFM, build, participating

DAY = dt.date(2025, 4, 24)


def history(tmp_path):
    """A board of trustees row gone and its police department listed the same day, with a
    second arrival sharing the signing date: a relabel the evidence cannot settle."""
    first = [("FL", "Ocoee Board of Trustees", "Municipality", TFM, DAY, None), OTHER]
    second = [("FL", "Ocoee Police Department", "Municipality", TFM, DAY, None),
              ("FL", "Gulf Breeze Police Department", "Municipality", TFM, DAY, None), OTHER]
    build(tmp_path, participating(tmp_path, "01052026", first),
          participating(tmp_path, "01122026", second)).close()
    aliases = tmp_path / "aliases.csv"
    aliases.write_text("# my aliases\nstate,spelling,canonical_name,note\n", encoding="utf-8")
    return tmp_path / "h.sqlite", aliases


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def test_review_lists_candidates_with_their_evidence(tmp_path):
    db, _ = history(tmp_path)
    result = run("review", "--db", str(db), "--json")
    assert result.exit_code == 0, result.output
    (found,) = json.loads(result.stdout)
    assert (found["kind"], found["status"]) == ("relabelled", "review")
    assert (found["before"]["name"], found["after"]["name"]) == ("Ocoee Board of Trustees",
                                                                "Ocoee Police Department")
    assert found["before_file"] == "participatingAgencies01052026am.xlsx"
    assert found["evidence"]["same_signed"] is True and found["evidence"]["date_unique"] is False
    text = run("review", "--db", str(db))
    assert "Ocoee Board of Trustees" in text.stdout and "1 candidates await review" in text.stdout
    qa_out = run("qa", "--db", str(db), "--json")
    check = next(c for c in json.loads(qa_out.stdout) if c["name"].startswith("no lineage candidate"))
    assert (check["status"], check["count"]) == ("warn", 1)


def test_accept_writes_the_alias_file_and_replays(tmp_path):
    db, aliases = history(tmp_path)
    (found,) = json.loads(run("review", "--db", str(db), "--json").stdout)
    result = run("review", "accept", found["decision_id"], "--reason", "same MOA, read by hand",
                 "--db", str(db), "--aliases", str(aliases))
    assert result.exit_code == 0, result.output
    lines = aliases.read_text(encoding="utf-8").splitlines()
    assert lines[:2] == ["# my aliases", "state,spelling,canonical_name,note,decision,canonical_state"]
    assert lines[2] == (f"FL,Ocoee Police Department,Ocoee Board of Trustees,"
                        f"\"review {found['decision_id']}: same MOA, read by hand\",same,FL")
    conn = store.connect(db)
    kinds = {e.kind for e in query.changes(conn)}
    assert "agreement_relabelled" in kinds and "agreement_removed" not in kinds
    assert review.candidates(conn) == []
    (merged,) = [c for c in review.candidates(conn, "merged")]
    assert merged.reason == "accepted in review"


def test_reject_keeps_them_apart_for_good(tmp_path):
    db, aliases = history(tmp_path)
    (found,) = json.loads(run("review", "--db", str(db), "--json").stdout)
    result = run("review", "reject", found["decision_id"], "--reason", "two agencies",
                 "--db", str(db), "--aliases", str(aliases))
    assert result.exit_code == 0, result.output
    assert aliases.read_text(encoding="utf-8").splitlines()[-1].endswith(",distinct,FL")
    conn = store.connect(db)
    assert review.candidates(conn) == []
    assert "agreement_removed" in {e.kind for e in query.changes(conn)}


def test_a_decision_needs_a_reason_and_a_known_id(tmp_path):
    db, aliases = history(tmp_path)
    result = run("review", "accept", "lin_nope", "--reason", "x", "--db", str(db),
                 "--aliases", str(aliases))
    assert result.exit_code == 1 and "no lineage candidate 'lin_nope'" in result.output
    (found,) = json.loads(run("review", "--db", str(db), "--json").stdout)
    result = run("review", "accept", found["decision_id"], "--reason", " ", "--db", str(db),
                 "--aliases", str(aliases))
    assert result.exit_code == 1 and "needs a reason" in result.output


def test_a_reason_that_is_not_one_printable_line_is_refused_before_anything_is_written(tmp_path):
    """Issue 28: a CR or a file-separator reason used to leave a line no later ingest could read."""
    db, aliases = history(tmp_path)
    before = aliases.read_bytes()
    (found,) = json.loads(run("review", "--db", str(db), "--json").stdout)
    for reason in ("a\rb", "a\x1cb", "a\nb", "a\u2028b", "\x1b[31mred", "x" * 501):
        result = run("review", "reject", found["decision_id"], "--reason", reason, "--db", str(db),
                     "--aliases", str(aliases))
        assert result.exit_code == 1 and "internal error" not in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert "the reason" in result.output
        assert aliases.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if ".g287-" in p.name) == []
    assert run("rebuild", "--db", str(db), "--aliases", str(aliases)).exit_code == 0


def test_a_reason_with_console_markup_is_stored_once_and_printed_as_written(tmp_path):
    """Issue 28: "Closing [/] tag" ended in an internal error after the decision was stored."""
    db, aliases = history(tmp_path)
    (found,) = json.loads(run("review", "--db", str(db), "--json").stdout)
    args = ["review", "reject", found["decision_id"], "--reason", "Closing [/] tag [bold]", "--db", str(db),
            "--aliases", str(aliases)]
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert "Closing [/] tag [bold]" in " ".join(result.output.split())
    again = run(*args)
    assert again.exit_code == 1 and "no lineage candidate" in again.output  # settled: a retry stores nothing
    assert sum("Closing [/] tag" in line for line in aliases.read_text().splitlines()) == 1
    assert run("rebuild", "--db", str(db), "--aliases", str(aliases)).exit_code == 0


def test_decisions_go_beside_the_database_and_the_shipped_file_is_never_written(tmp_path, monkeypatch):
    db, _ = history(tmp_path)
    monkeypatch.delenv("G287_ALIASES", raising=False)
    shipped = decisions.shipped_path()
    shipped_bytes = shipped.read_bytes()
    (found,) = json.loads(run("review", "--db", str(db), "--json").stdout)
    result = run("review", "accept", found["decision_id"], "--reason", "same MOA", "--db", str(db), "--json")
    assert result.exit_code == 0, result.output
    mine = db.with_name(db.name + ".decisions.csv")
    assert json.loads(result.stdout)["aliases"] == str(mine)
    assert mine.read_text().splitlines()[0] == ",".join(decisions.COLUMNS)
    assert shipped.read_bytes() == shipped_bytes
    # every later replay applies the user's decisions over the shipped lines
    assert run("rebuild", "--db", str(db)).exit_code == 0
    conn = store.connect(db)
    assert review.candidates(conn) == [] and "agreement_relabelled" in {e.kind for e in query.changes(conn)}
    conn.close()
    refused = run("review", "accept", found["decision_id"], "--reason", "x", "--db", str(db),
                  "--aliases", str(shipped))
    assert refused.exit_code == 1 and "read-only" in refused.output
    assert shipped.read_bytes() == shipped_bytes


def test_a_failed_replay_puts_the_decisions_file_back(tmp_path, monkeypatch):
    db, aliases = history(tmp_path)
    before = aliases.read_bytes()
    (found,) = json.loads(run("review", "--db", str(db), "--json").stdout)

    def broken(*_args, **_kwargs):
        raise ingest.RebuildError("disk full")

    monkeypatch.setattr(ingest, "rebuild", broken)
    result = run("review", "accept", found["decision_id"], "--reason", "same", "--db", str(db),
                 "--aliases", str(aliases))
    assert result.exit_code == 1 and "disk full" in result.output
    assert aliases.read_bytes() == before

"""The review queue: candidates listed with evidence, settled into the alias file, replayed."""

from __future__ import annotations

import datetime as dt
import json

from typer.testing import CliRunner

from g287 import query, review, store
from g287.cli import app
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

"""Property tests of lineage on ICE-style edits by class (tests/identity_edits.py): for any
names, states, dates and links drawn, no false departure, no false arrival from a rename,
no merge without an event, no merge across conflicting strong evidence."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import identity_edits as ie
from g287 import query, store

MERGE_EVENTS = {"agreement_renamed", "agreement_relabelled", "state_corrected", "pending_signed",
                "pending_renamed", "duplicate_row_removed", "renewed", "agreement_reinstated"}


@pytest.mark.parametrize("name", list(ie.CLASSES))
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6))
def test_each_class_gives_exactly_the_events_a_reader_would_record(tmp_path_factory, name, seed):
    folder = tmp_path_factory.mktemp(name)
    case = ie.CLASSES[name](random.Random(f"{name}:{seed}"))
    found = ie.found_events(folder, case)
    expected = Counter({k: v for k, v in case.expected.items() if v})
    # No false departure, no false arrival from a rename: departures and arrivals are exactly
    # those of the class (a look-alike neighbour is two agencies: one leaves, one arrives).
    for kind in ("agreement_removed:confirmed", "agreement_removed:provisional", "agreement_added",
                 "pending_withdrawn:confirmed", "pending_withdrawn:provisional"):
        assert found[kind] == expected[kind], (kind, found, expected)
    assert found == expected
    conn = store.connect(folder / "h.sqlite", readonly=True)
    try:
        _no_merge_without_an_event(conn)
        _no_merge_across_conflicting_evidence(conn)
    finally:
        conn.close()


def _no_merge_without_an_event(conn) -> None:
    """Every agency printed under two name keys has an event that says how they joined."""
    for agency_id, keys in conn.execute("SELECT agency_id, COUNT(DISTINCT name_key) FROM agency_names"
                                        " GROUP BY agency_id HAVING COUNT(DISTINCT name_key) > 1"):
        kinds = {e.kind for e in query.changes(conn, agency_id=agency_id, status="all")}
        assert kinds & MERGE_EVENTS, (agency_id, keys, kinds)


def _no_merge_across_conflicting_evidence(conn) -> None:
    """No lineage merge joins sides with another county, another document and dates far apart."""
    for (evidence,) in conn.execute("SELECT evidence FROM lineage WHERE status = 'merged'"):
        e = json.loads(evidence)
        assert not (e.get("same_county") is False and e.get("same_moa") is False
                    and (e.get("days_apart") or 0) > 60), e


def test_the_harness_can_fail(tmp_path: Path):
    """A case whose expectation is wrong is caught (the comparison is not vacuous)."""
    case = ie.CLASSES["acronym"](random.Random("acronym:1"))
    case.expected = Counter({"agreement_removed:confirmed": 1, "agreement_added": 1})
    assert ie.found_events(tmp_path, case) != case.expected

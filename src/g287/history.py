"""Derive agreements, pending entries and lifecycle events from publications.

A pure fold over every publication of both lists in publication order: each
participating sheet is compared with the previous participating sheet, each
pending sheet with the previous pending sheet. Because the fold starts from the
raw rows every time, ingesting files in any order gives the same history.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from g287.identity import lineage
from g287.identity.lineage import Side
from g287.identity.resolve import AgencyResolver, RowKey, stable_id
from g287.normalize import is_addendum, name_key

# A later signing date for the same agency and model counts as a renewal (a new
# agreement) only when it is this much later; smaller moves are ICE correcting
# the date (PEERS quirks 40-41: re-dated by a day when the MOA posts, or when ICE
# countersigned).
RENEWAL_MIN_DAYS = 180
# A pending entry that left the pending list counts as signed when its agency (under any
# spelling) is listed as participating up to this many days after it left, or while it is
# still listed as pending. ICE's two lists are updated apart (the archive has gaps of a week
# between publications); a withdrawal inside the window is provisional.
SIGNING_WINDOW_DAYS = 30

# A departure (``agreement_removed``, ``pending_withdrawn``) is provisional until the
# agreement or entry has stayed absent from the publication that dropped it and at least
# CONFIRM_LATER_PUBLICATIONS more of its list, spanning at least CONFIRM_DAYS days. ICE
# leaves rows out of a single sheet and updates its two lists days apart (the archive shows
# one-sheet omissions and week-long gaps), so one missing sheet or a few days prove
# nothing; an agreement listed again before that is a recorded omission (``retracted``),
# not a departure. A withdrawal also stays provisional while SIGNING_WINDOW_DAYS are open.
# A removal whose agreement has a candidate waiting in `g287 review` also stays provisional.
CONFIRM_LATER_PUBLICATIONS = 2
CONFIRM_DAYS = 14
DEPARTURE_KINDS = ("agreement_removed", "pending_withdrawn")
DEPARTURE_STATUSES = ("provisional", "confirmed", "retracted")

# Consecutive publications of a list more than this many days apart, or of different
# kinds of source (an archived web roster, then an ICE sheet), leave a stretch the archive
# did not see: an event found across it happened at some unknown point in between, so it
# carries the range (``details["between"]``, ``details["gap_days"]``) rather than a day.
# ICE's sheets are captured daily and the web roster every one to four months.
GAP_MIN_DAYS = 31

EVENT_KINDS: dict[str, str] = {
    "agreement_added": "a new agreement for an agency with no other active agreement",
    "model_added": "an agency with an active agreement signs a further model",
    "model_switched": "an agency's agreement under one model replaced by another model",
    "renewed": "same agency and model re-signed on a later date (old agreement superseded)",
    "signing_date_corrected": "ICE changed the printed signing date of the same agreement",
    "agreement_removed": "an agreement no longer on the participating list",
    "agreement_reinstated": "a removed agreement listed again",
    "moa_published": "the MOA link of an agreement first published",
    "moa_link_changed": "the MOA link of an agreement changed",
    "pending_added": "an agency and model added to the pending list",
    "pending_withdrawn": "an entry left the pending list and was never signed in the archive",
    "pending_signed": "a pending agency and model signed (listed as participating)",
    "agreement_renamed": "ICE printed an agreement's agency under a new name; nothing left the program",
    "agreement_relabelled": "ICE printed another signatory for the same agreement (same MOA);"
                            " nothing left the program",
    "state_corrected": "ICE printed an agreement under another state; nothing left the program",
    "duplicate_row_removed": "ICE deleted a second copy of a row; nothing left the program",
    "pending_renamed": "ICE printed a pending entry under a new name; nothing left the pending list",
}
# Kinds that correct how ICE printed an agreement: they never mean an agency left or joined.
CORRECTION_KINDS = ("agreement_renamed", "agreement_relabelled", "state_corrected",
                    "duplicate_row_removed", "pending_renamed")


def describe(kind: str, details: dict, status: str | None = None) -> str:
    """One plain sentence for an event, as CLI, API, feeds and report print it: corrections
    say that nothing left the program; a departure says whether it is provisional,
    confirmed or retracted (an omission by ICE)."""
    if status == "retracted":
        return (f"{EVENT_KINDS[kind]}, then listed again before it could be confirmed: an "
                "omission by ICE, not a departure (retracted)")
    if status == "provisional" and kind in DEPARTURE_KINDS:
        return (f"{EVENT_KINDS[kind]}: provisional until it stays absent from "
                f"{CONFIRM_LATER_PUBLICATIONS} more publications and {CONFIRM_DAYS} days"
                + (f" and the signing window ends ({details['window_ends']})"
                   if details.get("window_ends") else ""))
    names = f"'{details.get('from_name')}' → '{details.get('to_name')}'"
    if kind == "agreement_renamed":
        return f"ICE printed this agreement under a new name ({names}); same agreement, " \
               "nothing left the program"
    if kind == "agreement_relabelled":
        same = "same MOA" if (details.get("evidence") or {}).get("same_moa") else "same signing date"
        return f"ICE printed another signatory for the same agreement ({names}, {same}); " \
               "nothing left the program"
    if kind == "state_corrected":
        return (f"ICE printed this agreement under {details.get('to_state')} instead of "
                f"{details.get('from_state')}; same agreement, nothing left the program")
    if kind == "duplicate_row_removed":
        return "ICE deleted a second copy of this agreement's row; nothing left the program"
    if kind == "agreement_reinstated" and details.get("from_name"):
        return f"a removed agreement listed again under a new name ({names})"
    if kind == "pending_renamed":
        return f"ICE renamed this pending entry ({names}); still pending, nothing was withdrawn"
    if kind == "pending_signed" and details.get("model_changed"):
        change = details["model_changed"]
        return f"{EVENT_KINDS[kind]}; pending as {change['pending']}, signed as {change['signed']}"
    if details.get("review"):
        return f"{EVENT_KINDS[kind]}; a possible rename or relabel awaits review (g287 review)"
    return EVENT_KINDS.get(kind, kind)


@dataclass(frozen=True, slots=True)
class PubIn:
    """A publication as the fold needs it."""

    id: str
    list_name: str
    file: str
    label_date: dt.date | None
    order: tuple
    source: str = "sheet"    # 'sheet' (an ICE file) | 'web' (an archived web roster)
    seen_first: dt.date | None = None   # first and last capture days: a web roster whose
    seen_last: dt.date | None = None    # caption went stale was seen long after its date
    partial: bool = False    # truncated: lost most rows, which came back (FOLD.md); no departures


@dataclass(frozen=True, slots=True)
class RowIn:
    """A stored row as the fold needs it."""

    publication_id: str
    row_number: int
    key: RowKey
    moa_url: str | None
    addendum_url: str | None


@dataclass(slots=True)
class Agreement:
    agreement_id: str
    agency_id: str
    model: str
    signed: dt.date | None
    signed_first: dt.date | None
    first_seen: str
    last_seen: str
    status: str = "active"
    moa_url: str | None = None
    addendum_url: str | None = None
    moa_first_linked: str | None = None
    succeeded_by: str | None = None


@dataclass(slots=True)
class PendingEntry:
    pending_id: str
    agency_id: str
    model: str
    first_seen: str
    last_seen: str
    first_date: dt.date | None
    status: str = "pending"
    agreement_id: str | None = None
    days_pending: int | None = None


@dataclass(frozen=True, slots=True)
class Event:
    kind: str
    list_name: str
    date: dt.date | None
    agency_id: str
    state: str
    before_pub: str | None
    after_pub: str
    agreement_id: str | None = None
    pending_id: str | None = None
    model: str | None = None
    details: dict = field(default_factory=dict)
    status: str | None = None    # departures only: provisional | confirmed | retracted

    @property
    def event_id(self) -> str:
        return stable_id("ev", self.kind, self.after_pub, self.agency_id, self.agreement_id,
                         self.pending_id, self.model)


IdentityRow = tuple[str, int, str | None, str | None, str | None]


@dataclass(slots=True)
class Derived:
    """Everything the fold derives; written to the store as one unit."""

    resolver: AgencyResolver
    agreements: dict[str, Agreement]
    pending: dict[str, PendingEntry]
    events: list[Event]
    departures: list[Departure]
    lineage: list[LineageRecord] = field(default_factory=list)
    statuses: dict[str, str] = field(default_factory=dict)   # departure event id -> status


@dataclass(frozen=True, slots=True)
class LineageRecord:
    """A lineage decision between two publications of a list: merged, or awaiting review."""

    kind: str            # renamed | relabelled | state_corrected | duplicate | pending_signed
    status: str          # merged | review
    list_name: str
    before_pub: str | None
    after_pub: str
    before: Side
    after: Side
    score: float
    evidence: dict
    reason: str

    @property
    def decision_id(self) -> str:
        return stable_id("lin", self.after_pub, self.before.ref, self.after.ref, self.kind)


@dataclass(frozen=True, slots=True)
class Departure:
    """An entry leaving the pending list; judged a withdrawal only at the end."""

    pending_id: str
    publication_id: str
    before_pub: str | None
    date: dt.date | None


def derive(publications: Sequence[PubIn], rows: dict[str, list[RowIn]],
           resolver: AgencyResolver) -> tuple[Derived, list[IdentityRow]]:
    """Fold all publications, oldest first, into identities, agreements and events."""
    fold = HistoryFold(resolver)
    identities: list[IdentityRow] = []
    for pub in sorted(publications, key=lambda p: p.order):
        identities += fold.add(pub, rows.get(pub.id, []))
    return fold.finish(), identities


@dataclass(slots=True)
class HistoryFold:
    """The state carried from one publication to the next.

    Its fields are all recoverable from the derived tables, so a history can go on
    from where it stopped when a newer publication arrives (see ``g287.ingest``).
    """

    resolver: AgencyResolver
    agreements: dict[str, Agreement] = field(default_factory=dict)
    pending: dict[str, PendingEntry] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    prev: dict[str, PubIn | None] = field(
        default_factory=lambda: {"participating": None, "pending": None})
    active: dict[str, Agreement] = field(default_factory=dict)   # on the latest participating sheet
    on_pending: set[str] = field(default_factory=set)             # on the latest pending sheet
    departures: list[Departure] = field(default_factory=list)
    identities: list[IdentityRow] = field(default_factory=list)
    lineage: list[LineageRecord] = field(default_factory=list)
    printed_state: dict[str, str] = field(default_factory=dict)   # agency -> state, last participating
    printed_county: dict[str, str] = field(default_factory=dict)  # agency -> county, last participating
    conflicted: set[str] = field(default_factory=set)  # new agreements that are not a corrected date
    printed_rows: dict[str, int] = field(default_factory=dict)    # agreement -> rows, last participating
    corrected: set[str] = field(default_factory=set)              # agencies with a lineage event now
    under_review: dict[object, list[str]] = field(default_factory=dict)  # side -> candidates, now
    relisted: dict[str, lineage.Decision] = field(default_factory=dict)  # removed, back renamed
    removed_count: int = 0                                         # agreements removed so far, now
    waiting_agencies: set[str] = field(default_factory=set)        # agencies with a pending entry, now
    # For judging departures: each list's publications in order, each agreement removal
    # (event id, agreement id, publication), and where a departed agreement or entry came back.
    sequence: dict[str, list[PubIn]] = field(
        default_factory=lambda: {"participating": [], "pending": []})
    removals: list[tuple[str, str, str]] = field(default_factory=list)
    returns: dict[str, list[str]] = field(default_factory=dict)

    def add(self, pub: PubIn, rows: list[RowIn]) -> list[IdentityRow]:
        """Take the next publication (in order); return the identity of each of its rows.
        A partial (truncated) publication gets its rows' identities and its additions, but
        what it lacks is not reported as gone: the next publication is compared with what
        was listed before it plus what it added (FOLD.md)."""
        self.identities = []
        if not pub.partial:   # a truncated sheet is no evidence that anything left
            self.sequence[pub.list_name].append(pub)
        if pub.partial:
            self._partial(pub, rows)
        elif pub.list_name == "participating":
            self.participating(pub, rows)
        else:
            self.pending_list(pub, rows)
        return self.identities

    _LACKING_KINDS = ("agreement_removed", "duplicate_row_removed")

    def _partial(self, pub: PubIn, rows: list[RowIn]) -> None:
        """Fold a truncated publication, then undo what its missing rows would have said."""
        events, departures, removals = len(self.events), len(self.departures), len(self.removals)
        active, on_pending = dict(self.active), set(self.on_pending)
        printed_rows, printed_state = dict(self.printed_rows), dict(self.printed_state)
        printed_county = dict(self.printed_county)
        statuses = {a.agreement_id: (a.status, a.succeeded_by) for a in active.values()}
        if pub.list_name == "participating":
            self.participating(pub, rows)
        else:
            self.pending_list(pub, rows)
        self.events[events:] = [e for e in self.events[events:] if e.kind not in self._LACKING_KINDS]
        del self.departures[departures:]
        del self.removals[removals:]
        for agreement_id, (status, succeeded_by) in statuses.items():
            agreement = self.agreements[agreement_id]
            if agreement_id not in self.active:
                agreement.status, agreement.succeeded_by = status, succeeded_by
        self.active = {**active, **self.active}
        self.on_pending = on_pending | self.on_pending
        self.printed_rows = {**printed_rows, **self.printed_rows}
        self.printed_state = {**printed_state, **self.printed_state}
        self.printed_county = {**printed_county, **self.printed_county}

    def _resolve(self, pub: PubIn, rows: list[RowIn]) -> list[str | None]:
        ids = self.resolver.resolve(pub.id, [r.key for r in rows])
        self.corrected, self.under_review, self.relisted = set(), {}, {}
        return self._lineage(pub, rows, ids)

    def _event(self, kind: str, pub: PubIn, agency_id: str, **extra: object) -> None:
        before = self.prev[pub.list_name]
        span = gap_between(before, pub)
        day = pub.label_date
        if span:
            extra["details"] = {**extra.get("details", {}), **span}
            day = dt.date.fromisoformat(str(span["between"][1]))  # the first day it could be seen
        self.events.append(Event(kind, pub.list_name, day, agency_id,
                                 self.resolver.agencies[agency_id].state,
                                 before.id if before else None, pub.id, **extra))

    def _lineage(self, pub: PubIn, rows: list[RowIn], ids: list[str | None]) -> list[str | None]:
        """Follow agreements (or pending entries) that ICE printed differently on this
        publication: pair what vanished with what appeared (see :mod:`g287.identity.lineage`), merge
        the pairs the evidence settles and keep the others for review."""
        before = self.prev[pub.list_name]
        if before is None:
            return ids
        groups: dict[tuple[str, str], list[RowIn]] = defaultdict(list)
        for row, agency_id in zip(rows, ids, strict=True):
            if agency_id and row.key.model:
                groups[(agency_id, row.key.model)].append(row)
        if pub.list_name == "participating":
            listed = {(a.agency_id, a.model): a for a in self.active.values()}
            across = bool(gap_between(before, pub))   # an unseen stretch: a re-signing may hide in it
            vanished = [self._agreement_side(a, gone=across) for key, a in listed.items() if key not in groups]
        else:
            listed = {(e.agency_id, e.model): e for e in map(self.pending.get, self.on_pending) if e}
            vanished = [self._entry_side(e) for key, e in listed.items() if key not in groups]
        new_keys = [key for key in groups if key not in listed]
        if not new_keys:   # nothing appeared: nothing to follow (most publications)
            return ids
        known = ({(a.agency_id, a.model) for a in self.agreements.values()}
                 if pub.list_name == "participating" else
                 {(e.agency_id, e.model) for e in self.pending.values()})
        arrived = [self._rows_side(key, groups[key]) for key in new_keys if key not in known]
        if not arrived:
            return ids
        if pub.list_name == "participating":  # agreements removed before: relisted under a new name?
            vanished += [self._agreement_side(a, gone=True) for a in self.agreements.values()
                         if a.status == "removed" and a.succeeded_by is None
                         and (a.agency_id, a.model) not in groups]
        merged: dict[str, str] = {}
        if vanished:
            wanted = {link for side in (*vanished, *arrived) for link in side.links}
            others = [] if not wanted else [links for key, members in groups.items() if key in listed
                      if (links := frozenset(k for r in members for u in (r.moa_url, r.addendum_url)
                                             if (k := lineage.link_key(u)) in wanted))]
            decisions = lineage.pair(vanished, arrived, self.resolver.decisions, others,
                                     dated=pub.list_name == "participating")
            merged = self._apply(pub, before, decisions, groups)
        if pub.list_name == "participating":
            merged |= self._listed_as_signed(pub, before, [a for a in arrived
                                                           if a.agency_id not in merged], groups)
        return [merged.get(i, i) if i else i for i in ids]

    def _apply(self, pub: PubIn, before: PubIn, decisions: list[lineage.Decision],
               groups: dict[tuple[str, str], list[RowIn]]) -> dict[str, str]:
        """Record every decision; carry out the accepted ones. Returns agency merges."""
        accepted: dict[tuple[str, str], list[lineage.Decision]] = defaultdict(list)
        for d in decisions:
            self.lineage.append(LineageRecord(d.kind, "merged" if d.accepted else "review",
                                              pub.list_name, before.id, pub.id, d.before, d.after,
                                              d.score, d.evidence.as_dict(), d.reason))
            if d.accepted:
                accepted[(d.before.agency_id, d.after.agency_id)].append(d)
            else:
                for side in (d.before.ref, (d.after.agency_id, d.after.model)):
                    self.under_review.setdefault(side, []).append(self.lineage[-1].decision_id)
        merged: dict[str, str] = {}
        for (old, new), found in accepted.items():
            listed = (self.active.values() if pub.list_name == "participating"
                      else map(self.pending.get, self.on_pending))
            whole = {x.agreement_id if pub.list_name == "participating" else x.pending_id
                     for x in listed if x and x.agency_id == old} <= {d.before.ref for d in found}
            fresh = (self.resolver.agencies[new].first_seen == pub.id
                     and {k for k in groups if k[0] == new} == {(new, d.after.model) for d in found})
            if pub.list_name == "pending" and not (whole and fresh):
                continue  # a pending entry is only followed when the whole agency moved
            reason = "; ".join(sorted({d.reason for d in found}))
            if whole and fresh:
                self._merge_agency(new, old, found[0].kind,
                                   f"'{found[0].after.name}' ({found[0].after.state}) followed"
                                   f" '{found[0].before.name}' ({found[0].before.state}) on"
                                   f" {pub.file}: {reason}", pub.id)
                merged[new], target = old, old
            else:
                target = new
                for d in found:
                    self.agreements[d.before.ref].agency_id = new
            self.corrected.add(target)
            for d in found:
                if pub.list_name == "participating" and self.agreements[d.before.ref].status == "removed":
                    self.relisted[d.before.ref] = d   # _match reports it as reinstated
                    continue
                kind = {"renamed": "agreement_renamed", "relabelled": "agreement_relabelled",
                        "state_corrected": "state_corrected"}[d.kind]
                if pub.list_name == "pending":
                    kind = "pending_renamed"
                self._event(kind, pub, target, model=d.before.model, details={
                    "from_name": d.before.name, "to_name": d.after.name,
                    "from_state": d.before.state, "to_state": d.after.state,
                    "from_agency": old, "score": d.score, "evidence": d.evidence.as_dict(),
                    "reason": d.reason},
                    **({"agreement_id": d.before.ref} if pub.list_name == "participating"
                       else {"pending_id": d.before.ref}))
                if pub.list_name == "participating" and target != old:
                    self._signed_in_hindsight(pub, self.agreements[d.before.ref], d)
        return merged

    def _signed_in_hindsight(self, pub: PubIn, agreement: Agreement, decision: lineage.Decision) -> None:
        """An agreement ICE now prints under another agency (a state or name corrected) may
        be the signing of that agency's pending entry: the match the misprint prevented is
        made now, dated from the agreement's first listing (days pending right)."""
        first = next((p for p in self.sequence["participating"] if p.id == agreement.first_seen), None)
        listed_on = first.label_date if first else pub.label_date
        departed = {d.pending_id: d.date for d in self.departures}
        entry = next((e for e in self.pending.values() if e.agency_id == agreement.agency_id
                      and e.status == "pending" and (e.model == agreement.model or
                                                     _signed_while_pending(agreement, e))
                      and (e.pending_id in self.on_pending or (
                          listed_on and departed.get(e.pending_id)
                          and abs((listed_on - departed[e.pending_id]).days) <= SIGNING_WINDOW_DAYS))),
                     None)
        if entry is None:
            return
        days = (listed_on - entry.first_date).days if listed_on and entry.first_date else None
        entry.status, entry.agreement_id, entry.days_pending = "signed", agreement.agreement_id, days
        details: dict[str, object] = {
            "days_pending": days, "pending_since": entry.first_seen, "signed": _iso(agreement.signed),
            "listed_since": agreement.first_seen, "in_hindsight": True,
            "reason": f"listed as participating since {_iso(listed_on)} as '{decision.before.name}'"
                      f" ({decision.before.state}); ICE's correction to '{decision.after.name}'"
                      f" ({decision.after.state}) shows it is this pending agency"}
        if entry.model != agreement.model:
            details["model_changed"] = {"pending": entry.model, "signed": agreement.model}
        self._event("pending_signed", pub, agreement.agency_id, agreement_id=agreement.agreement_id,
                    pending_id=entry.pending_id, model=agreement.model, details=details)

    def _listed_as_signed(self, pub: PubIn, before: PubIn, arrived: list[Side],
                          groups: dict[tuple[str, str], list[RowIn]]) -> dict[str, str]:
        """A new participating agency that is a pending agency under another spelling (same
        state; names alike as agencies are written, see :func:`g287.identity.lineage.same_agency`),
        still pending or gone from the pending list within the window: one agency. The best
        match is taken when no other is as close; near misses wait for review."""
        departed = {d.pending_id: d.date for d in self.departures}
        waiting: dict[str, list[PendingEntry]] = defaultdict(list)
        for entry in self.pending.values():
            if entry.status == "pending" and self._in_window(pub, entry, departed):
                waiting[entry.agency_id].append(entry)
        merged: dict[str, str] = {}
        by_state: dict[str, list[tuple[str, Side]]] = defaultdict(list)   # block: one state
        for pending_agency, entries in waiting.items():
            entry_side = self._entry_side(entries[0])
            by_state[entry_side.state].append((pending_agency, entry_side))
        taken: set[str] = set()
        for agency_id in sorted({a.agency_id for a in arrived}):
            record = self.resolver.agencies[agency_id]
            if agency_id in waiting or record.first_seen != pub.id:
                continue
            side = next(a for a in arrived if a.agency_id == agency_id)
            matches = []
            for pending_agency, entry_side in by_state.get(side.state, ()):
                if pending_agency in taken or self.resolver.decisions.get(
                        (entry_side.state, entry_side.name_key, side.state, side.name_key)) == "distinct":
                    continue
                similarity = lineage.same_agency(entry_side, side, lineage.REVIEW_NAME)
                if similarity is not None:
                    matches.append((similarity, pending_agency, entry_side))
            matches.sort(key=lambda m: -m[0])
            for rank, (similarity, pending_agency, entry_side) in enumerate(matches):
                evidence = {"name": similarity, "same_state": True, "same_roles": True,
                            "same_model": entry_side.model == side.model}
                alone = len(matches) == 1 or matches[1][0] < matches[0][0] - 0.05
                accepted = rank == 0 and alone and similarity >= lineage.NAME_ACCEPT
                reason = ("the pending agency under another spelling (names "
                          f"{similarity:.2f} ≥ {lineage.NAME_ACCEPT}, no other as close)" if accepted else
                          "several pending agencies match this spelling: kept apart" if not alone else
                          f"names {similarity:.2f} below {lineage.NAME_ACCEPT}: kept apart")
                if not accepted and rank > 0 and alone:
                    continue   # a weaker candidate than the one taken
                self.lineage.append(LineageRecord(
                    "pending_signed", "merged" if accepted else "review", "participating",
                    before.id, pub.id, entry_side, side, similarity, evidence, reason))
                if accepted:
                    self._merge_agency(agency_id, pending_agency, "pending_signed",
                                       f"'{side.name}' listed as participating on {pub.file} is"
                                       f" pending '{entry_side.name}' under another spelling",
                                       pub.id)
                    merged[agency_id] = pending_agency
                    taken.add(pending_agency)
        return merged

    def _merge_agency(self, agency_id: str, into: str, tier: str, reason: str, pub_id: str) -> None:
        """Fold an agency first printed in this publication into an older one, with what
        lineage already gave it here: an agreement relabelled or renamed to the new spelling
        earlier in this publication, and the events saying so, go with it (else they would
        name an agency the resolver no longer holds)."""
        self.resolver.merge(agency_id, into, tier, reason, pub_id)
        for agreement in self.agreements.values():
            if agreement.agency_id == agency_id:
                agreement.agency_id = into
        for index in range(len(self.events) - 1, -1, -1):   # this publication's: the last ones
            event = self.events[index]
            if event.after_pub != pub_id:
                break
            if event.agency_id == agency_id:
                self.events[index] = replace(event, agency_id=into)
        self.corrected = {into if a == agency_id else a for a in self.corrected}

    def _agreement_side(self, agreement: Agreement, gone: bool = False) -> Side:
        record = self.resolver.agencies[agreement.agency_id]
        links = frozenset(filter(None, map(lineage.link_key, (agreement.moa_url,
                                                               agreement.addendum_url))))
        return Side(agreement.agreement_id, agreement.agency_id,
                    self.printed_state.get(agreement.agency_id, record.state), record.name,
                    name_key(record.name), record.agency_type, record.county, agreement.model,
                    agreement.signed, links, gone)

    def _entry_side(self, entry: PendingEntry) -> Side:
        record = self.resolver.agencies[entry.agency_id]
        return Side(entry.pending_id, entry.agency_id, record.state, record.name,
                    name_key(record.name), record.agency_type, record.county, entry.model, None,
                    frozenset())

    def _rows_side(self, key: tuple[str, str], rows: list[RowIn]) -> Side:
        first = rows[0].key
        links = frozenset(filter(None, (lineage.link_key(u) for r in rows
                                        for u in (r.moa_url, r.addendum_url))))
        signed = next((r.key.signed for r in rows if r.key.signed), None)
        return Side(f"{key[0]}/{key[1]}", key[0], first.state or "", first.agency_name,
                    first.name_key, first.agency_type, first.county, key[1], signed, links)

    def _duplicates(self, pub: PubIn, removed: list[Agreement], previous: dict[str, Agreement],
                    current: dict[str, Agreement], rows_now: dict[str, int]) -> list[Agreement]:
        """Rows ICE deleted while another copy of the same agreement stays printed: a second
        row of one agreement, or a vanished agreement whose name, state, model and date are
        those of one still listed. Returns the removals that remain."""
        for agreement_id, count in rows_now.items():
            was = self.printed_rows.get(agreement_id, 0)
            if was > count:
                agreement = current[agreement_id]
                self._event("duplicate_row_removed", pub, agreement.agency_id,
                            agreement_id=agreement_id, model=agreement.model,
                            details={"rows_before": was, "rows_after": count})
        if not removed:
            return removed
        still: dict[tuple[str, str], list[Side]] = defaultdict(list)   # block: state and model
        for a in current.values():
            if a.agreement_id in previous:
                side = self._agreement_side(a)
                still[(side.state, side.model)].append(side)
        remaining = []
        for agreement in removed:
            dropped = self._agreement_side(agreement)
            match = next(((k, e) for k in still.get((dropped.state, dropped.model), ())
                          if (k.agency_id == dropped.agency_id or None in (k.signed, dropped.signed)
                              or k.signed == dropped.signed)
                          and (e := self._same_listing(dropped, k)) is not None), None)
            if match is None:
                remaining.append(agreement)
                continue
            kept, evidence = match
            agreement.status, agreement.succeeded_by = "duplicate", kept.ref
            self.lineage.append(LineageRecord("duplicate", "merged", "participating",
                                              self.prev["participating"].id, pub.id, dropped, kept,
                                              lineage.score(evidence), evidence.as_dict(),
                                              "a second row of an agreement still listed"))
            self._event("duplicate_row_removed", pub, agreement.agency_id,
                        agreement_id=agreement.agreement_id, model=agreement.model,
                        details={"kept_agreement": kept.ref, "kept_name": kept.name,
                                 "removed_name": dropped.name, "evidence": evidence.as_dict()})
        return remaining

    @staticmethod
    def _same_listing(dropped: Side, kept: Side) -> lineage.Evidence | None:
        """A second printing of the kept agreement: the same agency and model with a signing
        date too close to be a renewal, or another identity that names it (see lineage)."""
        if dropped.agency_id == kept.agency_id:
            if dropped.signed and kept.signed and \
                    abs((dropped.signed - kept.signed).days) >= RENEWAL_MIN_DAYS:
                return None
            return lineage.compare(dropped, kept)
        return lineage.same_listing(dropped, kept)

    def _state_changes(self, pub: PubIn, rows: list[RowIn], ids: list[str | None],
                       current: dict[str, Agreement]) -> None:
        """An agency still listed but printed under another state than on the sheet before."""
        printed: dict[str, str] = {}
        for row, agency_id in zip(rows, ids, strict=True):
            if agency_id and row.key.state:
                printed.setdefault(agency_id, row.key.state)
        for agency_id, state in printed.items():
            was = self.printed_state.get(agency_id)
            if was is None or was == state or agency_id in self.corrected:
                continue
            self.resolver.agencies[agency_id].state = state
            for agreement in current.values():
                if agreement.agency_id == agency_id:
                    self._event("state_corrected", pub, agency_id, agreement_id=agreement.agreement_id,
                                model=agreement.model, details={
                                    "from_state": was, "to_state": state,
                                    "from_name": self.resolver.agencies[agency_id].name,
                                    "to_name": self.resolver.agencies[agency_id].name})
        self.printed_state = printed

    def participating(self, pub: PubIn, rows: list[RowIn]) -> None:
        agency_ids = self._resolve(pub, rows)
        self.removed_count = sum(a.status == "removed" for a in self.agreements.values())
        self.waiting_agencies = {e.agency_id for e in self.pending.values() if e.status == "pending"}
        groups: dict[tuple[str, str], list[tuple[RowIn, int]]] = defaultdict(list)
        for index, (row, agency_id) in enumerate(zip(rows, agency_ids, strict=True)):
            if agency_id and row.key.model:
                groups[(agency_id, row.key.model)].append((row, index))
            else:
                self.identities.append((pub.id, row.row_number, agency_id, None, None))
        previous = self.active
        prev_by_group: dict[tuple[str, str], list[Agreement]] = defaultdict(list)
        for agreement in previous.values():
            prev_by_group[(agreement.agency_id, agreement.model)].append(agreement)
        current: dict[str, Agreement] = {}
        added: list[Agreement] = []
        rows_now: dict[str, int] = {}
        for (agency_id, model), members in groups.items():
            by_date: dict[dt.date | None, list[RowIn]] = defaultdict(list)
            for row, _ in members:
                by_date[self._amended_date(row, prev_by_group.get((agency_id, model), []),
                                           agency_id, model)].append(row)
            for agreement, printed in self._match(pub, agency_id, model, by_date,
                                                  prev_by_group.get((agency_id, model), []),
                                                  added):
                current[agreement.agreement_id] = agreement
                rows_now[agreement.agreement_id] = len(printed)
                self._update_documents(pub, agreement, printed)
                for row in printed:
                    self.identities.append((pub.id, row.row_number, agency_id,
                                            agreement.agreement_id, None))
        removed = [a for a in previous.values() if a.agreement_id not in current
                   and a.status == "active"]
        removed = self._duplicates(pub, removed, previous, current, rows_now)
        self._classify_changes(pub, previous, current, added, removed)
        self._state_changes(pub, rows, agency_ids, current)
        self.printed_county = {}
        for row, agency_id in zip(rows, agency_ids, strict=True):
            if agency_id and row.key.county:
                self.printed_county.setdefault(agency_id, row.key.county)
        self.printed_rows = rows_now
        self.active = current
        self.prev["participating"] = pub

    def _match(self, pub: PubIn, agency_id: str, model: str,
               by_date: dict[dt.date | None, list[RowIn]], before: list[Agreement],
               added: list[Agreement]) -> list[tuple[Agreement, list[RowIn]]]:
        """Pair this sheet's signing dates for one agency and model with the agreements
        listed before: same date, then ICE's date corrections, then renewals."""
        matched: list[tuple[Agreement, list[RowIn]]] = []
        left_before = sorted(before, key=lambda a: (a.signed or dt.date.min))
        left_dates = sorted(by_date, key=lambda d: d or dt.date.min)
        for day in list(left_dates):
            same = next((a for a in left_before if a.signed == day), None)
            if same:
                matched.append((same, by_date[day]))
                left_before.remove(same)
                left_dates.remove(day)
        for day in list(left_dates):
            if not left_before:
                break
            old = left_before.pop(0)
            left_dates.remove(day)
            if day is None:
                matched.append((old, by_date[day]))
            elif self._another_agreement(old, by_date[day], day):
                new = self._new_agreement(pub, agency_id, model, day)
                self.conflicted.add(new.agreement_id)
                added.append(new)
                matched.append((new, by_date[day]))
            elif old.signed is None or day < old.signed or (
                    day - old.signed).days < RENEWAL_MIN_DAYS:
                self._event("signing_date_corrected", pub, agency_id,
                            agreement_id=old.agreement_id, model=model,
                            details={"from": _iso(old.signed), "to": day.isoformat()})
                old.signed = day
                matched.append((old, by_date[day]))
            else:
                new = self._new_agreement(pub, agency_id, model, day)
                old.status, old.succeeded_by = "superseded", new.agreement_id
                self._event("renewed", pub, agency_id, agreement_id=new.agreement_id,
                            model=model, details={"previous_agreement": old.agreement_id,
                                                  "previous_signed": _iso(old.signed),
                                                  "signed": day.isoformat()})
                matched.append((new, by_date[day]))
        for day in left_dates:
            agreement_id = stable_id("agr", agency_id, model, day)
            known = self.agreements.get(agreement_id)
            earlier = None if known else self._removed_before(agency_id, model, day)
            if earlier and day and earlier.signed and (day - earlier.signed).days >= RENEWAL_MIN_DAYS:
                new = self._new_agreement(pub, agency_id, model, day)
                earlier.succeeded_by = new.agreement_id
                details = {"previous_agreement": earlier.agreement_id,
                           "previous_signed": _iso(earlier.signed), "signed": _iso(day),
                           "absent_since": earlier.last_seen} | self._relisted_names(earlier)
                self._event("renewed", pub, agency_id, agreement_id=new.agreement_id, model=model,
                            details=details)
                matched.append((new, by_date[day]))
                continue
            if earlier:
                if earlier.signed != day:
                    self._event("signing_date_corrected", pub, agency_id,
                                agreement_id=earlier.agreement_id, model=model,
                                details={"from": _iso(earlier.signed), "to": _iso(day)})
                earlier.signed, known = day, earlier
            if known:
                known.status = "active"
                self.returns.setdefault(known.agreement_id, []).append(pub.id)
                details: dict[str, object] = {"signed": _iso(day), "absent_since": known.last_seen}
                details |= self._relisted_names(known)
                self._event("agreement_reinstated", pub, agency_id, agreement_id=known.agreement_id,
                            model=model, details=details)
                self._pending_signed(pub, known)   # pending again meanwhile: signed, not withdrawn
                matched.append((known, by_date[day]))
            else:
                new = self._new_agreement(pub, agency_id, model, day)
                added.append(new)
                matched.append((new, by_date[day]))
        for agreement, _ in matched:
            agreement.last_seen = pub.id
        return matched

    def _another_agreement(self, old: Agreement, rows: list[RowIn], day: dt.date) -> bool:
        """Whether rows of the same agency name and model, printed with another date, are a
        different agreement rather than ICE correcting the date: another county, another
        document and a date far apart (the same office name in two counties)."""
        county = next((r.key.county for r in rows if r.key.county), None)
        was = self.printed_county.get(old.agency_id)
        state = self.resolver.agencies[old.agency_id].state
        if not (county and was) or lineage.same_county(state, county, state, was) is not False:
            return False
        links = {k for r in rows for u in (r.moa_url, r.addendum_url) if (k := lineage.link_key(u))}
        known = {k for u in (old.moa_url, old.addendum_url) if (k := lineage.link_key(u))}
        return bool(links and known and not links & known and old.signed
                    and abs((day - old.signed).days) > lineage.FAR_DAYS)

    def _amended_date(self, row: RowIn, listed: list[Agreement], agency_id: str, model: str) -> dt.date | None:
        """The signing date a row is filed under: its own, except for an addendum row of a
        2010-2017 web roster, which belongs to the agreement it amends (the latest of the
        agency and model listed before, or removed before) rather than starting one."""
        if not is_addendum(row.key.agency_name):
            return row.key.signed
        amended = max(listed, key=lambda a: a.signed or dt.date.min, default=None) or \
            self._removed_before(agency_id, model, row.key.signed)
        return amended.signed if amended else row.key.signed

    def _relisted_names(self, agreement: Agreement) -> dict[str, object]:
        """The evidence that an agreement listed again under another spelling is the one
        that left (empty when it came back under the same spelling)."""
        relisted = self.relisted.get(agreement.agreement_id)
        if relisted is None:
            return {}
        return {"from_name": relisted.before.name, "to_name": relisted.after.name,
                "from_agency": relisted.before.agency_id, "score": relisted.score,
                "evidence": relisted.evidence.as_dict(), "reason": relisted.reason}

    def _removed_before(self, agency_id: str, model: str, day: dt.date | None) -> Agreement | None:
        """The latest agreement of this agency and model that left the list (point of a
        re-signing or a relisting with another date, however many publications ago)."""
        if self.removed_count == 0:
            return None
        gone = [a for a in self.agreements.values() if a.agency_id == agency_id
                and a.model == model and a.status == "removed" and a.succeeded_by is None]
        return max(gone, key=lambda a: a.signed or dt.date.min, default=None)

    def _new_agreement(self, pub: PubIn, agency_id: str, model: str,
                       day: dt.date | None) -> Agreement:
        agreement = Agreement(stable_id("agr", agency_id, model, day), agency_id, model,
                              day, day, pub.id, pub.id)
        self.agreements[agreement.agreement_id] = agreement
        return agreement

    def _update_documents(self, pub: PubIn, agreement: Agreement, printed: list[RowIn]) -> None:
        moa = next((r.moa_url for r in printed if r.moa_url), None)
        addendum = next((r.addendum_url for r in printed if r.addendum_url), None)
        is_new = agreement.first_seen == pub.id
        if moa and moa != agreement.moa_url:
            if agreement.moa_url is None:
                agreement.moa_first_linked = pub.id
                if not is_new:
                    self._event("moa_published", pub, agreement.agency_id,
                                agreement_id=agreement.agreement_id, model=agreement.model,
                                details={"url": moa})
            else:
                self._event("moa_link_changed", pub, agreement.agency_id,
                            agreement_id=agreement.agreement_id, model=agreement.model,
                            details={"from": agreement.moa_url, "to": moa})
            agreement.moa_url = moa
        if addendum:
            agreement.addendum_url = addendum

    def _classify_changes(self, pub: PubIn, previous: dict[str, Agreement],
                          current: dict[str, Agreement], added: list[Agreement],
                          removed: list[Agreement]) -> None:
        removed_by_agency: dict[str, list[Agreement]] = defaultdict(list)
        for agreement in removed:
            removed_by_agency[agreement.agency_id].append(agreement)
        had_active = {a.agency_id for a in previous.values()}
        for agreement in sorted(added, key=lambda a: (a.agency_id, a.model)):
            gone = [a for a in removed_by_agency.get(agreement.agency_id, [])
                    if a.model != agreement.model]
            details: dict[str, Any] = {"signed": _iso(agreement.signed)}
            review = self.under_review.get((agreement.agency_id, agreement.model))
            if review:
                details["review"] = review
            if agreement.agreement_id in self.conflicted:
                details["not_a_correction"] = ("same name and model printed with another county, "
                                               "another MOA and a date far apart: another agreement")
                kind = "agreement_added"
            elif gone:
                old = gone[0]
                removed_by_agency[agreement.agency_id].remove(old)
                old.status, old.succeeded_by = "switched", agreement.agreement_id
                details |= {"from_model": old.model, "previous_agreement": old.agreement_id}
                kind = "model_switched"
            elif agreement.agency_id in had_active:
                kind = "model_added"
            else:
                kind = "agreement_added"
            self._event(kind, pub, agreement.agency_id, agreement_id=agreement.agreement_id,
                        model=agreement.model, details=details)
            self._pending_signed(pub, agreement)
        for agency_removed in removed_by_agency.values():
            for agreement in agency_removed:
                agreement.status = "removed"
                details = {"signed": _iso(agreement.signed), "last_listed": agreement.last_seen}
                if agreement.agreement_id in self.under_review:
                    details["review"] = self.under_review[agreement.agreement_id]
                self._event("agreement_removed", pub, agreement.agency_id,
                            agreement_id=agreement.agreement_id, model=agreement.model,
                            details=details)
                self.removals.append((self.events[-1].event_id, agreement.agreement_id, pub.id))

    def _pending_signed(self, pub: PubIn, agreement: Agreement) -> None:
        """Mark the agency's pending entry signed: the same model, else (flagged) another
        model the agency was pending for, still listed or gone within the window."""
        entry = self.pending.get(stable_id("pen", agreement.agency_id, agreement.model))
        if (entry is None or entry.status == "signed") and agreement.agency_id in self.waiting_agencies:
            departed = {d.pending_id: d.date for d in self.departures}
            entry = next((e for e in self.pending.values() if e.agency_id == agreement.agency_id
                          and e.status == "pending" and self._in_window(pub, e, departed)
                          and _signed_while_pending(agreement, e)), None)
        if entry is None or entry.status != "pending":
            return
        days = ((pub.label_date - entry.first_date).days
                if pub.label_date and entry.first_date else None)
        entry.status, entry.agreement_id, entry.days_pending = "signed", agreement.agreement_id, days
        details: dict[str, Any] = {"days_pending": days, "pending_since": entry.first_seen,
                                      "signed": _iso(agreement.signed)}
        if entry.model != agreement.model:
            details["model_changed"] = {"pending": entry.model, "signed": agreement.model}
        self._event("pending_signed", pub, agreement.agency_id,
                    agreement_id=agreement.agreement_id, pending_id=entry.pending_id,
                    model=agreement.model, details=details)
        # Seen pending on a later day than the previous participating list: the change
        # fell after that day, which may leave no unseen stretch at all.
        event = self.events[-1]
        span = event.details.get("between")
        if span and entry.first_date and pub.label_date and entry.first_date.isoformat() > span[0]:
            kept = {k: v for k, v in event.details.items() if k not in ("between", "gap_days")}
            if (pub.label_date - entry.first_date).days > GAP_MIN_DAYS:
                kept |= {"between": [entry.first_date.isoformat(), span[1]],
                         "gap_days": (pub.label_date - entry.first_date).days}
            self.events[-1] = replace(event, details=kept)

    def _in_window(self, pub: PubIn, entry: PendingEntry, departed: dict[str, dt.date | None]) -> bool:
        if entry.pending_id in self.on_pending:
            return True
        left = departed.get(entry.pending_id)
        return bool(left and pub.label_date
                    and (pub.label_date - left).days <= SIGNING_WINDOW_DAYS)

    def pending_list(self, pub: PubIn, rows: list[RowIn]) -> None:
        agency_ids = self._resolve(pub, rows)
        present: set[str] = set()
        for row, agency_id in zip(rows, agency_ids, strict=True):
            pending_id = None
            if agency_id and row.key.model:
                pending_id = stable_id("pen", agency_id, row.key.model)
                entry = self.pending.get(pending_id)
                if entry is None:
                    entry = PendingEntry(pending_id, agency_id, row.key.model, pub.id, pub.id,
                                         pub.label_date)
                    self.pending[pending_id] = entry
                entry.last_seen = pub.id
                if pending_id not in present and pending_id not in self.on_pending:
                    if entry.first_seen != pub.id:
                        self.returns.setdefault(pending_id, []).append(pub.id)
                    self._event("pending_added", pub, agency_id, pending_id=pending_id,
                                model=row.key.model,
                                details={"relisted": entry.first_seen != pub.id})
                present.add(pending_id)
            self.identities.append((pub.id, row.row_number, agency_id, None, pending_id))
        before = self.prev["pending"]
        for pending_id in sorted(self.on_pending - present):
            self.departures.append(Departure(pending_id, pub.id, before.id if before else None,
                                             pub.label_date))
        self.on_pending = present
        self.prev["pending"] = pub

    def finish(self) -> Derived:
        """Judge each departure with the whole archive in view (an entry that was, or later
        got, signed did not withdraw; one listed again soon was omitted, not gone), without
        changing the fold, so that later publications can still be added."""
        pending = dict(self.pending)
        statuses = {event_id: self._departure_status("participating", agreement_id, pub_id)
                    for event_id, agreement_id, pub_id in self.removals}
        events = list(self.events)
        for departure in self.departures:
            entry = pending[departure.pending_id]
            if entry.status == "signed":
                continue
            if departure.pending_id not in self.on_pending:
                pending[entry.pending_id] = replace(entry, status="withdrawn")
            details: dict[str, Any] = {"pending_since": entry.first_seen}
            latest = self.prev["participating"]
            if departure.date and (latest is None or latest.label_date is None or (
                    latest.label_date - departure.date).days < SIGNING_WINDOW_DAYS):
                details |= {"provisional": True, "window_ends": (
                    departure.date + dt.timedelta(days=SIGNING_WINDOW_DAYS)).isoformat()}
            status = self._departure_status("pending", entry.pending_id, departure.publication_id)
            if status == "confirmed" and details.get("provisional"):
                status = "provisional"
            events.append(Event("pending_withdrawn", "pending", departure.date, entry.agency_id,
                                self.resolver.agencies[entry.agency_id].state,
                                departure.before_pub, departure.publication_id,
                                pending_id=entry.pending_id, model=entry.model, details=details,
                                status=status))
            statuses[events[-1].event_id] = status
        events = [replace(e, status=_awaiting(statuses[e.event_id], e.details))
                  if e.kind == "agreement_removed" and e.event_id in statuses else e for e in events]
        return Derived(self.resolver, self.agreements, pending, events, self.departures,
                       list(self.lineage), statuses)

    def _departure_status(self, list_name: str, ref: str, left_pub: str) -> str:
        sequence = self.sequence[list_name]
        ids = [p.id for p in sequence]
        if left_pub not in ids:
            return "provisional"
        left = ids.index(left_pub)
        back = next((ids.index(p) for p in self.returns.get(ref, ())
                     if p in ids and ids.index(p) > left), None)
        return departure_status([(p.label_date, p.seen_last) for p in sequence], left, back)


def _awaiting(status: str, details: dict[str, Any]) -> str:
    """A removal whose agreement may live on under another spelling (a candidate waits in
    review) is not confirmed until a reviewer says it is another agency."""
    return "provisional" if status == "confirmed" and details.get("review") else status


def departure_status(dates: Sequence[tuple[dt.date | None, dt.date | None]], left: int,
                     back: int | None) -> str:
    """The status of a departure from a list whose publications carry ``dates`` (label
    date, last day captured; in order): it left at index ``left`` and came back at ``back``
    (None: not yet). Confirmed once absent from CONFIRM_LATER_PUBLICATIONS more
    publications and CONFIRM_DAYS days (an unchanged sheet captured again counts by its
    days, not again as a publication); listed again before that, retracted; otherwise
    provisional."""
    end = len(dates) if back is None else back
    first, last = dates[left][0], max(filter(None, dates[end - 1]), default=None)
    days = (last - first).days if first and last else 0
    if end - left > CONFIRM_LATER_PUBLICATIONS and days >= CONFIRM_DAYS:
        return "confirmed"
    return "provisional" if back is None else "retracted"


def _signed_while_pending(agreement: Agreement, entry: PendingEntry) -> bool:
    """An agreement under another model is the signing of a pending entry only if it was
    signed around or after the entry was first listed (not an older agreement)."""
    return agreement.signed is None or entry.first_date is None or (
        agreement.signed >= entry.first_date - dt.timedelta(days=SIGNING_WINDOW_DAYS))


def gap_between(before: PubIn | None, after: PubIn) -> dict[str, Any]:
    """The unseen stretch between two consecutive publications of a list, as event
    details (``between``: [last day seen, first day seen again], ``gap_days``), or {}
    when they are close enough for the later one's date to date the change. The stretch
    runs from the last day the older one was seen (its date, or a later capture of it) to
    the newer one's date, or its first capture when that date is no later (a stale caption:
    ICE changed the table but not the "as of" date above it)."""
    if before is None or before.label_date is None or after.label_date is None:
        return {}
    start = max(d for d in (before.label_date, before.seen_last) if d)
    end = after.label_date if after.label_date > start else max(after.seen_first or start, start)
    days = (end - start).days
    if days <= GAP_MIN_DAYS and before.source == after.source:
        return {}
    return {"between": [start.isoformat(), end.isoformat()], "gap_days": days}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None

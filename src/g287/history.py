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

from g287.resolve import AgencyResolver, RowKey, stable_id

# A later signing date for the same agency and model counts as a renewal (a new
# agreement) only when it is this much later; smaller moves are ICE correcting
# the date (PEERS quirks 40-41: re-dated by a day when the MOA posts, or when ICE
# countersigned).
RENEWAL_MIN_DAYS = 180

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
}


@dataclass(frozen=True, slots=True)
class PubIn:
    """A publication as the fold needs it."""

    id: str
    list_name: str
    file: str
    label_date: dt.date | None
    order: tuple
    source: str = "sheet"    # 'sheet' (an ICE file) | 'web' (an archived web roster)


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
    prev_printed: dict[str, dict[str, set]] = field(
        default_factory=lambda: {"participating": {}, "pending": {}})
    active: dict[str, Agreement] = field(default_factory=dict)   # on the latest participating sheet
    on_pending: set[str] = field(default_factory=set)             # on the latest pending sheet
    departures: list[Departure] = field(default_factory=list)
    identities: list[IdentityRow] = field(default_factory=list)

    def add(self, pub: PubIn, rows: list[RowIn]) -> list[IdentityRow]:
        """Take the next publication (in order); return the identity of each of its rows."""
        self.identities = []
        if pub.list_name == "participating":
            self.participating(pub, rows)
        else:
            self.pending_list(pub, rows)
        return self.identities

    def _resolve(self, pub: PubIn, rows: list[RowIn]) -> list[str | None]:
        ids = self.resolver.resolve(pub.id, pub.file, [r.key for r in rows],
                                    self.prev_printed[pub.list_name])
        printed: dict[str, set] = defaultdict(set)
        for row, agency_id in zip(rows, ids, strict=True):
            if agency_id:
                printed[agency_id].add((row.key.model, row.key.signed))
        self.prev_printed[pub.list_name] = dict(printed)
        return ids

    def _event(self, kind: str, pub: PubIn, agency_id: str, **extra: object) -> None:
        before = self.prev[pub.list_name]
        span = gap_between(before, pub)
        if span:
            extra["details"] = {**extra.get("details", {}), **span}
        self.events.append(Event(kind, pub.list_name, pub.label_date, agency_id,
                                 self.resolver.agencies[agency_id].state,
                                 before.id if before else None, pub.id, **extra))

    def participating(self, pub: PubIn, rows: list[RowIn]) -> None:
        agency_ids = self._resolve(pub, rows)
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
        for (agency_id, model), members in groups.items():
            by_date: dict[dt.date | None, list[RowIn]] = defaultdict(list)
            for row, _ in members:
                by_date[row.key.signed].append(row)
            for agreement, printed in self._match(pub, agency_id, model, by_date,
                                                  prev_by_group.get((agency_id, model), []),
                                                  added):
                current[agreement.agreement_id] = agreement
                self._update_documents(pub, agreement, printed)
                for row in printed:
                    self.identities.append((pub.id, row.row_number, agency_id,
                                            agreement.agreement_id, None))
        removed = [a for a in previous.values() if a.agreement_id not in current
                   and a.status == "active"]
        self._classify_changes(pub, previous, current, added, removed)
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
            if known:
                known.status = "active"
                self._event("agreement_reinstated", pub, agency_id, agreement_id=agreement_id,
                            model=model, details={"signed": _iso(day),
                                                  "absent_since": known.last_seen})
                matched.append((known, by_date[day]))
            else:
                new = self._new_agreement(pub, agency_id, model, day)
                added.append(new)
                matched.append((new, by_date[day]))
        for agreement, _ in matched:
            agreement.last_seen = pub.id
        return matched

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
            details = {"signed": _iso(agreement.signed)}
            if gone:
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
                self._event("agreement_removed", pub, agreement.agency_id,
                            agreement_id=agreement.agreement_id, model=agreement.model,
                            details={"signed": _iso(agreement.signed),
                                     "last_listed": agreement.last_seen})

    def _pending_signed(self, pub: PubIn, agreement: Agreement) -> None:
        entry = self.pending.get(stable_id("pen", agreement.agency_id, agreement.model))
        if entry is None or entry.status == "signed":
            return
        days = ((pub.label_date - entry.first_date).days
                if pub.label_date and entry.first_date else None)
        entry.status, entry.agreement_id, entry.days_pending = "signed", agreement.agreement_id, days
        self._event("pending_signed", pub, agreement.agency_id,
                    agreement_id=agreement.agreement_id, pending_id=entry.pending_id,
                    model=agreement.model,
                    details={"days_pending": days, "pending_since": entry.first_seen,
                             "signed": _iso(agreement.signed)})
        # Seen pending on a later day than the previous participating list: the change
        # fell after that day, which may leave no unseen stretch at all.
        event = self.events[-1]
        span = event.details.get("between")
        if span and entry.first_date and pub.label_date and entry.first_date.isoformat() > span[0]:
            details = {k: v for k, v in event.details.items() if k not in ("between", "gap_days")}
            if (pub.label_date - entry.first_date).days > GAP_MIN_DAYS:
                details |= {"between": [entry.first_date.isoformat(), span[1]],
                            "gap_days": (pub.label_date - entry.first_date).days}
            self.events[-1] = replace(event, details=details)

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
        """Judge each departure from the pending list with the whole archive in view (an
        entry that was, or later got, signed did not withdraw), without changing the fold,
        so that later publications can still be added."""
        pending = dict(self.pending)
        events = list(self.events)
        for departure in self.departures:
            entry = pending[departure.pending_id]
            if entry.status == "signed":
                continue
            if departure.pending_id not in self.on_pending:
                pending[entry.pending_id] = replace(entry, status="withdrawn")
            events.append(Event("pending_withdrawn", "pending", departure.date, entry.agency_id,
                                self.resolver.agencies[entry.agency_id].state,
                                departure.before_pub, departure.publication_id,
                                pending_id=entry.pending_id, model=entry.model,
                                details={"pending_since": entry.first_seen}))
        return Derived(self.resolver, self.agreements, pending, events, self.departures)


def gap_between(before: PubIn | None, after: PubIn) -> dict[str, object]:
    """The unseen stretch between two consecutive publications of a list, as event
    details (``between``: [last day seen, first day seen again], ``gap_days``), or {}
    when they are close enough for the later one's date to date the change."""
    if before is None or before.label_date is None or after.label_date is None:
        return {}
    days = (after.label_date - before.label_date).days
    if days <= GAP_MIN_DAYS and before.source == after.source:
        return {}
    return {"between": [before.label_date.isoformat(), after.label_date.isoformat()],
            "gap_days": days}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None

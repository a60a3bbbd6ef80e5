"""ICE's file-name labels and the capture times of archive folders.

ICE names its sheets ``participatingAgenciesMMDDYYYY{am|pm}.xlsx`` and
``pendingAgenciesMMDDYYYY{am|pm}.xlsx``; archives keep each download in a
``sheets_YYYYMMDD_HHMMSS`` folder named for its UTC capture time. Neither is a
key (one name has carried two contents), but the label dates a publication and
the capture says when it was seen.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import PurePath

LISTS = ("participating", "pending")

_LABEL = re.compile(
    r"(?P<list>participating|pending)\s*agencies\s*[_-]?\s*"
    r"(?P<mm>\d{1,2})[._-]?(?P<dd>\d{1,2})[._-]?(?P<yyyy>\d{4})\s*"
    r"(?P<ampm>am|pm|mid)?(?P<suffix>[^.]*)\.xlsx?$",
    re.IGNORECASE,
)
_LIST_ONLY = re.compile(r"(participating|pending)", re.IGNORECASE)
_CAPTURE = re.compile(r"sheets_(\d{8})_(\d{6})")
# A Wayback Machine capture saved under its timestamp: ``participatingAgencies-20250221214937.xlsx``.
_WAYBACK_NAME = re.compile(r"-(\d{14})\.[A-Za-z]+$")
_AMPM_ORDER = {"am": 0, "mid": 1, None: 1, "pm": 2}


@dataclass(frozen=True, slots=True)
class FileLabel:
    """What an ICE file name says: its list, label date, am/pm part and any suffix."""

    list_name: str | None
    date: dt.date | None
    ampm: str | None
    suffix: str

    @property
    def order(self) -> tuple[int, int, str]:
        """Sort key within one list: date, then am < (unmarked) < pm, then suffix."""
        ordinal = self.date.toordinal() if self.date else 0
        return ordinal, _AMPM_ORDER.get(self.ampm, 1), self.suffix

    @property
    def text(self) -> str | None:
        """The label as people cite it: ``2025-06-06 am``."""
        if not self.date:
            return None
        return " ".join(p for p in (self.date.isoformat(), self.ampm, self.suffix or None) if p)


def parse_file_name(name: str) -> FileLabel:
    """Parse an ICE sheet file name; parts that are absent or malformed are None."""
    base = PurePath(name).name
    match = None if _WAYBACK_NAME.search(base) else _LABEL.search(base)
    if not match:
        listed = _LIST_ONLY.search(base)
        return FileLabel(listed.group(1).lower() if listed else None, None, None, "")
    try:
        day = dt.date(int(match["yyyy"]), int(match["mm"]), int(match["dd"]))
    except ValueError:
        day = None
    ampm = match["ampm"].lower() if match["ampm"] else None
    suffix = match["suffix"].strip(" _-").lower()
    return FileLabel(match["list"].lower(), day, ampm, suffix)


def capture_time(path: PurePath) -> dt.datetime | None:
    """Return the UTC capture time from the nearest ``sheets_YYYYMMDD_HHMMSS`` folder."""
    for part in reversed(path.parts[:-1]):
        match = _CAPTURE.fullmatch(part)
        if match:
            try:
                stamp = dt.datetime.strptime("".join(match.groups()), "%Y%m%d%H%M%S")
            except ValueError:
                return None
            return stamp.replace(tzinfo=dt.UTC)
    return None


def capture_folder(path: PurePath) -> str | None:
    """Return the name of the capture folder holding a file, if any."""
    for part in reversed(path.parts[:-1]):
        if _CAPTURE.fullmatch(part):
            return part
    return None


def wayback_time(name: str) -> dt.datetime | None:
    """The Wayback Machine capture time a file name carries (``…-YYYYMMDDhhmmss.xlsx``), UTC."""
    match = _WAYBACK_NAME.search(PurePath(name).name)
    if not match:
        return None
    try:
        return dt.datetime.strptime(match.group(1), "%Y%m%d%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        return None


# ICE saves a workbook, then publishes it under its label, sometimes the next morning; a
# workbook last saved more than this many days after its label's date was not published
# on that date (``01052025pm`` saved on 2026-01-05, ``08022025pm`` saved on 2025-09-02).
SAVED_AFTER_LABEL_DAYS = 1


def contradicted(label: FileLabel, modified_utc: str | None, captured_utc: str) -> bool:
    """Whether the workbook's own save time shows its label's date cannot be right. A save
    time after the file's first capture is someone else's re-save, not evidence."""
    if label.date is None or not modified_utc or modified_utc > captured_utc:
        return False
    saved = dt.date.fromisoformat(modified_utc[:10])
    return (saved - label.date).days > SAVED_AFTER_LABEL_DAYS


# The Immigration and Nationality Act gained section 287(g) on 1996-09-30: no 287(g) list
# is older. A label after its own capture (plus a day for time zones) is a typo or a lie.
FIRST_PLAUSIBLE = dt.date(1996, 9, 30)


def plausible(label: FileLabel, captured_utc: str) -> bool:
    """Whether a label's date can be true for a file captured at ``captured_utc``: a label
    in year 5025 would stay "latest" forever, one in year 0001 would rewrite the history."""
    if label.date is None:
        return True
    captured = dt.date.fromisoformat(captured_utc[:10])
    return FIRST_PLAUSIBLE <= label.date <= captured + dt.timedelta(days=1)

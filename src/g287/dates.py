"""The one parser for dates a person types: CLI options, API parameters, claim files.

ISO ``YYYY-MM-DD`` only: a reporter's "06/07/2025" is ambiguous between the U.S. and
most of the world, and a wrong day silently changes which publication answers.
"""

from __future__ import annotations

import datetime as dt
import re

from g287.errors import BadInput

EARLIEST, LATEST = dt.date(1900, 1, 1), dt.date(2100, 12, 31)
"""The dates g287 answers for: long before the first 287(g) agreement (1996) and long after
any sheet, yet far inside the calendar, so date arithmetic (the day after, a year before)
never overflows on a typed ``9999-12-31`` or ``0001-01-01``."""
_ISO = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_date(text: str | dt.date) -> dt.date:
    """Read ``YYYY-MM-DD`` (surrounding spaces allowed) from EARLIEST to LATEST; anything else
    (a week date, a Unix time, another calendar's digits) is ``BadInput``."""
    if isinstance(text, dt.datetime):
        day = text.date()
    elif isinstance(text, dt.date):
        day = text
    else:
        stripped = text.strip()
        try:
            day = dt.date.fromisoformat(stripped) if _ISO.fullmatch(stripped) else _refuse(text)
        except ValueError:
            day = _refuse(text)
    if not EARLIEST <= day <= LATEST:
        raise BadInput(f"{day.isoformat()} is outside the dates g287 answers for ({EARLIEST} to {LATEST})")
    return day


def _refuse(text: str) -> dt.date:
    raise BadInput(f"{text!r} is not a date; use YYYY-MM-DD")

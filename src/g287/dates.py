"""The one parser for dates a person types: CLI options, API parameters, claim files.

ISO ``YYYY-MM-DD`` only: a reporter's "06/07/2025" is ambiguous between the U.S. and
most of the world, and a wrong day silently changes which publication answers.
"""

from __future__ import annotations

import datetime as dt

from g287.errors import BadInput


def parse_date(text: str | dt.date) -> dt.date:
    """Read ``YYYY-MM-DD`` (surrounding spaces allowed); anything else is ``BadInput``."""
    if isinstance(text, dt.datetime):
        return text.date()
    if isinstance(text, dt.date):
        return text
    try:
        return dt.date.fromisoformat(text.strip()) if len(text.strip()) == 10 else _refuse(text)
    except ValueError:
        return _refuse(text)


def _refuse(text: str) -> dt.date:
    raise BadInput(f"{text!r} is not a date; use YYYY-MM-DD")

"""Text that came from outside (sheets, file names, URLs) made safe to show.

ICE's sheets and users' files can carry control characters and terminal escapes
(``ESC[2J`` clears a reporter's screen, ``ESC]8;`` forges links); printed or put in
XML they corrupt the output. Rich markup in such text is escaped where it is printed.
"""

from __future__ import annotations

import logging
import re

# C0 controls except tab and newline, DEL and the C1 controls (ESC sequences start here).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def has_control(text: str) -> bool:
    """Whether text holds characters no publication should print (kept but flagged)."""
    return bool(_CONTROL.search(text))


def safe_text(text: object) -> str:
    """``text`` with control characters shown as ``\\xNN`` escapes instead of acting."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


# DEL and the C1 controls, which JSON leaves as they are (it escapes only C0).
_JSON_UNESCAPED = re.compile(r"[\x7f-\x9f]")


def safe_json(text: str) -> str:
    """JSON text with DEL and C1 controls written as ``\\u00NN`` escapes: the same JSON
    value, with nothing a terminal would act on."""
    return _JSON_UNESCAPED.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class ControlFilter(logging.Filter):
    """Log records (a request path, a file name) with control characters shown as escapes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = safe_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(safe_text(a) if isinstance(a, str) else a for a in record.args)
        return True

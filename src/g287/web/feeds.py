"""Atom feeds of changes: all, per state, per agency; each entry names its publication."""

from __future__ import annotations

import datetime as dt
from xml.etree import ElementTree as ET

from g287 import query
from g287.text import safe_text
from g287.web.i18n import Translator

ATOM = "http://www.w3.org/2005/Atom"


def _updated(day: str) -> str:
    return f"{day}T00:00:00Z"


def atom(events: list[query.EventRecord], *, title: str, feed_id: str, self_url: str, base_url: str,
         t: Translator) -> bytes:
    """An Atom 1.0 document for events (newest first); links go to pages in the feed's language."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = safe_text(title)
    ET.SubElement(feed, f"{{{ATOM}}}id").text = feed_id
    feed.set("xml:lang", t.lang)
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _updated(events[0].date if events else
                                                                dt.date.today().isoformat())
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=self_url)
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=base_url + t.path("/"))
    ET.SubElement(ET.SubElement(feed, f"{{{ATOM}}}author"), f"{{{ATOM}}}name").text = "g287"
    for e in events[:200]:
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        kind = t(f"kind.{e.kind}") + (
            f" ({t('event.status.' + e.status)})" if e.status in ("provisional", "retracted")
            else f" ({t('event.provisional')})" if e.details.get("provisional") else "")
        ET.SubElement(entry, f"{{{ATOM}}}title").text = safe_text(
            f"{kind}: {e.agency_name} ({t.state(e.state)})" + (f" · {e.model}" if e.model else ""))
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{feed_id.rsplit(':', 1)[0]}:event:{e.event_id}"
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _updated(e.date)
        ET.SubElement(entry, f"{{{ATOM}}}link", rel="alternate",
                      href=base_url + t.path("/agency/" + e.agency_id))
        span = e.details.get("between")
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = safe_text(t(
            "feed.summary_between", kind=kind, agency=e.agency_name, after=e.after,
            start=t.date(span[0]), end=t.date(span[1]), before=e.before or "—") if span else t(
            "feed.summary", kind=kind, agency=e.agency_name, date=t.date(e.date), after=e.after,
            before=e.before or "—"))
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="utf-8")

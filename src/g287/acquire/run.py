"""One acquisition run: fetch the sheets, then the MOA documents.

Runs need no lock between them: every archive file is written under a new
capture folder or a content address by rename, and each ingest is one SQLite
transaction. Only watchers are kept to one per archive (``g287.acquire.watch``).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from g287.acquire import http
from g287.acquire.fetch import FetchReport, fetch
from g287.acquire.moa import BUDGET, MoaReport, download_moas
from g287.acquire.page import DEFAULT_SOURCE


@dataclass(slots=True)
class RunReport:
    fetch: FetchReport
    moa: MoaReport | None = None


def run_once(conn: sqlite3.Connection, archive: Path, source_url: str = DEFAULT_SOURCE, *,
             with_moa: bool = True, client: httpx.Client | None = None,
             policy: http.Policy | None = None, now: dt.datetime | None = None,
             stop: Callable[[], bool] | None = None, moa_budget: float = BUDGET,
             progress: Callable[[str], None] | None = None) -> RunReport:
    """Fetch the sheets (stored and committed first) and then, unless told not to or asked to
    stop, the MOA documents within ``moa_budget`` seconds. ``progress`` hears each stage."""
    if progress:
        progress(f"fetching ICE's page {source_url}")
    report = RunReport(fetch(conn, archive, source_url, client=client, policy=policy, now=now))
    if progress:
        progress("sheets: " + ", ".join(f"{s.list_name} {s.file} {s.outcome.replace('_', ' ')}"
                                        for s in report.fetch.sheets))
    if with_moa and not (stop is not None and stop()):
        report.moa = download_moas(conn, archive, client=client, policy=policy, now=now, stop=stop,
                                   budget=moa_budget, progress=progress)
    return report

"""Dump every table of a history, or compare two dumps: proof that a change to storage
left every figure and event as it was.

    python bench/compare_tables.py dump DB OUT.json
    python bench/compare_tables.py compare BEFORE.json AFTER.json [--ignore TABLE ...]

A dump holds each table's (or view's) rows, sorted, as JSON text. Tables are read by
name through SQL, so a table turned into a view of the same columns compares equal.
"""

from __future__ import annotations

import json
import sqlite3
import sys

# Bookkeeping that differs between any two builds, or is storage itself, not history.
SKIPPED = {"meta"}


def dump(db: str) -> dict[str, list[str]]:
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')"
        " AND name NOT LIKE 'sqlite_%' ORDER BY name")]
    tables = {}
    for name in names:
        if name in SKIPPED:
            continue
        cursor = conn.execute(f'SELECT * FROM "{name}"')
        columns = [d[0] for d in cursor.description]
        tables[name] = sorted(json.dumps(dict(zip(columns, row, strict=True)), default=repr,
                                         sort_keys=True) for row in cursor)
    return tables


def compare(before: dict[str, list[str]], after: dict[str, list[str]], ignore: set[str]) -> int:
    differing = 0
    for name in sorted(before):
        if name in ignore:
            continue
        if name not in after:
            print(f"{name}: missing after")
            differing += 1
            continue
        old, new = set(before[name]), set(after[name])
        if before[name] == after[name]:
            print(f"{name}: {len(before[name])} rows, identical")
            continue
        differing += 1
        print(f"{name}: {len(before[name])} rows before, {len(after[name])} after;"
              f" {len(old - new)} only before, {len(new - old)} only after")
        for row in sorted(old - new)[:3]:
            print(f"  - {row[:300]}")
        for row in sorted(new - old)[:3]:
            print(f"  + {row[:300]}")
    return differing


def main(argv: list[str]) -> int:
    if argv[:1] == ["dump"] and len(argv) == 3:
        with open(argv[2], "w", encoding="utf-8") as out:
            json.dump(dump(argv[1]), out)
        return 0
    if argv[:1] == ["compare"] and len(argv) >= 3:
        ignore = set(argv[4:]) if argv[3:4] == ["--ignore"] else set()
        with open(argv[1], encoding="utf-8") as a, open(argv[2], encoding="utf-8") as b:
            return 1 if compare(json.load(a), json.load(b), ignore) else 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

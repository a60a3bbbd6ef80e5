"""Generated documents stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from g287.cli import reference

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _words(text: str) -> list[str]:
    """Compare words, not layout: box drawing and wrapping vary with Rich versions."""
    return re.findall(r"[\w$.<>\[\]/=*-]+", re.sub(r"[─-╿]", " ", text))


def test_cli_reference_is_current():
    assert _words((DOCS / "CLI.md").read_text()) == _words(reference.markdown()), \
        "regenerate: python -m g287.cli.reference > docs/CLI.md"

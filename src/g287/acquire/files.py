"""Archive files written whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(target: Path, content: bytes) -> None:
    """Write to a temporary name beside the target, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.part")
    temporary.write_bytes(content)
    os.replace(temporary, target)

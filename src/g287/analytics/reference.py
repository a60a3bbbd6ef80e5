"""The program's reference data: its three models and a dated timeline, with sources."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml


@dataclass(frozen=True, slots=True)
class Model:
    code: str
    name: str
    authorizes: str
    training: str
    eligibility: str
    source: str


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    date: str
    event: str
    source: str


@cache
def _program() -> dict:
    text = resources.files("g287").joinpath("data", "program.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def models() -> list[Model]:
    """The three 287(g) models: what each authorizes, training, officer eligibility."""
    return [Model(**entry) for entry in _program()["models"]]


def timeline() -> list[TimelineEntry]:
    """Dated milestones of the program, oldest first."""
    return [TimelineEntry(str(e["date"]), e["event"], e["source"]) for e in _program()["timeline"]]

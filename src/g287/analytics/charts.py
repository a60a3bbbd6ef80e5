"""Charts as SVG text, drawn with matplotlib (Agg backend, no display needed)."""

from __future__ import annotations

import datetime as dt
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"JEM": "#1b6ca8", "WSO": "#e07b00", "TFM": "#2e8540", "total": "#222222"}
# Deterministic SVG output: no creation date, fixed hash salt for element ids.
matplotlib.rcParams["svg.hashsalt"] = "g287"
matplotlib.rcParams["svg.fonttype"] = "none"


def _svg(figure: plt.Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    return buffer.getvalue()


def growth_chart(dates: list[dt.date], totals: list[float], by_model: dict[str, list[float]],
                 title: str, source: str) -> str:
    """Line chart of agreements over time, total and per model (NaN values break the lines)."""
    figure, axes = plt.subplots(figsize=(7.5, 3.6))
    axes.plot(dates, totals, color=COLORS["total"], linewidth=2.2, label="All agreements")
    for model, values in by_model.items():
        axes.plot(dates, values, color=COLORS[model], linewidth=1.4, label=model)
    axes.set_title(title, loc="left", fontsize=11)
    axes.xaxis.set_major_formatter(mdates.DateFormatter("%b %d\n%Y"))
    axes.grid(axis="y", alpha=0.3)
    axes.spines[["top", "right"]].set_visible(False)
    axes.legend(frameon=False, fontsize=8, ncol=4, loc="upper left")
    figure.text(0.01, -0.04, source, fontsize=7, color="#555555")
    return _svg(figure)


def bar_chart(labels: list[str], values: list[int], title: str, source: str) -> str:
    """Horizontal bar chart, largest on top."""
    figure, axes = plt.subplots(figsize=(7.5, 0.32 * len(labels) + 1.2))
    axes.barh(labels[::-1], values[::-1], color="#1b6ca8")
    for y, value in enumerate(values[::-1]):
        axes.text(value, y, f" {value:,}", va="center", fontsize=8)
    axes.set_title(title, loc="left", fontsize=11)
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(axis="y", labelsize=8)
    figure.text(0.01, -0.04, source, fontsize=7, color="#555555")
    return _svg(figure)

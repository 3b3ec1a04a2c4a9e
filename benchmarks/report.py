"""The results as a markdown table, a PNG chart and a list of targets met."""

from __future__ import annotations

import os
import platform
import textwrap
from collections.abc import Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path

import msgspec
import psycopg

from benchmarks.harness import Group, Result, paired_ratio

__all__ = ["Target", "chart", "check_targets", "environment", "markdown"]

Results = dict[str, list[Result]]


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """A ratio yeko-sql must stay within, in one group, against one case."""

    what: str
    group: str
    case: str
    against: str
    limit: float
    measured: float | None = None

    @property
    def met(self) -> bool:
        """Whether the measured ratio is within the limit."""
        return self.measured is not None and self.measured <= self.limit


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory() -> str:
    try:
        kib = int(Path("/proc/meminfo").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return "?"
    return f"{kib / 2**20:.0f} GiB"


def environment(server_version: str, load: str) -> list[str]:
    """Lines naming the machine, the software, the date and the load during the run."""
    versions = ", ".join(
        f"{name} {metadata.version(name)}"
        for name in ("psycopg", "psycopg-pool", "msgspec", "aiosql", "SQLAlchemy")
    )
    return [
        f"Run {datetime.now().astimezone():%Y-%m-%d %H:%M %Z} on {_cpu()}, "
        f"{os.cpu_count()} cores, {_memory()} RAM, "
        f"{platform.system()} {platform.release()}.",
        f"Python {platform.python_version()}, PostgreSQL {server_version} "
        f"(same machine, tmpfs, fsync off), libpq {psycopg.pq.version()}, "
        f"{versions}, asyncpg {metadata.version('asyncpg')}, "
        f"yeko-sql {metadata.version('yeko-sql')}.",
        f"Load average (1 min) before and after the run: {load}; other work on "
        "the machine adds noise that interleaving spreads over every case.",
    ]


def _format(group: Group, value: float) -> str:
    if group.rate:
        return f"{1 / value:,.0f} {group.unit}"
    scaled = value * group.scale
    digits = 0 if scaled >= 100 else 1 if scaled >= 10 else 2  # noqa: PLR2004
    return f"{scaled:,.{digits}f} {group.unit}"


def markdown(
    groups: Sequence[Group],
    results: Results,
    targets: Sequence[Target],
    *,
    header: Sequence[str],
    rounds: int,
) -> str:
    """Every group as a table (median, ratio to the floor), targets first."""
    lines = ["# yeko-sql against its peers", "", *header, ""]
    lines += [
        f"Medians of up to {rounds} interleaved rounds. × is the ratio to the "
        "group's floor (its first case), taken round by round and then the "
        "median, so a round slowed by other work cancels out; lower is better "
        "(for throughput: the floor's calls per second over the case's).",
        "",
        "## Targets",
        "",
        "| target | measured | limit | |",
        "|---|---:|---:|---|",
    ]
    for t in targets:
        measured = "n/a" if t.measured is None else f"{t.measured:.3g}×"
        verdict = "met" if t.met else "**missed**"
        lines.append(f"| {t.what} | {measured} | ≤ {t.limit:g}× | {verdict} |")
    for group in groups:
        extra = group.measures is not None
        lines += ["", f"## {group.title}", ""]
        lines.append("| case | median | × floor |" + (" time |" if extra else ""))
        lines.append("|---|---:|---:|" + ("---:|" if extra else ""))
        for r in results[group.key]:
            row = f"| {r.case} | {_format(group, r.median)} | {r.ratio:.3f}× |"
            if extra:
                row += f" {r.seconds or 0:.2f} s |"
            lines.append(row)
        lines += [f"> {note}" for note in group.notes if note]
    return "\n".join(lines) + "\n"


def check_targets(targets: Sequence[Target], results: Results) -> list[Target]:
    """Fill in each target's measured ratio (paired by round, as in the tables)."""
    checked = []
    for t in targets:
        found = {r.case: r.samples for r in results.get(t.group, [])}
        measured = None
        if t.case in found and t.against in found:
            measured = paired_ratio(found[t.case], found[t.against])
        checked.append(msgspec.structs.replace(t, measured=measured))
    return checked


def chart(groups: Sequence[Group], results: Results, path: Path, title: str) -> None:
    """One horizontal bar chart per group: each case's ratio to the floor."""
    import matplotlib as mpl  # noqa: PLC0415  (only the full run draws)

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    columns = 2
    rows = -(-len(groups) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(16, 2.6 * rows), squeeze=False)
    for ax, group in zip(axes.flat, groups, strict=False):
        found = results[group.key]
        names = [r.case for r in found][::-1]
        ratios = [r.ratio for r in found][::-1]
        colors = [
            "#1f77b4" if "yeko" in n else "#7f7f7f" if "floor" in n else "#ff7f0e"
            for n in names
        ]
        bars = ax.barh(names, ratios, color=colors)
        ax.bar_label(bars, labels=[f"{v:.2f}×" for v in ratios], fontsize=7)
        ax.axvline(1.0, color="black", linewidth=0.8)
        if max(ratios) > 20:  # noqa: PLR2004  (OFFSET and ORM dwarf the rest)
            ax.set_xscale("log")
        ax.set_title(group.title, fontsize=9)
        ax.tick_params(axis="y", labelsize=7)
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(groups) :]:
        ax.set_visible(False)
    wrapped = textwrap.wrap(title, 150)
    fig.suptitle("\n".join(wrapped), fontsize=9)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.2 * len(wrapped) / fig.get_figheight()))
    fig.savefig(path, dpi=110)
    plt.close(fig)

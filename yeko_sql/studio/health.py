"""The studio's health page: ``stats`` now, and snapshots over time as charts.

Each snapshot is one line of JSON appended to a file in the project
(``.yeko/studio/health.jsonl`` by default): when it was taken, the guardrail
figures (cache hit, index scans, lock waits, worst p95) and each named
query's calls, mean and p95 (``pg_stat_statements``, by its
``/* yeko:ns.name */`` tag). The page draws them as inline SVG, so it needs
no script and no network.
"""

from __future__ import annotations

import html
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import msgspec

from yeko_sql.ops.stats import HealthReport, collect_health
from yeko_sql.query.registry import Registry

__all__ = [
    "QueryHealth",
    "Snapshot",
    "SnapshotStore",
    "line_chart",
    "query_health",
]

_TAG = "yeko:"


class Point(msgspec.Struct, frozen=True):
    """One named query's figures in one snapshot."""

    calls: int
    mean_ms: float
    p95_ms: float


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The database's health at one moment."""

    at: float  # seconds since the epoch
    cache_hit: float | None
    index_ratio: float | None
    lock_wait: float
    worst_p95_ms: float | None
    queries: dict[str, Point]


def snapshot_of(report: HealthReport, at: float | None = None) -> Snapshot:
    """The figures of *report* worth charting."""
    scans = sum(t.seq_scans + t.index_scans for t in report.tables)
    index = sum(t.index_scans for t in report.tables)
    named = {
        s.label.removeprefix(_TAG): Point(s.calls, s.mean_ms, s.p95_ms)
        for s in report.top_statements
        if s.label.startswith(_TAG)
    }
    p95s = [s.p95_ms for s in report.top_statements]
    return Snapshot(
        at=time.time() if at is None else at,
        cache_hit=report.cache_hit_ratio,
        index_ratio=index / scans if scans else None,
        lock_wait=report.lock_wait_ratio,
        worst_p95_ms=max(p95s) if p95s else None,
        queries=named,
    )


class SnapshotStore:
    """Snapshots appended to a JSON-lines file; the last *keep* are read back."""

    def __init__(self, path: Path, *, keep: int = 500) -> None:
        self.path = path
        self.keep = keep

    def take(self, url: str) -> tuple[HealthReport, Snapshot]:
        """Measure the database now and append the snapshot."""
        report = collect_health(url, top=100, lock_samples=5)
        snap = snapshot_of(report)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab") as out:
            out.write(msgspec.json.encode(snap) + b"\n")
        return report, snap

    def read(self) -> list[Snapshot]:
        """The kept snapshots, oldest first; a damaged line is skipped."""
        if not self.path.is_file():
            return []
        decoder = msgspec.json.Decoder(Snapshot)
        found = []
        for line in self.path.read_bytes().splitlines()[-self.keep :]:
            try:
                found.append(decoder.decode(line))
            except msgspec.DecodeError:
                continue
        return found


@dataclass(frozen=True, slots=True)
class QueryHealth:
    """One named query against its budget."""

    name: str
    calls: int
    mean_ms: float
    p95_ms: float
    budget_ms: float | None
    hit_ratio: float | None

    @property
    def over_budget(self) -> bool:
        """Whether its p95 exceeds its ``-- budget:``."""
        return self.budget_ms is not None and self.p95_ms > self.budget_ms


def _budget(text: str | None) -> float | None:
    if not text:
        return None
    value = text.strip().removesuffix("ms").strip()
    try:
        return float(value)
    except ValueError:
        return None


def query_health(report: HealthReport, registry: Registry) -> list[QueryHealth]:
    """Each tagged statement of *report*, with its query's budget when known."""
    budgets = {q.qualname: _budget(q.headers.get("budget")) for q in registry}
    return [
        QueryHealth(
            name=s.label.removeprefix(_TAG),
            calls=s.calls,
            mean_ms=s.mean_ms,
            p95_ms=s.p95_ms,
            budget_ms=budgets.get(s.label.removeprefix(_TAG)),
            hit_ratio=s.hit_ratio,
        )
        for s in report.top_statements
        if s.label.startswith(_TAG)
    ]


_PALETTE = ("#2563eb", "#dc2626", "#16a34a", "#9333ea", "#ea580c", "#0891b2")


def line_chart(
    title: str,
    times: Sequence[float],
    series: Mapping[str, Sequence[float | None]],
    *,
    unit: str,
    width: int = 640,
    height: int = 200,
    top: float | None = None,
) -> str:
    """An inline SVG line chart: one polyline per series, a legend, the range.

    *top* fixes the vertical scale (100 for percentages); else the largest
    value and a tenth more.
    """
    pad = 36
    values = [v for line in series.values() for v in line if v is not None]
    if top is None:
        top = max(values) * 1.1 if values and max(values) > 0 else 1.0
    span = (times[-1] - times[0]) if len(times) > 1 else 1.0

    def x(t: float) -> float:
        return pad + (t - times[0]) / span * (width - 2 * pad) if span else pad

    def y(v: float) -> float:
        return height - pad - v / top * (height - 2 * pad)

    parts = [
        f'<svg class="chart" role="img" aria-label="{html.escape(title)}"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}">',
        f'<text x="{pad}" y="16" class="title">{html.escape(title)}</text>',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}"'
        f' y2="{height - pad}" class="axis"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" class="axis"/>',
        f'<text x="2" y="{pad + 4}" class="tick">{top:.3g}{unit}</text>',
        f'<text x="2" y="{height - pad}" class="tick">0</text>',
    ]
    for index, (name, line) in enumerate(series.items()):
        color = _PALETTE[index % len(_PALETTE)]
        points = " ".join(
            f"{x(t):.1f},{y(v):.1f}"
            for t, v in zip(times, line, strict=False)
            if v is not None
        )
        if points:
            parts.append(
                f'<polyline fill="none" stroke="{color}" stroke-width="2"'
                f' points="{points}"><title>{html.escape(name)}</title></polyline>'
            )
        parts.append(
            f'<text x="{width - pad - 200}" y="{pad + 14 * index}"'
            f' class="legend" style="fill: {color}">{html.escape(name)}</text>'
        )
    if len(times) < 2:  # noqa: PLR2004
        parts.append(
            f'<text x="{width / 2 - 90}" y="{height / 2}" class="tick">'
            "one snapshot so far: a line needs two</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def charts(snapshots: Iterable[Snapshot], *, top: int = 5) -> list[str]:
    """The health page's charts: guardrail ratios, and the slowest queries' p95."""
    snaps = list(snapshots)
    if not snaps:
        return []
    times = [s.at for s in snaps]
    ratios = line_chart(
        "cache hit and index scans (%)",
        times,
        {
            "cache hit": [
                None if s.cache_hit is None else 100 * s.cache_hit for s in snaps
            ],
            "index scans": [
                None if s.index_ratio is None else 100 * s.index_ratio for s in snaps
            ],
            "lock waits": [100 * s.lock_wait for s in snaps],
        },
        unit="%",
        top=100.0,
    )
    latest = snaps[-1].queries
    slowest = sorted(latest, key=lambda n: latest[n].p95_ms, reverse=True)[:top]
    p95 = line_chart(
        "p95 of the slowest named queries (ms)",
        times,
        {
            name: [s.queries[name].p95_ms if name in s.queries else None for s in snaps]
            for name in slowest
        },
        unit=" ms",
    )
    return [ratios, p95]

"""Interleaved timing: every case of every group, once per round, medians.

A ``Group`` is one workload: its cases do the same work on the same data, and
the first case is the floor the others are compared with. ``run_groups``
warms every case up, then times each case once per round, all groups in
turn, rotating the order inside a group each round, so machine noise and
cache warmth hit every case alike. A group may instead *measure* (peak
memory in a subprocess): its cases return their own figures.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec

__all__ = ["Group", "Outcome", "Result", "paired_ratio", "run_groups"]

Case = Callable[[], object]


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    """What a measuring case reports: its main figure and the time it took."""

    value: float
    seconds: float


@dataclass
class Group:
    """One workload: cases doing the same work, the first one the floor.

    *per* divides a sample's time (calls per sample, for the group or per case
    by name) so medians are per call;
    *reset* runs, untimed, before every sample of a case (to restore the data
    a write changed). Groups with *measures* set report the ``Outcome`` their
    cases return instead of being timed; *unit* and *scale* format the value.
    """

    key: str
    title: str
    cases: dict[str, Case]
    unit: str = "ms"
    scale: float = 1e3
    per: int | dict[str, int] = 1
    rate: bool = False
    reset: Callable[[str], None] | None = None
    measures: str | None = None
    max_rounds: int | None = None
    notes: list[str] = field(default_factory=list)


class Result(msgspec.Struct, frozen=True, kw_only=True):
    """One case: its median, its ratio to the floor (paired by round), samples."""

    group: str
    case: str
    median: float
    ratio: float
    samples: list[float]
    seconds: float | None = None


def _timed(case: Case) -> float:
    start = time.perf_counter()
    out = case()
    elapsed = time.perf_counter() - start
    del out  # freeing the rows is not part of the work measured
    return elapsed


def _sample(group: Group, name: str) -> tuple[float, float | None]:
    if group.reset is not None:
        group.reset(name)
    gc.collect()
    case = group.cases[name]
    if group.measures is None:
        per = group.per if isinstance(group.per, int) else group.per.get(name, 1)
        return _timed(case) / per, None
    outcome = case()
    assert isinstance(outcome, Outcome)  # noqa: S101  (measuring cases return one)
    return outcome.value, outcome.seconds


def run_groups(
    groups: Sequence[Group],
    *,
    rounds: int,
    warm: bool = True,
    log: Callable[[str], object] | None = None,
) -> dict[str, list[Result]]:
    """Warm up, then time every case *rounds* times, interleaved; return medians."""
    say = log or (lambda text: sys.stderr.write(text + "\n"))
    for group in groups:
        if warm and group.measures is None:
            say(f"warm-up: {group.title}")
            for name in group.cases:
                _sample(group, name)
    values: dict[tuple[str, str], list[float]] = {}
    seconds: dict[tuple[str, str], list[float]] = {}
    for number in range(rounds):
        say(f"round {number + 1} of {rounds}")
        for group in groups:
            if group.max_rounds is not None and number >= group.max_rounds:
                continue
            names = list(group.cases)
            shift = number % len(names)
            for name in names[shift:] + names[:shift]:
                value, took = _sample(group, name)
                values.setdefault((group.key, name), []).append(value)
                if took is not None:
                    seconds.setdefault((group.key, name), []).append(took)
    results: dict[str, list[Result]] = {}
    for group in groups:
        first = next(iter(group.cases))
        floor = values[group.key, first]
        results[group.key] = [
            Result(
                group=group.key,
                case=name,
                median=statistics.median(values[group.key, name]),
                # The floor is 1.0 by definition, even when it measured 0 (a
                # tiny run's memory can stay within pages already mapped).
                ratio=1.0
                if name == first
                else paired_ratio(values[group.key, name], floor),
                samples=values[group.key, name],
                seconds=(
                    statistics.median(seconds[group.key, name])
                    if (group.key, name) in seconds
                    else None
                ),
            )
            for name in group.cases
        ]
    return results


def paired_ratio(samples: Sequence[float], floor: Sequence[float]) -> float:
    """The median over rounds of *samples* / *floor* taken in the same round.

    Cases of one round run seconds apart, so a round slowed by other work on
    the machine slows its floor too: the ratio cancels what the medians keep.
    """
    pairs = [s / f for s, f in zip(samples, floor, strict=True) if f]
    return statistics.median(pairs) if pairs else float("nan")

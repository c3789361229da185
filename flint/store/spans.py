"""Half-open time spans ``[start, end)`` in unix seconds: merging and subtracting.

The store's coverage record keeps, per series, the spans whose rows were fetched:
a row with key ``ts`` is covered when ``start <= ts < end`` for one of them.
"""

from collections.abc import Iterable

Span = tuple[int, int]


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted, disjoint spans covering the same time (touching spans are joined)."""
    out: list[Span] = []
    for start, end in sorted(s for s in spans if s[1] > s[0]):
        if out and start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def subtract(span: Span, covered: Iterable[Span]) -> list[Span]:
    """The parts of ``span`` outside every span of ``covered``."""
    start, end = span
    out: list[Span] = []
    for c_start, c_end in merge(covered):
        if c_end <= start or c_start >= end:
            continue
        if c_start > start:
            out.append((start, c_start))
        start = max(start, c_end)
        if start >= end:
            return out
    if start < end:
        out.append((start, end))
    return out


def contains(covered: Iterable[Span], span: Span) -> bool:
    """True if ``covered`` covers all of ``span`` (an empty span is always covered)."""
    return not subtract(span, covered)

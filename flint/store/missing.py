"""What to tell a user whose candle query matched nothing: what the store holds instead.

:func:`no_candles_message` reads the stored candle series (venue, market, resolution,
first and last bar) and names the nearest thing the user can ask for: the markets and
venues stored at the requested resolution, the resolutions stored, or the span of the
series when only the time range missed it.
"""

import time
from collections.abc import Sequence

#: Series named in one message; the rest are counted.
MAX_LISTED = 24

#: (venue, market, resolution_s, first_ts, last_ts) of one stored candle series.
Stored = tuple[str, str, int, int, int]


def _when(ts: int | None) -> str:
    return "-" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))


def _span(start_ts: int | None, end_ts: int | None) -> str:
    if start_ts is not None and end_ts is not None:
        return f" between {_when(start_ts)} and {_when(end_ts)} UTC"
    if start_ts is not None:
        return f" from {_when(start_ts)} UTC on"
    if end_ts is not None:
        return f" until {_when(end_ts)} UTC"
    return ""


def _listing(series: Sequence[Stored]) -> str:
    """``venue: M1, M2; venue2: M3`` (at most :data:`MAX_LISTED` series)."""
    by_venue: dict[str, list[str]] = {}
    for venue, market, *_ in sorted(series)[:MAX_LISTED]:
        by_venue.setdefault(venue, []).append(market)
    text = "; ".join(f"{v}: {', '.join(ms)}" for v, ms in by_venue.items())
    more = len(series) - MAX_LISTED
    return f"{text}; and {more} more" if more > 0 else text


def _seconds(values: set[int]) -> str:
    return ", ".join(f"{r} s" for r in sorted(values))


def no_candles_message(
    stored: Sequence[Stored],
    market: str,
    resolution_s: int,
    venue: str | None,
    start_ts: int | None,
    end_ts: int | None,
) -> str:
    """One line: which candles were asked for and what the store holds instead."""
    asked = f"no {market} candles at {resolution_s} s" + (f" on {venue}" if venue else "")
    if not stored:
        return f"{asked}: the store holds no candles"
    same = [s for s in stored if s[1] == market and (venue is None or s[0] == venue)]
    here = [s for s in same if s[2] == resolution_s]
    if here:
        spans = "; ".join(
            f"{v} {_when(first)} .. {_when(last)} UTC" for v, _, _, first, last in sorted(here)
        )
        return f"{asked}{_span(start_ts, end_ts)}: stored {spans}"
    at_resolution = [s for s in stored if s[2] == resolution_s]
    elsewhere = sorted({s[0] for s in at_resolution if s[1] == market})
    notes = []
    if same:
        notes.append(f"it is stored at {_seconds({s[2] for s in same})}")
    if venue and elsewhere:
        notes.append(f"at {resolution_s} s {market} is stored on {', '.join(elsewhere)}")
    elif at_resolution and not same:
        notes.append(f"at {resolution_s} s the store holds {_listing(at_resolution)}")
    elif not at_resolution and not same:
        notes.append(f"no candles at {resolution_s} s are stored; stored resolutions: "
                     f"{_seconds({s[2] for s in stored})}")
    return f"{asked}: {'; '.join(notes)}"

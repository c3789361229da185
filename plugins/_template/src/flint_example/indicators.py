"""The example plugin's indicator."""

from collections.abc import Sequence

from flint.models import Candle


def typical_price(history: Sequence[Candle]) -> float:
    """(high + low + close) / 3 of the newest bar in ``history``; IndexError when empty."""
    if not history:
        raise IndexError("typical_price needs at least one bar of history")
    bar = history[-1]
    return (bar.high + bar.low + bar.close) / 3.0

"""Slippage calibration: fit the fill pipeline's impact model to fills that happened.

The :class:`~flint.execution.fill_models.FillPipeline` (without an order book) moves
an order's price by ``k * sqrt(size / bar_volume)`` (a fraction of the price) against
the order, ``k`` being the venue's ``impact_coefficient``. Given recorded fills (paper
or live fills from the journal, or a CSV), :func:`calibrate` measures each fill's
cost ``y = side * (price / reference - 1)`` against the reference price the pipeline
starts from (the close of the bar before the fill) at participation
``x = size / bar_volume`` of that bar, and fits

- the square-root model ``y = k * sqrt(x)`` (least squares through the origin:
  ``k = sum(y sqrt(x)) / sum(x)``), the pipeline's own model, whose ``k`` is the
  recommended ``impact_coefficient``;
- the power law ``y = a * x**b`` (least squares in logs, on the fills with ``y > 0``),
  which says whether the square root suits the venue (``b`` near 0.5).

Each coefficient gets a bootstrap confidence interval (fills resampled with
replacement); each model an out-of-sample R^2: the fills are cut into consecutive
folds in time, each fold is predicted by the fit on the others. Below ``min_fills``
fills (``calibration_min_fills``, 100) the fit is refused: a handful of fills says
more about luck than about the venue.
"""

import csv
import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

#: Fills below which a calibration is refused unless told otherwise.
MIN_FILLS = 100
#: Bootstrap resamples of the confidence intervals.
RESAMPLES = 200
#: Consecutive folds of the out-of-sample R^2.
FOLDS = 5
#: Confidence level of the intervals.
LEVEL = 0.95
#: Journal record kinds whose fills really happened.
RECORDED_KINDS = ("paper", "live")
#: The power law replaces the square root only if it predicts this much better out of sample.
POWER_MARGIN = 0.05
SIDES = {"buy": 1, "long": 1, "1": 1, "+1": 1, "sell": -1, "short": -1, "-1": -1}


class CalibrationError(ValueError):
    """The fills cannot be calibrated (too few, unreadable, no bar to compare with)."""


@attrs.frozen
class ImpactFill:
    """One fill as calibration sees it: ``side`` +1 buy / -1 sell, ``size`` in base
    units, ``price`` paid, ``reference_price`` before impact (the close of the bar
    before the fill) and ``bar_volume`` of that bar (None: look them up in the store)."""

    ts: int
    venue: str
    market: str
    side: int
    size: float
    price: float
    reference_price: float | None = None
    bar_volume: float | None = None


@attrs.frozen
class Interval:
    """A bootstrap confidence interval."""

    low: float
    high: float

    def __contains__(self, value: object) -> bool:
        return isinstance(value, (int, float)) and self.low <= value <= self.high


@attrs.frozen
class Calibration:
    """The impact fits of one venue and market.

    ``k`` / ``k_interval``: the square-root coefficient and its interval;
    ``power_a`` / ``power_b`` (and ``power_b_interval``): the power law; ``oos_r2_sqrt``
    / ``oos_r2_power``: out-of-sample R^2 of each; ``model`` the better one (``power``
    only when it is better by :data:`POWER_MARGIN` and its interval of ``b`` leaves
    out 0.5). ``recommended_k`` is ``k`` (the pipeline models the square root);
    ``drift_pct`` is its change against ``current_k``, the coefficient in use.
    """

    venue: str
    market: str
    fills: int
    start_ts: int
    end_ts: int
    k: float
    k_interval: Interval
    power_a: float
    power_b: float
    power_b_interval: Interval
    oos_r2_sqrt: float
    oos_r2_power: float
    mae_bps: float
    model: str
    recommended_k: float
    current_k: float | None
    drift_pct: float | None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return attrs.asdict(self)


def _side(text: str, where: str) -> int:
    side = SIDES.get(text.strip().lower())
    if side is None:
        raise CalibrationError(f"{where}: side must be buy/sell (or long/short), got {text!r}")
    return side


def _number(row: Mapping[str, str], key: str, where: str, optional: bool = False) -> Any:
    text = (row.get(key) or "").strip()
    if not text and optional:
        return None
    try:
        value = float(text)
    except ValueError:
        raise CalibrationError(f"{where}: {key} must be a number, got {text!r}") from None
    if not math.isfinite(value) or (value <= 0 and key != "ts"):
        raise CalibrationError(f"{where}: {key} must be a finite number > 0, got {text!r}")
    return value


def read_fills_csv(path: str | Path) -> list[ImpactFill]:
    """Fills from a CSV with columns ``ts,venue,market,side,size,price`` and optionally
    ``reference_price,bar_volume`` (``ts`` in unix seconds, ``side`` buy or sell)."""
    source = Path(path)
    try:
        with source.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CalibrationError(f"cannot read fills from {source}: {exc}") from None
    needed = {"ts", "venue", "market", "side", "size", "price"}
    missing = needed - set(rows[0] if rows else ())
    if missing:
        raise CalibrationError(
            f"{source} needs the columns {', '.join(sorted(needed))}; missing: "
            f"{', '.join(sorted(missing))}"
        )
    fills = []
    for line, row in enumerate(rows, start=2):
        where = f"{source}, line {line}"
        fills.append(ImpactFill(
            int(_number(row, "ts", where)), row["venue"].strip(), row["market"].strip(),
            _side(row["side"], where), _number(row, "size", where),
            _number(row, "price", where), _number(row, "reference_price", where, True),
            _number(row, "bar_volume", where, True),
        ))
    return fills


def journal_fills(records: Iterable[Mapping[str, Any]]) -> list[ImpactFill]:
    """The fills of journaled paper and live runs (records of another kind are skipped)."""
    fills = []
    for record in records:
        if record.get("kind") not in RECORDED_KINDS:
            continue
        for f in record.get("fills") or ():
            if f.get("is_maker"):
                continue  # a resting order fills at its own price: no impact to measure
            fills.append(ImpactFill(
                int(f["ts"]), str(f.get("venue") or record.get("venue") or "default"),
                str(f["market"]), _side(str(f["side"]), f"run {record.get('run_id')}"),
                float(f["size"]), float(f["price"]),
            ))
    return fills


def with_bars(fills: Sequence[ImpactFill], bars: Any) -> list[ImpactFill]:
    """Fills with their reference price and bar volume from ``bars`` (a ``CandleSeries``
    of their market): the last bar closed at the fill's time, as the pipeline quotes
    an order on the bar that just closed. Fills without such a bar, or on a bar
    without volume, are left out."""
    ts = np.asarray(bars.timestamps)
    closes, volumes = np.asarray(bars.closes), np.asarray(bars.volumes)
    out = []
    for fill in fills:
        if fill.reference_price is not None and fill.bar_volume is not None:
            out.append(fill)
            continue
        i = int(np.searchsorted(ts + bars.resolution_s, fill.ts, side="right")) - 1
        if i >= 0 and volumes[i] > 0:
            out.append(attrs.evolve(fill, reference_price=float(closes[i]),
                                    bar_volume=float(volumes[i])))
    return out


def _sqrt_k(x: Any, y: Any) -> Any:
    return (y * np.sqrt(x)).sum(axis=-1) / x.sum(axis=-1)


def _power(lx: Any, ly: Any) -> tuple[Any, Any]:
    mx, my = lx.mean(axis=-1, keepdims=True), ly.mean(axis=-1, keepdims=True)
    b = ((lx - mx) * (ly - my)).sum(axis=-1) / ((lx - mx) ** 2).sum(axis=-1)
    return np.exp(my[..., 0] - b * mx[..., 0]), b


def _interval(values: Any) -> Interval:
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return Interval(float(low), float(high))


def _r2(y: Any, predicted: Any) -> float:
    total = float(((y - y.mean()) ** 2).sum())
    return 1.0 - float(((y - predicted) ** 2).sum()) / total if total > 0 else 0.0


def calibrate(fills: Sequence[ImpactFill], *, min_fills: int = MIN_FILLS,
              current_k: float | None = None, resamples: int = RESAMPLES, folds: int = FOLDS,
              seed: int = 0) -> Calibration:
    """Fit the impact models to ``fills`` of one venue and market (see the module doc).

    Every fill needs its ``reference_price`` and ``bar_volume`` (:func:`with_bars`).
    ``current_k`` is the coefficient in use, for the drift.
    """
    pairs = {(f.venue, f.market) for f in fills}
    if len(pairs) > 1:
        raise CalibrationError(f"calibrate one venue and market at a time, got {sorted(pairs)}")
    venue, market = next(iter(pairs)) if pairs else ("?", "?")
    if len(fills) < max(min_fills, 2 * folds):
        raise CalibrationError(
            f"{venue}/{market}: {len(fills)} fill(s), but a calibration needs at least "
            f"{max(min_fills, 2 * folds)} (calibration_min_fills): trade more, or paper "
            f"trade, and calibrate again"
        )
    if any(f.reference_price is None or f.bar_volume is None for f in fills):
        raise CalibrationError(f"{venue}/{market}: some fills have no reference bar")
    ordered = sorted(fills, key=lambda f: f.ts)
    x = np.array([f.size / float(f.bar_volume or 0) for f in ordered])
    y = np.array([f.side * (f.price / float(f.reference_price or 0) - 1) for f in ordered])
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(x), size=(resamples, len(x)))
    k = float(_sqrt_k(x, y))
    positive = y > 0
    if positive.sum() < 3:
        raise CalibrationError(f"{venue}/{market}: fewer than 3 fills paid any impact")
    lx, ly = np.log(x[positive]), np.log(y[positive])
    a, b = (float(v) for v in _power(lx, ly))
    kept = rng.integers(0, len(lx), size=(resamples, len(lx)))
    b_interval = _interval(_power(lx[kept], ly[kept])[1])
    sqrt_oos, power_oos = np.empty_like(y), np.empty_like(y)
    bounds = np.linspace(0, len(x), folds + 1).astype(int)
    for start, stop in itertools.pairwise(bounds):
        train = np.ones(len(x), dtype=bool)
        train[start:stop] = False
        sqrt_oos[start:stop] = _sqrt_k(x[train], y[train]) * np.sqrt(x[start:stop])
        fit = train & positive
        fa, fb = _power(np.log(x[fit]), np.log(y[fit]))
        power_oos[start:stop] = fa * x[start:stop] ** fb
    r2_sqrt, r2_power = _r2(y, sqrt_oos), _r2(y, power_oos)
    power_wins = r2_power > r2_sqrt + POWER_MARGIN and 0.5 not in b_interval
    return Calibration(
        venue=venue, market=market, fills=len(x), start_ts=ordered[0].ts,
        end_ts=ordered[-1].ts, k=k, k_interval=_interval(_sqrt_k(x[picks], y[picks])),
        power_a=a, power_b=b, power_b_interval=b_interval, oos_r2_sqrt=r2_sqrt,
        oos_r2_power=r2_power, mae_bps=float(np.abs(y - k * np.sqrt(x)).mean() * 1e4),
        model="power" if power_wins else "sqrt", recommended_k=k, current_k=current_k,
        drift_pct=None if not current_k else (k / current_k - 1) * 100,
    )

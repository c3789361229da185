"""The sandboxed child's replies: bulk data as typed columns, read back exactly or refused.

What comes back must equal the payload sent through JSON, and a reply that is not
what the child's encoder writes (the child may be compromised) is a
:class:`MalformedReply`, never another exception, a wrong value or an allocation
larger than what was sent.
"""

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flint.backtest.result import (
    FILL,
    PAYMENT,
    POSITION,
    BacktestResult,
    payment_table,
    record_dicts,
    record_table,
)
from flint.models import Fill, Side
from flint.strategy.replies import HEADER, LONG_LIST, MalformedReply, decode, encode


def round_trip(payload):
    data = encode("ok", payload)
    size, raw = HEADER.unpack_from(data)
    assert len(data) == HEADER.size + size + raw
    reply = decode(data[HEADER.size:], size)
    assert reply["kind"] == "ok" and set(reply) == {"kind", "payload"}
    return reply["payload"]


def through_json(payload):
    return json.loads(json.dumps(payload))


def forged(description, raw=b"", payload=None):
    """The bytes after the header of a reply with these ``columns`` (and its JSON size)."""
    body = json.dumps({"kind": "ok", "payload": payload, "columns": description}).encode()
    return body + raw, len(body)


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.text(max_size=5),
    st.floats(allow_nan=False), st.sampled_from(["long", "short", "SOL-PERP"]),
)
long_len = {"min_size": 0, "max_size": 2 * LONG_LIST}
columns = st.one_of(
    st.lists(st.floats(allow_nan=False), **long_len),
    st.lists(st.integers(-(2 ** 63), 2 ** 63 - 1), **long_len),
    st.lists(st.booleans(), **long_len),
    st.lists(st.sampled_from(["a", "b", "é", ""]), **long_len),
    st.lists(scalars, **long_len),
)


CELLS = {"f8": st.floats(allow_nan=False), "i8": st.integers(-(2 ** 63), 2 ** 63 - 1),
         "any": st.one_of(scalars, st.lists(scalars, max_size=2))}
cell_kinds = st.sampled_from(list(CELLS))


@st.composite
def tables(draw):
    keys = draw(st.lists(st.text(max_size=4), min_size=1, max_size=5, unique=True))
    kinds = [draw(cell_kinds) for _ in keys]
    row = st.fixed_dictionaries({k: CELLS[kind] for k, kind in zip(keys, kinds, strict=True)})
    return draw(st.lists(row, **long_len))


@st.composite
def rows(draw):
    """Lists of the same length (or, sometimes, of any length)."""
    if draw(st.booleans()):
        return draw(st.lists(st.lists(scalars, max_size=3), **long_len))
    kinds = draw(st.lists(cell_kinds, max_size=5))
    return draw(st.lists(st.tuples(*map(CELLS.__getitem__, kinds)).map(list), **long_len))


payloads = st.recursive(
    st.one_of(scalars, columns, tables(), rows()),
    lambda inner: st.one_of(st.dictionaries(st.text(max_size=4), inner, max_size=4),
                            st.lists(inner, max_size=3)),
    max_leaves=6,
)


@settings(max_examples=150, deadline=None)
@given(payloads)
def test_a_reply_reads_back_as_its_payload_through_json(payload):
    assert round_trip(payload) == through_json(payload)


def test_records_numbers_and_arrays_travel_as_raw_bytes_and_come_back_exactly():
    fills = [{"market": "SOL-PERP", "side": ["long", "short"][i % 2], "price": 100.5 + i,
              "ts": 1_600_000_000 + i, "order_id": f"bt-{i}", "is_maker": i % 3 == 0,
              "extra": None if i % 2 else {"note": i}} for i in range(1000)]
    funding = [[1_600_000_000 + 3600 * i, "binance", "SOL-PERP", 1e-5 * i, 100.0, 0.01 * i]
               for i in range(500)]
    payload = {"result": {"fills": fills, "funding": funding,
                          "equity": [float(i) / 3 for i in range(5000)],
                          "flags": [i % 2 == 0 for i in range(100)],
                          "odd": [math.inf, -0.0, 1e308] * 30},
               "ts": np.arange(10, dtype=np.int64), "pnl": np.linspace(0, 1, 7)}
    data = encode("ok", payload)
    size, raw = HEADER.unpack_from(data)
    assert raw >= 8 * (2 * 1000 + 4 * 500 + 5000) and size < 30_000  # the bulk: not JSON
    back = decode(data[HEADER.size:], size)["payload"]
    assert back["result"] == through_json(payload["result"])
    assert math.copysign(1, back["result"]["odd"][1]) == -1
    assert back["ts"].dtype == np.int64 and back["ts"].tolist() == list(range(10))
    assert back["pnl"].tolist() == np.linspace(0, 1, 7).tolist()
    back["pnl"][0] = 5.0  # arrays come back writable, owning their memory


PAYMENTS = [(1_600_000_000 + 3600 * i, ["binance", "hyperliquid"][i % 2], "SOL-PERP",
             1e-5 * i, [100.0, math.inf, -0.0][i % 3], -0.01 * i) for i in range(1000)]


@pytest.mark.parametrize("rows", [PAYMENTS, PAYMENTS[:1], []], ids=["1000", "1", "none"])
def test_a_structured_array_travels_as_columns_and_comes_back_the_same_array(rows):
    table = payment_table(rows)
    data = encode("ok", {"paid": table})
    size, raw = HEADER.unpack_from(data)
    assert raw == (8 * 4 + 4 * 2) * len(rows) and size < 500  # numbers and name codes
    back = decode(data[HEADER.size:], size)["payload"]["paid"]
    assert back.dtype == PAYMENT and back.tolist() == table.tolist() == rows
    assert all(type(name) is str for name in back["venue"])
    assert json.dumps(back.tolist()) == json.dumps([list(row) for row in rows])


FILLS = [Fill(["SOL-PERP", "ETH"][i % 2], [Side.LONG, Side.SHORT][i % 3 == 0], 100.5 + i,
              0.25 * (i + 1), [0.01 * i, -0.0, math.inf][i % 3], 1_600_000_000 + 60 * i,
              order_id=f"bt-{i}" if i % 7 else f"liq-{i}", venue=["binance", "alt"][i % 2],
              is_partial=i % 4 == 0, latency_ms=0.5 * i, is_maker=i % 5 == 0)
         for i in range(300)]


@pytest.mark.parametrize("fills", [FILLS, FILLS[:1], []], ids=["300", "1", "none"])
def test_records_travel_as_columns_and_come_back_the_same_record_array(fills):
    from flint.models import Position

    positions = [Position(100.25 + i, (-1) ** i * 0.5 * i, 1_600_000_000 + i, 101.5, 0, -0.0,
                          i % 2 == 0, "SOL-PERP", ["binance", "alt"][i % 2])
                 for i in range(len(fills))]
    sent = {"fills": record_table(fills, Fill), "positions": record_table(positions, Position),
            "paid": payment_table(PAYMENTS[:len(fills)])}
    data = encode("ok", sent)
    raw = HEADER.unpack_from(data)[1]
    # a fill: 7 numbers, 2 flags and 5 string codes; a position: 6 numbers, a flag, 2 codes
    assert raw == (8 * 7 + 2 + 4 * 5 + 8 * 6 + 1 + 4 * 2 + 8 * 4 + 4 * 2) * len(fills)
    back = round_trip(sent)
    assert type(back["paid"]) is np.ndarray and back["paid"].dtype == PAYMENT
    for key, dtype in (("fills", FILL), ("positions", POSITION)):
        assert type(back[key]) is np.recarray and back[key].dtype == sent[key].dtype
        assert back[key].dtype.fields == dtype.fields
        assert record_dicts(back[key]) == record_dicts(sent[key])
    assert record_dicts(back["fills"]) == BacktestResult(fills=fills).to_dict()["fills"]
    assert json.dumps(record_dicts(back["positions"])) == json.dumps(
        BacktestResult(positions=positions).to_dict()["positions"])


def test_a_payload_that_is_not_json_data_is_refused_when_encoding():
    with pytest.raises(TypeError):
        encode("ok", {"x": [{"a": 1.0, "b": object()}] * LONG_LIST})
    table = payment_table(PAYMENTS[:3])
    table["market"][1] = 5
    with pytest.raises(TypeError, match="not strings"):
        encode("ok", {"x": table})
    with pytest.raises(TypeError, match="not JSON data"):
        encode("ok", {"x": np.zeros(3, [("a", "<f8"), ("b", "<i4")])})
    with pytest.raises(TypeError, match="not JSON data"):
        encode("ok", {"x": np.zeros(3, [("a", "O")])})


F8 = np.arange(LONG_LIST, dtype="<f8").tobytes()


@pytest.mark.parametrize(("description", "raw", "payload", "error"), [
    ([{"at": ["x"], "type": "f8", "rows": 10 ** 9, "list": True}], F8, {"x": None},
     "longer than what was sent"),
    ([{"at": ["x"], "type": "|O", "rows": 1, "list": True}], bytes(8), {"x": None},
     "unknown type"),
    ([{"at": ["x"], "type": "bool", "rows": 8, "list": False}], bytes(8), {"x": None},
     "unknown type"),
    ([{"at": ["x"], "type": "json", "rows": 0, "list": True, "values": []}], b"",
     {"x": None}, "unknown type"),
    ([{"at": ["missing", "x"], "type": "f8", "rows": 0, "list": True}], b"", {},
     "not in the payload"),
    ([{"at": ["x"], "type": "f8", "rows": 0, "list": True}], b"", {"x": 1},
     "not a placeholder"),
    ([{"at": [], "type": "f8", "rows": 1, "list": True}] * 2, F8[:16], None,
     "not a placeholder"),
    ([{"at": [0], "type": "f8", "rows": 0, "list": True}], b"", {"0": None},
     "list of keys"),
    ([{"at": ["x"], "type": "f8", "rows": -1, "list": True}], b"", {"x": None},
     "not a count"),
    ([{"at": ["x"], "type": "f8", "rows": True, "list": True}], F8[:8], {"x": None},
     "not a count"),
    ([{"at": ["x"], "type": "bool", "rows": 2, "list": True}], b"\x01\x02", {"x": None},
     "other values than 0 and 1"),
    ([{"at": ["x"], "type": "str", "rows": 1, "list": True, "values": ["a"]}],
     np.array([1], "<i4").tobytes(), {"x": None}, "points past its values"),
    ([{"at": ["x"], "type": "str", "rows": 1, "list": True, "values": ["a"]}],
     np.array([-1], "<i4").tobytes(), {"x": None}, "points past its values"),
    ([{"at": ["x"], "type": "str", "rows": 1, "list": True, "values": [1]}],
     bytes(4), {"x": None}, "not strings"),
    ([{"at": ["x"], "type": "f8", "rows": 1, "list": True}], F8[:16], {"x": None},
     "8 bytes were not described"),
    ([{"at": ["x"], "type": "table", "rows": 3, "list": True, "keys": ["a"],
       "columns": [{"type": "bool", "rows": 3}]}], bytes(3), {"x": None},
     "no 8-byte column"),
    ([{"at": ["x"], "type": "table", "rows": 1, "list": True, "keys": ["a", "a"],
       "columns": [{"type": "f8", "rows": 1}] * 2}], F8[:16], {"x": None},
     "distinct strings"),
    ([{"at": ["x"], "type": "table", "rows": 1, "list": True, "keys": ["a", "b"],
       "columns": [{"type": "f8", "rows": 1}]}], F8[:8], {"x": None}, "one column per key"),
    ([{"at": ["x"], "type": "table", "rows": 2, "list": True, "keys": ["a", "b"],
       "columns": [{"type": "f8", "rows": 2}, {"type": "i8", "rows": 1}]}], F8[:24],
     {"x": None}, "not all of its length"),
    ([{"at": ["x"], "type": "table", "rows": 1, "list": True, "keys": ["a", "b"],
       "columns": [{"type": "f8", "rows": 1},
                   {"type": "json", "rows": 1, "values": [1, 2]}]}], F8[:8], {"x": None},
     "does not hold its rows"),
    ([{"at": ["x"], "type": "table", "rows": 1, "list": True, "keys": ["a", "b"],
       "columns": [{"type": "f8", "rows": 1},
                   {"type": "table", "rows": 1, "list": True, "keys": ["c"],
                    "columns": [{"type": "f8", "rows": 1}]}]}], F8[:16], {"x": None},
     "unknown type"),
    ([{"at": ["x"], "type": "rows", "rows": 1, "list": True, "columns": []}], b"",
     {"x": None}, "rows have no columns"),
    ([{"at": ["x"], "type": "rows", "rows": 2, "list": True,
       "columns": [{"type": "f8", "rows": 2}, {"type": "i8", "rows": 1}]}], F8[:24],
     {"x": None}, "not all of its length"),
    ([{"at": ["x"], "type": "rows", "rows": 3, "list": True,
       "columns": [{"type": "str", "rows": 3, "values": ["a"]}]}], bytes(12), {"x": None},
     "no 8-byte column"),
    ([{"at": ["x"], "type": "rows", "rows": 1, "list": False,
       "columns": [{"type": "f8", "rows": 1}]}], F8[:8], {"x": None}, "no 8-byte column"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": False, "names": ["a", "a"],
       "columns": [{"type": "f8", "rows": 1}] * 2}], F8[:16], {"x": None},
     "distinct names"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": False, "names": ["", "f0"],
       "columns": [{"type": "f8", "rows": 1}] * 2}], F8[:16], {"x": None},
     "distinct names"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": False, "records": False, "names": [],
       "columns": []}], b"", {"x": None}, "distinct names"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": True, "records": False, "names": ["a"],
       "columns": [{"type": "f8", "rows": 1}]}], F8[:8], {"x": None}, "no 8-byte column"),
    ([{"at": ["x"], "type": "struct", "rows": 8, "list": False, "records": False, "names": ["a"],
       "columns": [{"type": "str", "rows": 8, "values": ["v"]}]}], bytes(32), {"x": None},
     "no 8-byte column"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": False, "records": 1, "names": ["a"],
       "columns": [{"type": "f8", "rows": 1}]}], F8[:8], {"x": None}, "whether it holds records"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": False, "names": ["a"],
       "columns": [{"type": "f8", "rows": 1}]}], F8[:8], {"x": None}, "whether it holds records"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": False, "records": True,
       "names": ["a", "b"], "columns": [{"type": "f8", "rows": 1}, {"type": "bool", "rows": 1}]}],
     F8[:8] + b"\x02", {"x": None}, "other values than 0 and 1"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": False, "records": False,
       "names": ["a", "b"],
       "columns": [{"type": "f8", "rows": 1}, {"type": "json", "rows": 1, "values": [1]}]}],
     F8[:8], {"x": None}, "not numbers, flags or strings"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": False, "records": False,
       "names": ["a", "b"], "columns": [{"type": "f8", "rows": 1},
                   {"type": "struct", "rows": 1, "names": ["c"],
                    "columns": [{"type": "f8", "rows": 1}]}]}], F8[:16], {"x": None},
     "not numbers, flags or strings"),
    ([{"at": ["x"], "type": "struct", "rows": 2, "list": False, "records": False,
       "names": ["a", "b"],
       "columns": [{"type": "f8", "rows": 2}, {"type": "str", "rows": 1, "values": ["v"]}]}],
     F8[:16] + bytes(4), {"x": None}, "not all of its length"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": False, "records": False,
       "names": ["a", "b"],
       "columns": [{"type": "f8", "rows": 1}, {"type": "str", "rows": 1, "values": ["v"]}]}],
     F8[:8] + np.array([1], "<i4").tobytes(), {"x": None}, "points past its values"),
    ([{"at": ["x"], "type": "struct", "rows": 1, "list": False, "records": False,
       "names": ["a", "b"],
       "columns": [{"type": "f8", "rows": 1}, {"type": "str", "rows": 1, "values": [2]}]}],
     F8[:8] + bytes(4), {"x": None}, "not strings"),
    ([{"at": ["x"], "type": "struct", "rows": 10 ** 9, "list": False, "records": False,
       "names": ["a"],
       "columns": [{"type": "f8", "rows": 10 ** 9}]}], F8, {"x": None},
     "longer than what was sent"),
    ("columns", b"", None, "'columns' is not a list"),
    (["entry"], b"", None, "not described"),
])
def test_a_reply_unlike_what_the_child_writes_is_refused(description, raw, payload, error):
    data, size = forged(description, raw, payload)
    with pytest.raises(MalformedReply, match=error):
        decode(data, size)


def test_a_reply_without_a_payload_is_refused():
    body = json.dumps({"kind": "ok", "columns": [
        {"at": ["x"], "type": "f8", "rows": 1, "list": True}]}).encode()
    with pytest.raises(MalformedReply, match="not in the payload"):
        decode(body + F8[:8], len(body))


@pytest.mark.parametrize("text", [b"[1]", b'{"payload": 1}', b'{"kind": 3}', b"{",
                                  b"[" * 100_000 + b"]" * 100_000, b'"\xff"'])
def test_json_that_is_not_a_reply_is_refused(text):
    with pytest.raises(MalformedReply):
        decode(text, len(text))


SAMPLE = encode("ok", {"fills": [{"price": 1.5 * i, "side": "long", "maker": i % 2 == 0,
                                  "id": f"o{i}"} for i in range(LONG_LIST)],
                       "curve": [0.25 * i for i in range(LONG_LIST)], "n": 3,
                       "paid": payment_table(PAYMENTS[:3])})
SIZE = HEADER.unpack_from(SAMPLE)[0]
SAMPLE = SAMPLE[HEADER.size:]


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_a_damaged_reply_is_read_exactly_or_refused_never_anything_else(data):
    damaged = bytearray(SAMPLE)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(damaged) - 1))
        damaged[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(damaged)))
    size = min(cut, data.draw(st.one_of(st.just(SIZE), st.integers(0, len(damaged)))))
    try:
        reply = decode(bytes(damaged[:cut]), size)
    except MalformedReply:
        return
    assert type(reply) is dict and type(reply["kind"]) is str


# A trial's result (flint.strategy.remote): checked field by field after decoding


@pytest.fixture(scope="module")
def trial_data():
    from pathlib import Path

    from flint.models import CandleSeries
    from flint.strategy.loader import load_user_strategy
    from flint.strategy.remote import trial_job

    code = (Path(__file__).parent / "user_strategies" / "golden_cross.py").read_text()
    t = np.arange(600)
    close = 100 + 5 * np.sin(t / 15)
    bars = CandleSeries(3600 * t, close, close + 1, close - 1, close, np.full(600, 5.0),
                        "SOL-PERP", 3600)
    data = encode("ok", trial_job(load_user_strategy(code, {"fast": 5, "slow": 20}), bars,
                                  initial_capital=10_000.0, fee_rate=0.0005, engine_options={}))
    return decode(data[HEADER.size:], HEADER.unpack_from(data)[0])["payload"]


def test_a_trial_result_is_rebuilt_from_what_the_child_sent(trial_data):
    from flint.strategy.remote import result_from_data

    result = result_from_data(trial_data)
    assert len(result.fills) == len(trial_data["fills"]["price"]) > 0
    assert result.fills[0].side.value == trial_data["fills"]["side"][0]
    assert result.equity_curve == trial_data["equity_curve"].tolist()


@pytest.mark.parametrize(("damage", "error"), [
    (lambda d: d["fills"].update(side=["sideways"] * len(d["fills"]["side"])), "not Side"),
    (lambda d: d["positions"].update(entry_price=["1"] * len(d["positions"]["size"])),
     "entry_price holds values"),
    (lambda d: d["fills"].update(price=d["fills"]["price"][:-1]), "different lengths"),
    (lambda d: d["fills"].update(nonsense=[1]), "no column 'nonsense'"),
    (lambda d: d.update(positions=[1, 2]), "not columns"),
    (lambda d: d.update(total_pnl="a lot"), "total_pnl is not"),
    (lambda d: d.update(timestamps=["0"] * 3), "timestamps is not a list of numbers"),
    (lambda d: d.update(equity_curve=np.zeros(3, dtype=np.int64)), "equity_curve is not"),
    (lambda d: d.pop("fills"), "KeyError"),
    (lambda d: d.update(surprise=1), "surprise"),
])
def test_a_trial_result_unlike_what_the_child_sends_is_an_execution_error(trial_data, damage,
                                                                           error):
    from flint.strategy.remote import result_from_data
    from flint.strategy.sandbox import StrategyExecutionError

    data = {k: dict(v) if isinstance(v, dict) else v for k, v in trial_data.items()}
    damage(data)
    with pytest.raises(StrategyExecutionError, match=f"malformed trial result.*{error}"):
        result_from_data(data)


@pytest.mark.parametrize("collecting", [True, False])
def test_encoding_and_decoding_leave_the_garbage_collector_as_they_found_it(collecting):
    import gc

    payload = {"rows": [[i, "binance", float(i)] for i in range(LONG_LIST)]}
    was = gc.isenabled()
    (gc.enable if collecting else gc.disable)()
    try:
        data = encode("ok", payload)
        assert gc.isenabled() == collecting
        size = HEADER.unpack_from(data)[0]
        assert decode(data[HEADER.size:], size)["payload"] == through_json(payload)
        assert gc.isenabled() == collecting
        with pytest.raises(MalformedReply):
            decode(b"{", 1)
        assert gc.isenabled() == collecting
    finally:
        (gc.enable if was else gc.disable)()

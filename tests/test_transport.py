"""Venue endpoints, the shared rate limiter and the retry policy."""

import pytest

from flint.config import ConfigError, FlintConfig, load_config
from flint.plugins import get_venue_config
from flint.providers.endpoints import endpoint_url, env_name, rebase_url
from flint.providers.errors import (
    HistoryUnavailable,
    RateLimited,
    RetriesExhausted,
    TransientVenueError,
    UnknownMarket,
    VenueBanned,
    VenueRejected,
    VenueUnreachable,
)
from flint.providers.transport import (
    RateLimiter,
    Retrier,
    RetryPolicy,
    asked_again_if_empty,
    venue_limiter,
)


class Clock:
    """A clock that only moves when someone sleeps on it."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


# Endpoints


def test_env_names_follow_venue_and_key():
    assert env_name("hyperliquid") == "FLINT_HYPERLIQUID_API_URL"
    assert env_name("drift", "data_api_url") == "FLINT_DRIFT_DATA_API_URL"
    assert env_name("drift", "dlob_url") == "FLINT_DRIFT_DLOB_URL"
    assert env_name("solana", "rpc_url") == "FLINT_SOLANA_RPC_URL"
    assert env_name("binance") == "FLINT_BINANCE_API_URL"


def test_the_environment_wins_over_flint_yaml_which_wins_over_the_default():
    config = FlintConfig(venues={"hyperliquid": {"api_url": "http://mirror:9/"}})
    default = "https://api.example"
    assert endpoint_url("hyperliquid", default=default, config=FlintConfig(), environ={}) == default
    assert endpoint_url("hyperliquid", default=default, config=config, environ={}) == (
        "http://mirror:9"
    )
    env = {"FLINT_HYPERLIQUID_API_URL": "http://127.0.0.1:5000"}
    assert endpoint_url("hyperliquid", default=default, config=config, environ=env) == (
        "http://127.0.0.1:5000"
    )
    assert endpoint_url("hyperliquid", default=default, url="http://code:1", config=config,
                        environ=env) == "http://code:1"
    with pytest.raises(ValueError, match="FLINT_HYPERLIQUID_API_URL must be a URL"):
        endpoint_url("hyperliquid", default=default, environ={"FLINT_HYPERLIQUID_API_URL": "x"})


def test_flint_yaml_takes_endpoints_beside_venue_overrides(tmp_path):
    path = tmp_path / "flint.yaml"
    path.write_text("venues:\n  default:\n    api_url: http://127.0.0.1:1\n"
                    "    taker_fee_bps: 2.0\n")
    config = load_config(path, env={})
    assert endpoint_url("default", default="https://x", config=config, environ={}) == (
        "http://127.0.0.1:1"
    )
    assert get_venue_config("default", config).taker_fee_bps == 2.0  # the URL is no override
    path.write_text("venues:\n  hyperliquid:\n    api_url: 5\n")
    with pytest.raises(ConfigError, match=r"'venues\.hyperliquid\.api_url' must be a URL"):
        load_config(path, env={})


def test_rebase_keeps_each_path_and_query():
    assert rebase_url("https://fapi.binance.com/fapi/v1/klines?symbol=X",
                      "http://127.0.0.1:8080") == "http://127.0.0.1:8080/fapi/v1/klines?symbol=X"
    assert rebase_url("https://fapi.binance.com/fapi/v1", "http://rec:1/binance/") == (
        "http://rec:1/binance/fapi/v1"
    )


def test_errors_say_what_to_do():
    unavailable = HistoryUnavailable("only 5000 candles", earliest_ts=1735506000)
    assert "earliest available time is 2024-12-29 21:00 UTC (1735506000)" in str(unavailable)
    unknown = UnknownMarket("DOGE-PERP", ["BTC-PERP", "SOL-PERP"], venue="hyperliquid")
    assert isinstance(unknown, ValueError)
    assert str(unknown) == "hyperliquid has no market 'DOGE-PERP'; its markets: BTC-PERP, SOL-PERP"


# Rate limiter


def test_the_limiter_spends_weight_and_refills_over_its_period():
    clock = Clock()
    limiter = RateLimiter(1200, 60, clock=clock, sleep=clock.sleep)
    for _ in range(60):
        assert limiter.acquire(20) == 0  # the full bucket: 60 requests of weight 20
    waited = limiter.acquire(20)
    assert waited == pytest.approx(1.0)  # 20 weight at 20 per second
    limiter.charge(100)  # weight learnt from a response (items returned)
    assert limiter.acquire(20) == pytest.approx(6.0)


def test_a_pause_stops_everyone_and_an_unlimited_limiter_never_waits():
    clock = Clock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    assert all(limiter.acquire(1e9) == 0 for _ in range(100))
    limiter.pause(7)
    limiter.pause(3)  # never shortens
    assert limiter.paused_for_s == 7
    assert limiter.acquire(1) == pytest.approx(7)


def test_one_limiter_per_venue_and_budget():
    assert venue_limiter("v1", 1200) is venue_limiter("v1", 1200)
    assert venue_limiter("v1", 1200) is not venue_limiter("v2", 1200)
    assert venue_limiter("v1", None) is not venue_limiter("v1", 1200)


# Retries


def failing(*errors, then="ok"):
    """A request raising ``errors`` in turn, then answering ``then``."""
    queue = list(errors)

    def request():
        if queue:
            raise queue.pop(0)
        return then

    return request


def retrier(clock, **policy):
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    return Retrier(limiter, RetryPolicy(**policy), sleep=clock.sleep, clock=clock)


def test_transient_errors_are_retried_with_growing_backoff_then_given_up():
    clock = Clock()
    r = retrier(clock, attempts=4, backoff_s=1.0)
    assert r.call(failing(TransientVenueError("502"), TransientVenueError("timeout"))) == "ok"
    assert r.requests == 3 and r.retries == 2
    assert clock.slept[0] == pytest.approx(1.0, rel=0.1)
    assert clock.slept[1] == pytest.approx(2.0, rel=0.1)
    with pytest.raises(RetriesExhausted, match="candles failed 4 times; last error: 503"):
        r.call(failing(*[TransientVenueError("503")] * 4), what="candles")


def test_retry_after_pauses_the_venue_for_exactly_that_long():
    clock = Clock()
    r = retrier(clock)
    assert r.call(failing(RateLimited("429", retry_after_s=3))) == "ok"
    assert clock.slept == [3]
    assert r.call(failing(RateLimited("429"))) == "ok"  # no Retry-After: the backoff
    assert clock.slept[1] == pytest.approx(0.5, rel=0.1)


def test_a_ban_pauses_the_venue_and_a_long_ban_is_raised_at_once():
    clock = Clock()
    r = retrier(clock, ban_pause_s=60, max_ban_wait_s=120)
    assert r.call(failing(VenueBanned("418", retry_after_s=30))) == "ok"
    assert clock.slept == [30]
    assert r.call(failing(VenueBanned("418"))) == "ok"
    assert clock.slept == [30, 60]
    with pytest.raises(VenueBanned):
        r.call(failing(VenueBanned("418", retry_after_s=3600)))
    assert clock.slept == [30, 60]


def test_offline_gives_up_within_its_budget_and_rejections_are_not_retried():
    clock = Clock()
    r = retrier(clock, offline_after_s=6.0)
    start = clock.now
    with pytest.raises(VenueUnreachable):
        r.call(failing(*[VenueUnreachable("refused")] * 100))
    assert clock.now - start <= 6.0
    assert r.requests >= 2
    r.requests = 0
    with pytest.raises(VenueRejected):
        r.call(failing(VenueRejected("422 bad coin")))
    assert r.requests == 1


# Empty answers


def answers(*pages):
    """A request that gives ``pages`` in turn, and the list of what it gave."""
    given = []

    def request():
        given.append(pages[len(given)])
        return given[-1]

    return request, given


def test_an_empty_answer_is_asked_for_once_more_and_the_second_is_believed():
    request, given = answers([], [1, 2])
    assert asked_again_if_empty(request) == [1, 2]
    request, given = answers([], [], [3])
    assert asked_again_if_empty(request) == []  # twice empty: believed, no third try
    assert given == [[], []]
    request, given = answers([4], [])
    assert asked_again_if_empty(request) == [4]
    assert len(given) == 1


def test_what_counts_as_empty_is_the_callers_to_say():
    request, given = answers([1], [5, 6])  # a page not starting where asked (at 5)
    assert asked_again_if_empty(request, lambda rows: 5 not in rows) == [5, 6]
    request, given = answers(None, [7])  # "absent" is not "empty" for this caller
    assert asked_again_if_empty(request, lambda rows: rows == []) is None
    assert len(given) == 1

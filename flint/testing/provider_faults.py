"""The contract of a venue's data provider under the faults of its fake venue server:
5xx answers, timeouts, dropped connections, 429 with ``Retry-After``, overlapping and
empty pages, the forming bar, an endpoint nobody listens on. Each is bounded in time and
none loses or duplicates a row: what is downloaded equals the shared data files.

    class TestMyProviderFaults(ProviderFaultContract):
        venue = "myvenue"
        span = (1735689600, 1738368000)            # half-open, where the files have data
        endpoints = {"candles": "klines", "funding": "fundingRate"}   # the fake's names
        requests_without_faults = 3                # the span's download, undisturbed
        candle_pages = 1

        def make_provider(self, url, **options): ...
        def make_fake(self, data, **options): ...  # options: forming=True
        def files(self, data): ...                 # the candle and the funding file served
        def request_of(self, kind): ...            # a predicate on the fake's requests
        def offline_error(self, url): ...

The test module needs the ``fake_data`` fixture (the shared data folder, skipped when it
lacks the venue's files) and ``bounded`` (a time limit) of flint's test conftest.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, ClassVar

import pytest

from flint.providers.download import Series, download
from flint.store import FlintStore
from flint.testing.data_files import data_columns
from flint.testing.fakes import Fault, Request
from flint.testing.venues import (
    FAST_RETRY,
    assert_offline_fails,
    assert_same_candles,
    download_rows,
    unused_port,
)

H = 3600

#: Faults every provider retries through: (test id, the fault given ``request_of``).
RETRIED: list[tuple[str, Callable[[Callable[[str], Any]], Fault]]] = [
    ("500", lambda on: Fault.status_code(500, match=on("candles"))),
    ("502-twice", lambda on: Fault.status_code(502, times=2, match=on("funding"))),
    ("503-thrice", lambda on: Fault.status_code(503, times=3)),
    ("504", lambda on: Fault.status_code(504, match=on("candles"))),
    ("timeout-funding", lambda on: Fault.delay(5.0, match=on("funding"))),
    ("timeout-candles", lambda on: Fault.delay(5.0, match=on("candles"))),
    ("dropped-mid-page", lambda on: Fault.drop(match=on("candles"))),
    ("dropped-twice", lambda on: Fault.drop(times=2, match=on("funding"))),
]


class ProviderFaultContract:
    """A venue's provider downloads the files' rows exactly through its fake's faults."""

    venue: ClassVar[str]
    market: ClassVar[str] = "SOL-PERP"
    #: The half-open range downloaded.
    span: ClassVar[tuple[int, int]]
    #: The fake's names of its candle and funding endpoints (``overlap_next``, ``miss_next``).
    endpoints: ClassVar[dict[str, str]]
    #: Requests the span's download makes without a fault, and candle pages among them.
    requests_without_faults: ClassVar[int]
    candle_pages: ClassVar[int]
    #: Rows an overlapping page repeats.
    overlap_rows: ClassVar[dict[str, int]] = {"candles": 5, "funding": 40}

    def make_provider(self, url: str, **options: Any) -> Any:
        """The provider pointed at ``url`` (rate limits off; ``options`` win)."""
        raise NotImplementedError

    def make_fake(self, data: Path, **options: Any) -> AbstractContextManager[Any]:
        """The venue's fake serving ``market`` from the files of ``data``."""
        raise NotImplementedError

    def files(self, data: Path) -> tuple[Path, Path]:
        """The candle file and the funding file the fake serves for ``market``."""
        raise NotImplementedError

    def request_of(self, kind: str) -> Callable[[Request], bool]:
        """True for the fake's requests of ``kind`` (``candles`` or ``funding``)."""
        raise NotImplementedError

    def offline_error(self, url: str) -> str:
        """What the one error line holds when nobody listens at ``url``."""
        raise NotImplementedError

    @pytest.fixture
    def fake(self, fake_data: Path) -> Iterator[Any]:
        with self.make_fake(fake_data) as server:
            yield server

    def provider(self, fake: Any, **options: Any) -> Any:
        """A provider of ``fake`` on the fake's clock, retrying quickly."""
        return self.make_provider(fake.url, **{"retry": FAST_RETRY, "timeout_s": 2.0,
                                               "clock": lambda: fake.now, **options})

    def download(self, fake: Any, **options: Any) -> tuple[Any, list[Any]]:
        """Candles and funding of :attr:`span` into a new store: ``(series, [(ts, rate)])``."""
        with self.provider(fake, **options) as p:
            return download_rows(p, self.venue, self.market, self.span[0], self.span[1] - 1,
                                 now=lambda: fake.now)

    def check(self, data: Path, candles: Any, funding: list[Any]) -> None:
        """The downloaded rows are the files' rows of :attr:`span`, to the last bit."""
        start, end = self.span
        candle_file, funding_file = self.files(data)
        assert_same_candles(candles, data_columns(candle_file), start, end - 1)
        rates = data_columns(funding_file)
        keep = (rates["ts"] >= start) & (rates["ts"] < end)
        assert funding == list(zip(rates["ts"][keep].tolist(), rates["rate"][keep].tolist(),
                                   strict=True))

    @pytest.mark.parametrize("make_fault", [make for _, make in RETRIED],
                             ids=[name for name, _ in RETRIED])
    def test_server_errors_timeouts_and_dropped_connections_are_retried(
            self, fake: Any, fake_data: Path, make_fault: Callable[..., Fault],
            bounded: Callable[[float], None]) -> None:
        bounded(30)
        fault = make_fault(self.request_of)
        faulty = fault.times  # the fake counts them down
        fake.inject(fault)
        self.check(fake_data, *self.download(fake, timeout_s=0.5))
        assert fake.count() == self.requests_without_faults + faulty  # each one retried

    def test_429_waits_the_retry_after_it_names(self, fake: Any, fake_data: Path,
                                                bounded: Callable[[float], None]) -> None:
        bounded(30)
        fake.inject(Fault.status_code(429, retry_after=1, match=self.request_of("candles")))
        started = time.monotonic()
        candles, funding = self.download(fake)
        assert time.monotonic() - started >= 1.0
        self.check(fake_data, candles, funding)
        assert fake.count(self.request_of("candles")) == self.candle_pages + 1

    def test_an_overlapping_page_duplicates_nothing(self, fake: Any, fake_data: Path,
                                                    bounded: Callable[[float], None]) -> None:
        bounded(30)
        for kind, endpoint in self.endpoints.items():
            fake.overlap_next(endpoint, rows=self.overlap_rows[kind])
        self.check(fake_data, *self.download(fake))
        assert fake.count(self.request_of("candles")) == self.candle_pages

    def test_an_empty_page_is_asked_again_not_believed(self, fake: Any, fake_data: Path,
                                                       bounded: Callable[[float], None]) -> None:
        bounded(30)
        for endpoint in self.endpoints.values():
            fake.miss_next(endpoint)
        self.check(fake_data, *self.download(fake))
        assert fake.count() == self.requests_without_faults + 2

    def test_the_forming_candle_is_never_stored(self, fake_data: Path,
                                                bounded: Callable[[float], None]) -> None:
        bounded(30)
        with self.make_fake(fake_data, forming=True) as fake:
            fake.now += 1800  # half way through the next bar
            now = int(fake.now)
            with FlintStore(":memory:") as store, self.provider(fake) as p:
                forming = p.fetch_candles(self.market, H, now - 5 * H, now)
                assert forming.timestamps[-1] == now // H * H  # the venue serves it
                download(store, p, Series(self.venue, self.market, "candles", H),
                         now - 5 * H, None, now=lambda: fake.now)
                stored = store.query_candles(self.market, H, venue=self.venue)
        expected = data_columns(self.files(fake_data)[0])["ts"][-4:].tolist()
        assert stored.timestamps.tolist() == expected

    def test_offline_fails_fast_naming_the_endpoint(self,
                                                    bounded: Callable[[float], None]) -> None:
        bounded(15)
        url = f"http://127.0.0.1:{unused_port()}"
        p = self.make_provider(url)
        message = assert_offline_fails(p, lambda: p.fetch_candles(self.market, H, 0, H),
                                            self.offline_error(url))
        assert "Connection refused" in message

"""The live contract tests (flint.testing.live_contracts) against the fake Hyperliquid."""

from flint_hyperliquid.testing.harness import HyperliquidHarness

from flint.testing.live_contracts import (
    CrashContract,
    LiveContextContract,
    VenueAdapterContract,
)


class TestHyperliquidAdapter(VenueAdapterContract):
    def make_harness(self) -> HyperliquidHarness:
        return HyperliquidHarness()


class TestHyperliquidLive(LiveContextContract):
    def make_harness(self) -> HyperliquidHarness:
        return HyperliquidHarness()


class TestHyperliquidCrashes(CrashContract):
    def make_harness(self) -> HyperliquidHarness:
        return HyperliquidHarness()

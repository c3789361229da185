"""The live contract tests (flint.testing.live_contracts) against the simulated venue."""

from flint.testing.live_contracts import (
    CrashContract,
    LiveContextContract,
    VenueAdapterContract,
)
from flint.testing.sim_harness import SimHarness


class TestSimAdapter(VenueAdapterContract):
    def make_harness(self) -> SimHarness:
        return SimHarness()


class TestSimLive(LiveContextContract):
    def make_harness(self) -> SimHarness:
        return SimHarness()


class TestSimCrashes(CrashContract):
    def make_harness(self) -> SimHarness:
        return SimHarness()

"""The planner: bursts become one round, rounds never overlap, failures are retried."""

from __future__ import annotations

import asyncio

from cango_operator.operator.planner import Planner


class Recorder:
    def __init__(self, delay: float = 0.0, fail_times: int = 0) -> None:
        self.calls: list[frozenset[str]] = []
        self.running = 0
        self.max_running = 0
        self.delay = delay
        self.fail_times = fail_times
        #: When set: the planner's last retry delay, as each round found it.
        self.planner: Planner | None = None
        self.retry_delays: list[float] = []

    async def __call__(self, reasons: frozenset[str]) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        try:
            self.calls.append(reasons)
            if self.planner is not None:
                self.retry_delays.append(self.planner.stats.retry_after)
            await asyncio.sleep(self.delay)
            if self.fail_times > 0:
                self.fail_times -= 1
                raise RuntimeError("API server said no")
        finally:
            self.running -= 1


class TestDebounce:
    async def test_a_burst_of_requests_becomes_one_round_with_every_reason(self) -> None:
        rec = Recorder()
        planner = Planner(rec, debounce=0.05)
        for i in range(50):
            planner.request(f"event {i % 3}")
        await asyncio.wait_for(planner.wait_idle(), 5)
        assert rec.calls == [frozenset({"event 0", "event 1", "event 2"})]
        await planner.stop()

    async def test_no_request_no_round(self) -> None:
        rec = Recorder()
        planner = Planner(rec, debounce=0.01)
        await asyncio.sleep(0.05)
        assert rec.calls == []
        await planner.stop()


class TestSingleFlight:
    async def test_requests_during_a_round_give_exactly_one_more_round(self) -> None:
        rec = Recorder(delay=0.1)
        planner = Planner(rec, debounce=0.01, pace=0)
        planner.request("first")
        await asyncio.sleep(0.05)  # the first round is running now
        for _ in range(10):
            planner.request("during")
        await asyncio.wait_for(planner.wait_idle(), 5)
        assert rec.calls == [frozenset({"first"}), frozenset({"during"})]
        assert rec.max_running == 1
        await planner.stop()


class TestFailures:
    async def test_a_failed_round_is_retried_and_reported(self) -> None:
        rec = Recorder(fail_times=1)
        planner = Planner(rec, debounce=0.01, retry_after=0.02)
        planner.request("job added")
        await asyncio.wait_for(planner.wait_idle(), 5)
        assert len(rec.calls) == 2
        assert "retry after failure" in rec.calls[1]
        assert planner.stats.failures == 1
        assert planner.stats.last_error is None  # the retry succeeded
        await planner.stop()

    async def test_failures_in_a_row_wait_twice_as_long_each_time_up_to_a_limit(self) -> None:
        rec = Recorder(fail_times=4)
        planner = Planner(rec, debounce=0.0, retry_after=0.01, max_retry_after=0.03)
        rec.planner = planner
        planner.request("service IP range full")
        await asyncio.wait_for(planner.wait_idle(), 5)
        assert rec.retry_delays == [0.0, 0.01, 0.02, 0.03, 0.03]  # the fifth round succeeds

        rec.fail_times = 1
        planner.request("again")
        await asyncio.wait_for(planner.wait_idle(), 5)
        assert rec.retry_delays[-2:] == [0.03, 0.01]  # a success starts the doubling over
        await planner.stop()

    async def test_a_round_in_flight_reports_how_long_it_has_run(self) -> None:
        rec = Recorder(delay=0.2)
        planner = Planner(rec, debounce=0.0)
        planner.request("x")
        await asyncio.sleep(0.1)
        assert planner.stuck_for() > 0.05
        await planner.stop()
        assert planner.stuck_for() == 0.0

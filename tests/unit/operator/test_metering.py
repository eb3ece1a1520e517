"""Metering: what a job's ``status.usage`` says, and when the operator writes it."""

from __future__ import annotations

import pytest

from cango_operator.operator.metering import Line, Rate, UsageLedger, rate_of

HOUR = 3600.0
#: Two H100 replicas on one node (1 GPU, 700 W each) at a site of PUE 1.2.
TWO_ON_ONE_NODE = [Line(replicas=2, gpus=2, power_w=1400.0, pue=1.2)]


def ledger_at(start: float = 0.0, interval: float = 300.0) -> UsageLedger:
    return UsageLedger(interval, start)


def observe(
    ledger: UsageLedger, now: float, rate: Rate, persisted: dict[str, float] | None = None
) -> None:
    ledger.start_round(now)
    ledger.observe("t/chat", "uid-1", persisted, rate)


class TestRate:
    def test_ready_replicas_count_their_gpus_and_their_power_at_the_meter(self) -> None:
        rate = rate_of(TWO_ON_ONE_NODE, ready=2)
        assert rate.gpus == 2
        assert rate.kw_at_meter == pytest.approx(1.4 * 1.2)

    def test_replicas_not_ready_count_nothing_in_proportion(self) -> None:
        lines = [*TWO_ON_ONE_NODE, Line(replicas=2, gpus=8, power_w=2000.0, pue=1.0)]
        rate = rate_of(lines, ready=1)  # 1 of 4 placed replicas serves
        assert rate.gpus == pytest.approx(10 / 4)
        assert rate.kw_at_meter == pytest.approx((1.4 * 1.2 + 2.0) / 4)

    def test_a_job_with_nothing_placed_or_ready_uses_nothing(self) -> None:
        assert rate_of([], ready=3) == Rate()
        assert rate_of(TWO_ON_ONE_NODE, ready=0) == Rate()


class TestAccrual:
    def test_usage_accrues_at_the_rate_the_previous_round_saw(self) -> None:
        ledger = ledger_at(interval=HOUR)
        observe(ledger, 0.0, rate_of(TWO_ON_ONE_NODE, ready=2))
        observe(ledger, HOUR / 2, Rate())  # half an hour at 2 GPUs, then stopped
        observe(ledger, HOUR, Rate())  # the interval: reported
        assert ledger.usage("t/chat") == {"gpuHours": 1.0, "energyKwh": pytest.approx(0.84)}

    def test_a_job_continues_from_the_usage_in_its_status(self) -> None:
        ledger = ledger_at(interval=HOUR)
        observe(ledger, 0.0, Rate(gpus=4), persisted={"gpuHours": 10.0, "energyKwh": 5.0})
        assert ledger.usage("t/chat") == {"gpuHours": 10.0, "energyKwh": 5.0}
        observe(ledger, HOUR, Rate())
        assert ledger.usage("t/chat") == {"gpuHours": 14.0, "energyKwh": 5.0}

    def test_a_job_recreated_under_the_same_name_starts_from_its_own_status(self) -> None:
        ledger = ledger_at(interval=1.0)
        observe(ledger, 0.0, Rate(gpus=4))
        observe(ledger, HOUR, Rate(gpus=4))
        ledger.start_round(2 * HOUR)
        ledger.observe("t/chat", "uid-2", None, Rate(gpus=1))
        assert ledger.usage("t/chat") == {"gpuHours": 0.0, "energyKwh": 0.0}

    def test_unreadable_usage_in_a_status_counts_as_none(self) -> None:
        ledger = ledger_at()
        observe(ledger, 0.0, Rate(), persisted={"gpuHours": -3, "energyKwh": "lots"})  # type: ignore[dict-item]
        assert ledger.usage("t/chat") == {"gpuHours": 0.0, "energyKwh": 0.0}

    def test_a_job_that_is_gone_is_forgotten(self) -> None:
        ledger = ledger_at()
        observe(ledger, 0.0, Rate(gpus=1))
        ledger.keep_only([])
        assert ledger.usage("t/chat") is None


class TestWhenUsageIsWritten:
    def test_between_intervals_the_last_report_stands_so_a_settled_job_is_not_rewritten(
        self,
    ) -> None:
        ledger = ledger_at(interval=300.0)
        observe(ledger, 0.0, Rate(gpus=3600.0))  # one GPU-hour per second, to see it move
        observe(ledger, 10.0, Rate(gpus=3600.0))
        assert ledger.usage("t/chat") == {"gpuHours": 0.0, "energyKwh": 0.0}
        assert not ledger.due(10.0)

    def test_a_status_written_anyway_carries_the_running_totals(self) -> None:
        ledger = ledger_at(interval=300.0)
        observe(ledger, 0.0, Rate(gpus=3600.0))
        observe(ledger, 10.0, Rate(gpus=3600.0))
        assert ledger.usage("t/chat", fresh=True) == {"gpuHours": 10.0, "energyKwh": 0.0}

    def test_every_interval_one_round_reports_every_job(self) -> None:
        ledger = ledger_at(interval=300.0)
        observe(ledger, 0.0, Rate(gpus=3600.0))
        assert ledger.due(300.0)
        observe(ledger, 300.0, Rate(gpus=3600.0))
        assert ledger.usage("t/chat") == {"gpuHours": 300.0, "energyKwh": 0.0}
        assert not ledger.due(301.0)

    def test_a_non_positive_interval_is_refused(self) -> None:
        with pytest.raises(ValueError, match="usage interval must be positive, got 0"):
            UsageLedger(0, 0.0)

"""What a kWh earns, mining or serving (docs/api.md, Revenue)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from cango_operator.api import Mining, revenue


class TestTheFormulas:
    def test_a_kwh_of_mining_earns_the_hashprice_over_a_day_of_one_phs(self) -> None:
        # 1 PH/s at 20 J/TH draws 20 kW: 480 kWh a day for 50 USD.
        assert revenue.mining_usd_per_kwh(50.0, 20.0) == pytest.approx(50 / 480)

    def test_a_kwh_of_gpu_work_earns_its_gpu_hours(self) -> None:
        # Two GPUs at 2 USD an hour each, drawing 1.4 kW together.
        assert revenue.gpu_usd_per_kwh(2.0, 2, 1.4) == pytest.approx(4 / 1.4)

    def test_gpu_work_takes_mining_power_only_when_it_earns_strictly_more(self) -> None:
        assert revenue.may_take_mining(2.0, 1, 700.0, 0.10)  # 2.86 USD/kWh
        assert not revenue.may_take_mining(0.1, 1, 1000.0, 0.10)  # 0.10 too: a tie
        assert not revenue.may_take_mining(0.05, 1, 700.0, 0.10)

    def test_unknown_values_lean_to_the_gpus(self) -> None:
        assert revenue.may_take_mining(None, 1, 700.0, 0.10)
        assert revenue.may_take_mining(0.0, 1, 700.0, revenue.UNKNOWN_MINING)

    def test_arrays_are_judged_element_by_element(self) -> None:
        got = revenue.may_take_mining(
            0.05, 1, np.array([700.0, 100.0, 0.0]), np.array([0.10, 0.10, 0.10])
        )
        # 0.07, 0.5 and (a draw below 1 W counts as 1 W) 50 USD/kWh
        assert got.tolist() == [False, True, True]
        assert revenue.may_take_mining(None, 1, np.array([1.0, 2.0]), np.zeros(2)).all()


class TestASitesMiningRevenue:
    def mining(self, **kw: object) -> Mining:
        return Mining.model_validate(
            {
                "loadKw": 100,
                "miners": [
                    {"firmware": "luxos", "addresses": ["10.0.0.1"], "efficiencyJPerTh": 17.5},
                    {"firmware": "luxos", "addresses": ["10.0.0.2"], "efficiencyJPerTh": 34.0},
                    {"firmware": "luxos", "addresses": ["10.0.0.3"]},
                ],
                **kw,
            }
        )

    def test_is_that_of_the_least_efficient_miners_which_are_shed_first(self) -> None:
        mining = self.mining(hashpriceUsdPerPhDay=48.0, efficiencyJPerTh=30.0)
        assert mining.usd_per_kwh() == pytest.approx(48 / (24 * 34.0))

    def test_a_group_without_an_efficiency_takes_the_sites(self) -> None:
        mining = self.mining(hashpriceUsdPerPhDay=48.0, efficiencyJPerTh=40.0)
        assert mining.usd_per_kwh() == pytest.approx(48 / (24 * 40.0))

    def test_is_unknown_without_a_hashprice(self) -> None:
        assert self.mining(efficiencyJPerTh=30.0).usd_per_kwh() is None

    def test_a_site_without_miners_listed_may_give_one_efficiency(self) -> None:
        mining = Mining.model_validate({"hashpriceUsdPerPhDay": 48.0, "efficiencyJPerTh": 24.0})
        assert mining.usd_per_kwh() == pytest.approx(48 / (24 * 24.0))
        assert Mining.model_validate({"hashpriceUsdPerPhDay": 48.0}).usd_per_kwh() is None

    @pytest.mark.parametrize(
        ("field", "value"),
        [("efficiencyJPerTh", 0), ("efficiencyJPerTh", 5000), ("hashpriceUsdPerPhDay", -1)],
    )
    def test_values_out_of_range_are_refused_naming_the_field(
        self, field: str, value: float
    ) -> None:
        with pytest.raises(ValueError, match=field):
            Mining.model_validate({field: value})

    def test_not_a_number_is_refused(self) -> None:
        with pytest.raises(ValueError, match="hashpriceUsdPerPhDay"):
            Mining.model_validate({"hashpriceUsdPerPhDay": math.nan})

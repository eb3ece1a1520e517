"""What a kWh earns, mining or serving: the one place for the revenue rule.

Mining revenue per kWh follows from the hashprice (USD per PH/s of hashrate per day) and
the miners' efficiency (J/TH): one PH/s at E J/TH draws E kW, so it uses 24 x E kWh a day::

    mining USD/kWh = hashprice / (24 x E)

GPU work's value per kWh is the job's value per GPU-hour times its GPUs, over the power
of one replica (kW, before PUE: both sides are compared per kWh their devices draw)::

    GPU USD/kWh = valueUsdPerGpuHour x gpus / replica kW

GPU work takes mining power (the mining the site may shed) only when it earns more per
kWh than the mining it displaces (:func:`outbids_mining`). The miners shed first are the
least efficient (the shed order sleeps them first; lowered power targets make every
miner more efficient, not less), so a site's mining figure uses its highest J/TH.
Unknown values lean to the GPUs: a job without a value counts as +inf, a site without
a hashprice or an efficiency as -inf. The functions take floats or NumPy arrays alike.
"""

from __future__ import annotations

from typing import TypeVar, overload

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
Kw = TypeVar("Kw", float, FloatArray)

#: A job that names no value: GPU work wins.
NO_VALUE = float("inf")
#: A site whose mining revenue is unknown: GPU work wins.
UNKNOWN_MINING = float("-inf")


def mining_usd_per_kwh(hashprice_usd_per_ph_day: float, j_per_th: float) -> float:
    """Revenue of one kWh of mining at ``j_per_th``; ``j_per_th`` must be > 0."""
    return hashprice_usd_per_ph_day / (24.0 * j_per_th)


def gpu_usd_per_kwh(value_usd_per_gpu_hour: float, gpus: int, replica_kw: Kw) -> Kw:
    """Value of one kWh of a replica's draw; ``replica_kw`` must be > 0."""
    return value_usd_per_gpu_hour * gpus / replica_kw


@overload
def outbids_mining(gpu_usd_per_kwh: float, mining_usd_per_kwh: float) -> bool: ...
@overload
def outbids_mining(
    gpu_usd_per_kwh: FloatArray, mining_usd_per_kwh: FloatArray | float
) -> BoolArray: ...
def outbids_mining(
    gpu_usd_per_kwh: float | FloatArray, mining_usd_per_kwh: float | FloatArray
) -> bool | BoolArray:
    """True where GPU work earns more per kWh than the mining it would displace."""
    return gpu_usd_per_kwh > mining_usd_per_kwh


@overload
def may_take_mining(
    value_usd_per_gpu_hour: float | None, gpus: int, replica_w: float, mining_usd_per_kwh: float
) -> bool: ...
@overload
def may_take_mining(
    value_usd_per_gpu_hour: float | None,
    gpus: int,
    replica_w: FloatArray,
    mining_usd_per_kwh: FloatArray,
) -> BoolArray: ...
def may_take_mining(
    value_usd_per_gpu_hour: float | None,
    gpus: int,
    replica_w: float | FloatArray,
    mining_usd_per_kwh: float | FloatArray,
) -> bool | BoolArray:
    """Whether a replica drawing ``replica_w`` (W, before PUE) may take mining power where
    mining earns ``mining_usd_per_kwh`` (:data:`UNKNOWN_MINING` where unknown); a job
    without a value always may. A draw below 1 W counts as 1 W."""
    if isinstance(replica_w, np.ndarray):
        if value_usd_per_gpu_hour is None:
            return np.ones_like(replica_w, dtype=np.bool_)
        kw = np.maximum(replica_w, 1.0) / 1000
        return outbids_mining(gpu_usd_per_kwh(value_usd_per_gpu_hour, gpus, kw), mining_usd_per_kwh)
    if value_usd_per_gpu_hour is None:
        return True
    value = gpu_usd_per_kwh(value_usd_per_gpu_hour, gpus, max(replica_w, 1.0) / 1000)
    return bool(outbids_mining(value, float(mining_usd_per_kwh)))

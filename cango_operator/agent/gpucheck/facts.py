"""What the driver says about itself and each GPU, read once, each call on its own.

A fact the GPU does not offer (NOT_SUPPORTED, NO_PERMISSION: MIG on a GPU without it,
ECC on a board without it) reads as that word; any other NVML error is a problem the
facts step fails on, while the rest is still read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

NOT_OFFERED = "not supported"
NO_PERMISSION = "no permission"
MW_PER_W = 1000
MIB = 1024 * 1024


@dataclass(frozen=True)
class Missing:
    """Why a call has no answer."""

    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass
class Asker:
    """Calls NVML and turns each answer into text; remembers the unexpected errors."""

    nvml: Any
    errors: list[str] = field(default_factory=list)

    def value(self, what: str, fn_name: str, *args: Any) -> Any:
        """The call's answer, or :class:`Missing` saying why there is none."""
        nvml = self.nvml
        fn: Callable[..., Any] | None = getattr(nvml, fn_name, None)
        if fn is None:
            return Missing(f"{NOT_OFFERED} (this nvidia-ml-py has no {fn_name})")
        try:
            return fn(*args)
        except nvml.NVMLError as exc:
            code = getattr(exc, "value", None)
            if code in (nvml.NVML_ERROR_NOT_SUPPORTED, nvml.NVML_ERROR_FUNCTION_NOT_FOUND):
                return Missing(NOT_OFFERED)
            if code == nvml.NVML_ERROR_NO_PERMISSION:
                return Missing(NO_PERMISSION)
            self.errors.append(f"{what}: {fn_name} failed: {exc}")
            return Missing(f"error: {exc}")

    def text(self, what: str, fn_name: str, *args: Any, fmt: Callable[[Any], str] = str) -> str:
        answer = self.value(what, fn_name, *args)
        return str(answer) if isinstance(answer, Missing) else fmt(answer)


def watts(mw: Any) -> str:
    return f"{int(mw) / MW_PER_W:g} W"


def cuda_version(number: Any) -> str:
    """NVML's CUDA driver version 12080 is CUDA 12.8."""
    return f"{int(number) // 1000}.{int(number) % 1000 // 10}"


def mode_pair(pair: Any) -> str:
    """(current, pending) of MIG or ECC mode as words."""
    current, pending = (int(v) for v in pair)
    words = {0: "disabled", 1: "enabled"}
    text = words.get(current, str(current))
    return text if pending == current else f"{text} (pending: {words.get(pending, pending)})"


def limit_range(pair: Any) -> str:
    low, high = pair
    return f"{watts(low)} to {watts(high)}"


def system_facts(ask: Asker) -> list[tuple[str, str]]:
    return [
        ("driver version", ask.text("driver", "nvmlSystemGetDriverVersion")),
        ("NVML version", ask.text("NVML", "nvmlSystemGetNVMLVersion")),
        (
            "CUDA driver version",
            ask.text("CUDA", "nvmlSystemGetCudaDriverVersion", fmt=cuda_version),
        ),
        ("nvidia-ml-py", _package_version("nvidia-ml-py")),
    ]


def gpu_facts(ask: Asker, index: int) -> dict[str, str]:
    """One GPU's row of the report (the keys are its columns)."""
    nvml = ask.nvml
    where = f"GPU {index}"
    handle = ask.value(where, "nvmlDeviceGetHandleByIndex", index)
    if isinstance(handle, Missing):
        return {"GPU": str(index), "name": str(handle)}

    def ecc(error_type: int, counter: int) -> str:
        return ask.text(where, "nvmlDeviceGetTotalEccErrors", handle, error_type, counter)

    uncorrected, corrected = (
        nvml.NVML_MEMORY_ERROR_TYPE_UNCORRECTED,
        nvml.NVML_MEMORY_ERROR_TYPE_CORRECTED,
    )
    volatile, aggregate = nvml.NVML_VOLATILE_ECC, nvml.NVML_AGGREGATE_ECC
    memory = ask.value(where, "nvmlDeviceGetMemoryInfo", handle)
    return {
        "GPU": str(index),
        "name": ask.text(where, "nvmlDeviceGetName", handle),
        "UUID": ask.text(where, "nvmlDeviceGetUUID", handle),
        "memory": str(memory) if isinstance(memory, Missing) else f"{int(memory.total) // MIB} MiB",
        "MIG mode": ask.text(where, "nvmlDeviceGetMigMode", handle, fmt=mode_pair),
        "ECC mode": ask.text(where, "nvmlDeviceGetEccMode", handle, fmt=mode_pair),
        "ECC uncorrected (volatile/aggregate)": f"{ecc(uncorrected, volatile)}"
        f" / {ecc(uncorrected, aggregate)}",
        "ECC corrected (volatile/aggregate)": f"{ecc(corrected, volatile)}"
        f" / {ecc(corrected, aggregate)}",
        "power limit range": ask.text(
            where, "nvmlDeviceGetPowerManagementLimitConstraints", handle, fmt=limit_range
        ),
        "default limit": ask.text(
            where, "nvmlDeviceGetPowerManagementDefaultLimit", handle, fmt=watts
        ),
        "limit": ask.text(where, "nvmlDeviceGetPowerManagementLimit", handle, fmt=watts),
        "enforced limit": ask.text(where, "nvmlDeviceGetEnforcedPowerLimit", handle, fmt=watts),
        "power": ask.text(where, "nvmlDeviceGetPowerUsage", handle, fmt=watts),
    }


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "not installed"

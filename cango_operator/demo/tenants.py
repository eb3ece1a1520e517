"""Tenants submitting (and later deleting) their jobs at the scenario's times.

Each submission creates the InferenceJob and, when the baseline runs, its plain
Deployment at the same moment; each ``endAt`` deletes both.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from cango_operator.demo.baseline import baseline_namespace, build_baseline_deployment
from cango_operator.demo.fleet import build_inference_job
from cango_operator.demo.scenario import JobScenario, Scenario, Tenant


@dataclass(frozen=True)
class JobAction:
    sim_t: float
    submit: bool  # False: the job ends (deleted)
    tenant: Tenant
    job: JobScenario

    @property
    def text(self) -> str:
        what = "submits" if self.submit else "deletes"
        return (
            f"{self.tenant.name} {what} {self.job.name} ({self.job.replicas} x "
            f"{self.job.gpu.count} GPU, {self.job.client_region})"
        )


def job_timeline(scenario: Scenario) -> list[JobAction]:
    """Every submission and deletion of the day, in time order (ends before starts)."""
    actions = [JobAction(j.submit_at, True, t, j) for t, j in scenario.jobs()]
    actions += [JobAction(j.end_at, False, t, j) for t, j in scenario.jobs() if j.end_at]
    return sorted(actions, key=lambda a: (a.sim_t, a.submit, a.tenant.name, a.job.name))


@dataclass(frozen=True)
class TenantCalls:
    """The cluster calls a submission and a deletion need (blocking; run in a thread)."""

    create_job: Callable[[dict[str, Any]], None]
    delete_job: Callable[[str, str], None]
    create_deployment: Callable[[dict[str, Any]], None]
    delete_deployment: Callable[[str, str], None]


class TenantPlayer:
    """Submits and deletes jobs as the simulated time passes theirs."""

    def __init__(
        self,
        scenario: Scenario,
        calls: TenantCalls,
        run_blocking: Callable[[Callable[[], None]], Awaitable[None]],
        baseline: bool,
    ) -> None:
        self.scenario = scenario
        self.calls = calls
        self.run_blocking = run_blocking
        self.baseline = baseline
        self._actions = job_timeline(scenario)
        self._next = 0

    def pending(self) -> int:
        return len(self._actions) - self._next

    async def play_due(self, now: float) -> list[JobAction]:
        done: list[JobAction] = []
        while self._next < len(self._actions) and self._actions[self._next].sim_t <= now:
            action = self._actions[self._next]
            self._next += 1
            await self.run_blocking(partial(self._apply, action))
            done.append(action)
        return done

    def _apply(self, action: JobAction) -> None:
        namespace, name = action.tenant.namespace, action.job.name
        if action.submit:
            body = build_inference_job(
                action.tenant,
                action.job,
                self.scenario.name,
                self.scenario.gpu_value_usd_per_hour,
            )
            self.calls.create_job(body)
            if self.baseline:
                self.calls.create_deployment(build_baseline_deployment(body))
        else:
            self.calls.delete_job(namespace, name)
            if self.baseline:
                self.calls.delete_deployment(baseline_namespace(namespace), name)

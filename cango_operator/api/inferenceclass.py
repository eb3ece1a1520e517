"""InferenceClass: what the platform admin lets a kind of work be, and which tenants may
use it.

A job names its class (``InferenceJob.spec.className``, absent: ``default``). The API
server holds every job to its class when the job is created or its spec changes (the
chart's ValidatingAdmissionPolicy ``<release>-inference-classes``, docs/tenancy.md): the
job's priority at most the class's, preemptible when the class says so, no more GPUs in
all than the class allows, only the class's GPU models. Who may name a class is RBAC:
verb ``use`` on ``inferenceclasses`` with the class's name, granted in the tenant's
namespace (as PodSecurityPolicy's ``use`` was); a tenant cannot grant it to itself.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from cango_operator.api.base import SpecModel
from cango_operator.api.resource import AGE_COLUMN, PrinterColumn, Resource
from cango_operator.api.types import LIST_SET, GpuModel, NoDuplicates

#: The class of a job that names none.
DEFAULT_CLASS = "default"
#: Priorities a job (and so a class) may have.
MAX_PRIORITY = 1_000_000
#: replicas (1,000) x GPUs per replica (16): a bound no job can exceed anyway.
MAX_GPUS_PER_JOB = 16_000


class InferenceClassSpec(SpecModel):
    """The limits of the jobs of one class."""

    priority: Annotated[int, Field(ge=0, le=MAX_PRIORITY)] = 0
    """The highest spec.priority a job of this class may ask for."""
    preemptible: bool = True
    """True: jobs of this class must be preemptible (spec.preemptible: true), so higher
    classes and curtailment may stop or move them. False: each job says."""
    max_gpus_per_job: Annotated[int, Field(ge=1, le=MAX_GPUS_PER_JOB)] | None = None
    """Most GPUs one job may ask for in all (spec.replicas x spec.gpu.count); absent: no
    limit but the job's own."""
    gpu_models: Annotated[list[GpuModel], Field(max_length=16), NoDuplicates] = Field(
        default_factory=list, json_schema_extra=LIST_SET
    )
    """GPU models jobs of this class may ask for; a job must then name some (spec.gpu.models,
    a subset of these). Empty: any."""
    description: Annotated[str, Field(max_length=1024)] = ""
    """What the class is for, for tenants choosing one."""


class InferenceClass(Resource):
    """A class of inference work, set by the platform admin: priority, preemption and GPU
    limits for the InferenceJobs that name it."""

    KIND: ClassVar[str] = "InferenceClass"
    PLURAL: ClassVar[str] = "inferenceclasses"
    SINGULAR: ClassVar[str] = "inferenceclass"
    SHORT_NAMES: ClassVar[tuple[str, ...]] = ("icl",)
    NAMESPACED: ClassVar[bool] = False
    PRINTER_COLUMNS: ClassVar[tuple[PrinterColumn, ...]] = (
        PrinterColumn("Priority", "integer", ".spec.priority", "Highest priority of its jobs"),
        PrinterColumn("Preemptible", "boolean", ".spec.preemptible", "Its jobs may be preempted"),
        PrinterColumn("Max GPUs", "integer", ".spec.maxGpusPerJob", "Most GPUs per job"),
        PrinterColumn("Description", "string", ".spec.description", "What it is for", priority=1),
        AGE_COLUMN,
    )

    kind: Literal["InferenceClass"] = "InferenceClass"
    """Kind of the object: InferenceClass."""
    spec: InferenceClassSpec = Field(default_factory=InferenceClassSpec)
    """The limits of the jobs of this class."""

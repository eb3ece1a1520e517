"""The API of compute.cango.io/v1alpha1: Site, GpuNode, InferenceJob and InferenceClass.

The pydantic models here are the one source of truth: the CRDs in ``crds/`` and in the
chart are generated from them (``cango-operator crds``), and the placement engine, the
power code, the agent and the operator read specs through them. Python attributes are
snake_case; YAML and JSON use the camelCase names of the API contract::

    site = parse_resource(doc, source="fleet.yaml")
    site.spec.power.capacity_kw
    site.model_dump(by_alias=True, exclude_none=True, mode="json")  # back to a manifest

This package never imports kopf or the Kubernetes client.
"""

from cango_operator.api.base import CelRule, RuleViolation
from cango_operator.api.crd import RESOURCES, crd_manifest, crd_manifests, render_crd_files
from cango_operator.api.endpoint import ApiKeysRef, EndpointSpec, RateLimit
from cango_operator.api.enums import (
    ConditionStatus,
    FeedType,
    GpuNodePhase,
    JobPhase,
    LoadScope,
    MinerFirmware,
    ModbusDataType,
    ModbusRegisterType,
    Objective,
    ShedOrder,
    SitePhase,
    WordOrder,
)
from cango_operator.api.gpunode import GpuNode, GpuNodeSpec, GpuNodeStatus, GpuSpec, GpuStatus
from cango_operator.api.guardreport import (
    SITE_GUARD_REPORT_ANNOTATION,
    ShedEntry,
    SiteGuardReport,
    parse_site_guard_report,
)
from cango_operator.api.inferenceclass import DEFAULT_CLASS, InferenceClass, InferenceClassSpec
from cango_operator.api.inferencejob import (
    ContainerResources,
    ContainerSpec,
    EnvVar,
    EnvVarSource,
    FailoverSpec,
    InferenceJob,
    InferenceJobSpec,
    InferenceJobStatus,
    JobGpu,
    JobPlacement,
    PlacementSpec,
    PlacementStatus,
    SecretKeySelector,
    Usage,
)
from cango_operator.api.manifests import (
    AnyResource,
    Manifests,
    apply_manifest,
    describe_errors,
    load_manifests,
    parse_resource,
    problems_at,
)
from cango_operator.api.meta import Condition, ObjectMeta, parse_rfc3339, rfc3339
from cango_operator.api.resource import API_VERSION, CATEGORY, GROUP, VERSION, Resource
from cango_operator.api.site import (
    FeedStatus,
    MinerGroup,
    MinerRamp,
    Mining,
    PowerFeed,
    SecretRef,
    Site,
    SiteGpuStatus,
    SiteLocation,
    SiteMiningStatus,
    SiteNodeStatus,
    SitePower,
    SitePowerStatus,
    SiteSpec,
    SiteStatus,
    parse_miner_address,
)

SITE_KIND = Site.KIND
GPUNODE_KIND = GpuNode.KIND
INFERENCEJOB_KIND = InferenceJob.KIND
SITE_PLURAL = Site.PLURAL
GPUNODE_PLURAL = GpuNode.PLURAL
INFERENCEJOB_PLURAL = InferenceJob.PLURAL

__all__ = [
    "API_VERSION",
    "CATEGORY",
    "DEFAULT_CLASS",
    "GPUNODE_KIND",
    "GPUNODE_PLURAL",
    "GROUP",
    "INFERENCEJOB_KIND",
    "INFERENCEJOB_PLURAL",
    "RESOURCES",
    "SITE_GUARD_REPORT_ANNOTATION",
    "SITE_KIND",
    "SITE_PLURAL",
    "VERSION",
    "AnyResource",
    "ApiKeysRef",
    "CelRule",
    "Condition",
    "ConditionStatus",
    "ContainerResources",
    "ContainerSpec",
    "EndpointSpec",
    "EnvVar",
    "EnvVarSource",
    "FailoverSpec",
    "FeedStatus",
    "FeedType",
    "GpuNode",
    "GpuNodePhase",
    "GpuNodeSpec",
    "GpuNodeStatus",
    "GpuSpec",
    "GpuStatus",
    "InferenceClass",
    "InferenceClassSpec",
    "InferenceJob",
    "InferenceJobSpec",
    "InferenceJobStatus",
    "JobGpu",
    "JobPhase",
    "JobPlacement",
    "LoadScope",
    "Manifests",
    "MinerFirmware",
    "MinerGroup",
    "MinerRamp",
    "Mining",
    "ModbusDataType",
    "ModbusRegisterType",
    "ObjectMeta",
    "Objective",
    "PlacementSpec",
    "PlacementStatus",
    "PowerFeed",
    "RateLimit",
    "Resource",
    "RuleViolation",
    "SecretKeySelector",
    "SecretRef",
    "ShedEntry",
    "ShedOrder",
    "Site",
    "SiteGpuStatus",
    "SiteGuardReport",
    "SiteLocation",
    "SiteMiningStatus",
    "SiteNodeStatus",
    "SitePhase",
    "SitePower",
    "SitePowerStatus",
    "SiteSpec",
    "SiteStatus",
    "Usage",
    "WordOrder",
    "apply_manifest",
    "crd_manifest",
    "crd_manifests",
    "describe_errors",
    "load_manifests",
    "parse_miner_address",
    "parse_resource",
    "parse_rfc3339",
    "parse_site_guard_report",
    "problems_at",
    "render_crd_files",
    "rfc3339",
]

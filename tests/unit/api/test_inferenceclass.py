"""InferenceClass and a job's class: the defaults a newcomer gets, and names checked."""

from __future__ import annotations

import pytest

from cango_operator.api import DEFAULT_CLASS, InferenceClass, InferenceJob, parse_resource
from cango_operator.errors import ManifestError

JOB = {
    "apiVersion": "compute.cango.io/v1alpha1",
    "kind": "InferenceJob",
    "metadata": {"name": "chat", "namespace": "acme"},
    "spec": {"container": {"image": "example/chat:1"}},
}


def test_a_class_without_spec_is_priority_zero_and_preemptible_with_no_limits() -> None:
    doc = {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "InferenceClass",
        "metadata": {"name": "spare"},
    }
    cls = parse_resource(doc)
    assert isinstance(cls, InferenceClass)
    spec = cls.spec
    assert (spec.priority, spec.preemptible, spec.max_gpus_per_job, spec.gpu_models) == (
        0,
        True,
        None,
        [],
    )


def test_a_job_that_names_no_class_is_of_class_default() -> None:
    job = parse_resource(JOB)
    assert isinstance(job, InferenceJob)
    assert job.spec.class_name == DEFAULT_CLASS == "default"


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"priority": 1_000_001}, "spec.priority"),
        ({"maxGpusPerJob": 0}, "spec.maxGpusPerJob"),
        ({"gpuModels": ["H100-80GB", "H100-80GB"]}, "spec.gpuModels"),
    ],
)
def test_a_class_beyond_its_bounds_is_refused_naming_the_field(
    spec: dict[str, object], field: str
) -> None:
    doc = {
        "apiVersion": "compute.cango.io/v1alpha1",
        "kind": "InferenceClass",
        "metadata": {"name": "bad"},
        "spec": spec,
    }
    with pytest.raises(ManifestError, match=field.replace(".", r"\.")):
        parse_resource(doc)


def test_a_class_name_that_is_no_object_name_is_refused() -> None:
    doc = {**JOB, "spec": {**JOB["spec"], "className": "Gold Tier"}}
    with pytest.raises(ManifestError, match=r"spec\.className"):
        parse_resource(doc)

"""Deterministic names: the same inputs always give the same valid, distinct name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cango_operator.builders import names

SUBDOMAIN = st.from_regex(r"[a-z0-9]([-a-z0-9.]{0,200}[a-z0-9])?", fullmatch=True)


class TestDeploymentName:
    def test_is_readable_when_short(self) -> None:
        name = names.deployment_name("llama-chat", "tx-rockdale-1-n001")
        assert name.startswith("llama-chat-tx-rockdale-1-n001-")
        assert names.is_label(name)

    def test_is_the_same_every_time(self) -> None:
        assert names.deployment_name("a", "n1") == names.deployment_name("a", "n1")

    def test_differs_where_plain_joining_would_collide(self) -> None:
        assert names.deployment_name("a-b", "c") != names.deployment_name("a", "b-c")

    def test_long_inputs_are_cut_to_a_valid_label(self) -> None:
        name = names.deployment_name("j" * 63, "node-" + "x" * 200)
        assert len(name) <= 63
        assert names.is_label(name)

    @given(SUBDOMAIN, SUBDOMAIN)
    def test_any_job_and_node_give_a_dns_label(self, job: str, node: str) -> None:
        assert names.is_label(names.deployment_name(job, node))


class TestServiceName:
    def test_is_the_job_name_when_that_is_a_dns1035_label(self) -> None:
        assert names.service_name("llama-chat") == "llama-chat"

    def test_starts_with_a_letter_even_when_the_job_does_not(self) -> None:
        name = names.service_name("7b-model")
        assert name[0].isalpha()
        assert names.is_label(name)
        assert name != names.service_name("7c-model")

    @given(SUBDOMAIN)
    def test_any_job_name_gives_a_dns1035_label(self, job: str) -> None:
        name = names.service_name(job)
        assert names.is_label(name)
        assert name[0].isalpha()


class TestLabelValue:
    def test_keeps_a_valid_value(self) -> None:
        assert names.label_value("tx-rockdale-1") == "tx-rockdale-1"

    def test_shortens_a_long_value_with_a_hash(self) -> None:
        long = "a" * 100
        value = names.label_value(long)
        assert len(value) <= 63
        assert value != names.label_value("a" * 99)

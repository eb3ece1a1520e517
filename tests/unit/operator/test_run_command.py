"""`cango-operator run`: flags become options, bad ones are refused naming the flag."""

from __future__ import annotations

import pytest

from cango_operator.builders import GatewayRef
from cango_operator.cli import build_parser
from cango_operator.commands.run import default_priority, options_from
from cango_operator.errors import ConfigError
from cango_operator.operator.options import OperatorOptions
from cango_operator.operator.runner import improvement_budget, planner_with
from cango_operator.placement import OFF, plan
from tests.unit.placement.test_improvement import fragmenting_fleet


def parse(*argv: str) -> OperatorOptions:
    args = ["run", *argv]
    return options_from(build_parser(args).parse_args(args))


class TestDefaults:
    def test_all_namespaces_peering_and_the_charts_ports(self) -> None:
        options = parse()
        assert options.clusterwide
        assert options.peering == "cango-operator"
        assert options.liveness == "http://0.0.0.0:8080/healthz"
        assert options.metrics_port == 9090

    def test_an_older_instance_outranks_a_newer_one(self) -> None:
        older = default_priority()
        newer = default_priority()
        assert older >= newer - 999  # same millisecond: only the random tie-breaker differs
        assert parse().priority != parse().priority


class TestFlags:
    def test_namespaces_standalone_priority_and_no_probe(self) -> None:
        options = parse(
            "-n",
            "a",
            "-n",
            "b",
            "--standalone",
            "--priority",
            "7",
            "--liveness",
            "none",
            "--metrics-port",
            "0",
        )
        assert options.namespaces == ("a", "b")
        assert not options.clusterwide
        assert options.standalone
        assert options.priority == 7
        assert options.liveness is None
        assert options.metrics_port is None

    @pytest.mark.parametrize(
        ("argv", "named"),
        [
            (["--metrics-port", "70000"], "--metrics-port"),
            (["--peering-lifetime", "1"], "--peering-lifetime"),
            (["--node-stale-seconds", "0"], "--node-stale-seconds"),
            (["--liveness", "tcp://x"], "--liveness"),
            (["--node-stale-seconds", "20", "--peering-lifetime", "15"], "--node-stale-seconds"),
            (["--improvement-max-pairs", "-1"], "--improvement-max-pairs"),
            (["--gateway", "inference"], "--gateway"),
        ],
    )
    def test_bad_values_are_refused_naming_the_flag(self, argv: list[str], named: str) -> None:
        with pytest.raises(ConfigError, match=named):
            parse(*argv)

    def test_no_gateway_unless_told_then_namespace_slash_name(self) -> None:
        assert parse().gateway is None
        assert parse("--gateway", "gateway-system/inference").gateway == GatewayRef(
            "gateway-system", "inference"
        )

    def test_namespace_and_all_namespaces_exclude_each_other(self) -> None:
        with pytest.raises(SystemExit):
            parse("-n", "a", "-A")


class TestImprovementBudget:
    """``--improvement-max-pairs``: the engine's own limit unless told; 0 is the greedy
    plan alone, which the round's planning function then makes."""

    def test_the_engine_default_unless_told(self) -> None:
        assert parse().improvement_max_pairs is None
        assert parse("--improvement-max-pairs", "0").improvement_max_pairs == 0

    def test_zero_plans_with_the_greedy_alone(self) -> None:
        snapshot = fragmenting_fleet()
        greedy = planner_with(improvement_budget(0))(snapshot)
        default = planner_with(improvement_budget(None))(snapshot)
        assert greedy == plan(snapshot, budget=OFF)
        assert default == plan(snapshot)
        assert greedy != default

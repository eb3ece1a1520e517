"""The gateway's data plane: a real Envoy, configured from a gateway model through the
files the controller writes, in front of real fake-model-server processes on loopback
(two sites in north-america, one in europe).

A request without a valid key gets 401 and never reaches a replica; a valid key reaches
one, which sees the key's client and not the key; over the limit, 429 with Retry-After;
a request goes to its region's replicas; when a region's site dies, requests move to the
others with none lost; a route whose keys cannot be read refuses everything; with its
endpoint picker away a route serves or refuses as its pool's failureMode says; a change
of routes reaches Envoy even when it reads the files out of order or misses one.
"""

from __future__ import annotations

import http.client
import ssl
import stat
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from cango_operator.devcluster.modelservers import ModelServers, PodAddress
from cango_operator.gateway.applied import AppliedCheck, admin_stats
from cango_operator.gateway.files import ConfigFiles
from cango_operator.gateway.model import ApiKey, Certificate, Limit, Picker, Route
from tests.gateway.harness import (
    EnvoyGateway,
    backends,
    https_request,
    request,
    running_gateway,
    self_signed_certificate,
)
from tests.loopback import free_port

NA, EU = "north-america", "europe"
REGIONS = {"tx-1": NA, "tx-2": NA, "de-1": EU}
PODS = [
    PodAddress("127.20.1.2", 8000, "tx-1"),
    PodAddress("127.20.1.3", 8000, "tx-1"),
    PodAddress("127.20.2.2", 8000, "tx-2"),
    PodAddress("127.20.3.2", 8000, "de-1"),
    PodAddress("127.20.3.3", 8000, "de-1"),
]
#: The failover test's own replicas (it kills some), beside the shared ones.
OWN_PODS = [PodAddress(p.ip.replace("127.20.", "127.21.", 1), p.port, p.site) for p in PODS]
KEYS = (ApiKey("alice", "sk-alice-1"), ApiKey("bob", "sk-bob-1"))


def a_route(**changes: object) -> Route:
    fields: dict[str, object] = {
        "namespace": "acme",
        "name": "chat",
        "path": "/v1",
        "client_region": NA,
        "backends": backends(PODS, REGIONS),
        "keys": KEYS,
    }
    fields.update(changes)
    return Route(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EnvoyGateway]:
    """One Envoy and one set of replicas for the tests that kill nothing."""
    running = ModelServers()
    running.serve(PODS)
    try:
        with running_gateway(tmp_path_factory.mktemp("envoy"), [a_route()]) as started:
            yield started
    finally:
        running.stop()


@pytest.fixture
def gateway(shared: EnvoyGateway) -> EnvoyGateway:
    """The shared Envoy, serving the default route again (a test may have changed it)."""
    shared.serve(a_route())
    return shared


@pytest.fixture
def servers(model_servers: ModelServers) -> ModelServers:
    model_servers.serve(OWN_PODS)
    return model_servers


@pytest.fixture
def own_gateway(tmp_path: Path, servers: ModelServers) -> Iterator[EnvoyGateway]:
    """An Envoy and replicas of the test's own, which it may kill."""
    own = a_route(backends=backends(OWN_PODS, REGIONS))
    with running_gateway(tmp_path, [own]) as started:
        yield started


class TestApiKeys:
    def test_no_key_or_a_wrong_one_is_refused_with_401_before_any_replica(
        self, gateway: EnvoyGateway
    ) -> None:
        for key in (None, "sk-wrong", "sk-alice"):
            answer = request(gateway.port, key=key)
            assert answer.status == 401, key
            assert answer.served_by == ""

    def test_a_valid_key_reaches_a_replica_which_sees_its_client_not_the_key(
        self, gateway: EnvoyGateway
    ) -> None:
        answer = request(gateway.port, key="sk-bob-1")
        assert answer.status == 200
        assert answer.headers["x-seen-client"] == "bob"
        assert answer.headers["x-seen-authorization"] == "false"

    def test_an_open_route_needs_no_key(self, gateway: EnvoyGateway) -> None:
        gateway.serve(a_route(keys=None))
        assert request(gateway.port).status == 200

    def test_a_route_whose_keys_cannot_be_read_refuses_everything(
        self, gateway: EnvoyGateway
    ) -> None:
        gateway.serve(a_route(keys=(), closed="the Secret chat-keys is missing"))
        assert request(gateway.port, key="sk-alice-1").status == 401
        assert request(gateway.port).status == 401

    def test_rotating_a_key_takes_effect_without_a_restart(self, gateway: EnvoyGateway) -> None:
        gateway.serve(a_route(keys=(ApiKey("alice", "sk-alice-2"), KEYS[1])))
        assert request(gateway.port, key="sk-alice-2").status == 200
        assert request(gateway.port, key="sk-alice-1").status == 401


class TestRateLimits:
    def test_over_the_limit_a_key_gets_429_with_retry_after_and_others_do_not(
        self, gateway: EnvoyGateway
    ) -> None:
        gateway.serve(a_route(limit=Limit(per_second=1, burst=3)))
        statuses = [request(gateway.port, key="sk-alice-1").status for _ in range(3)]
        refused = request(gateway.port, key="sk-alice-1")
        assert statuses == [200, 200, 200]
        assert refused.status == 429
        assert refused.headers["retry-after"] == "1"
        assert request(gateway.port, key="sk-bob-1").status == 200  # its own bucket
        time.sleep(1.2)
        assert request(gateway.port, key="sk-alice-1").status == 200  # refilled

    def test_without_keys_the_limit_is_the_whole_endpoints(self, gateway: EnvoyGateway) -> None:
        gateway.serve(a_route(keys=None, limit=Limit(per_second=1, burst=2)))
        statuses = [request(gateway.port).status for _ in range(3)]
        assert statuses == [200, 200, 429]


class TestRegions:
    def test_requests_go_to_the_replicas_in_the_jobs_client_region(
        self, gateway: EnvoyGateway
    ) -> None:
        sites = Counter(request(gateway.port, key="sk-alice-1").site for _ in range(30))
        assert set(sites) == {"tx-1", "tx-2"}  # both north-american sites, never de-1

    def test_a_request_naming_its_region_goes_there(self, gateway: EnvoyGateway) -> None:
        sites = {request(gateway.port, key="sk-alice-1", region=EU).site for _ in range(20)}
        assert sites == {"de-1"}

    def test_paths_match_whole_segments(self, gateway: EnvoyGateway) -> None:
        assert request(gateway.port, "/v1/completions", key="sk-alice-1").status == 200
        assert request(gateway.port, "/v1x/completions", key="sk-alice-1").status == 404


class TestFailover:
    def test_when_a_regions_sites_die_under_load_requests_move_with_none_lost(
        self, own_gateway: EnvoyGateway, servers: ModelServers
    ) -> None:
        results: list[tuple[float, int, str]] = []
        stop = threading.Event()
        lock = threading.Lock()

        def client() -> None:
            for _ in range(20_000):  # bounded; the test stops it after 4 s
                if stop.is_set():
                    return
                try:
                    answer = request(own_gateway.port, key="sk-alice-1", timeout=5)
                    outcome = (time.monotonic(), answer.status, answer.site or str(answer.body))
                except OSError as exc:
                    outcome = (time.monotonic(), 0, type(exc).__name__)
                with lock:
                    results.append(outcome)

        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        time.sleep(1.0)
        killed_at = time.monotonic()
        servers.kill_site("tx-1")
        servers.kill_site("tx-2")
        time.sleep(3.0)
        stop.set()
        for thread in threads:
            thread.join(timeout=20)

        before = [r for r in results if r[0] < killed_at]
        after = [r for r in results if r[0] >= killed_at]
        failed = [r for r in results if r[1] != 200]
        assert before and {r[2] for r in before} <= {"tx-1", "tx-2"}
        assert not failed, f"{len(failed)} of {len(results)} requests failed: {failed[:5]}"
        assert after and after[-1][2] == "de-1"
        assert {r[2] for r in after[len(after) // 2 :]} == {"de-1"}


class TestAPickerAway:
    """A pool's endpoint picker that does not answer: the pool's failureMode says."""

    @pytest.mark.parametrize(("fail_open", "status"), [(True, 200), (False, 503)])
    def test_requests_are_served_without_it_or_refused_as_the_pool_says(
        self, gateway: EnvoyGateway, fail_open: bool, status: int
    ) -> None:
        away = Picker("127.0.0.1", free_port(), fail_open=fail_open)
        gateway.apply([a_route(picker=away)])
        gateway.wait_applied()
        before = gateway.stat("http.gateway.ext_proc.failure_mode_allowed")
        statuses = [request(gateway.port, key="sk-alice-1").status for _ in range(5)]
        assert statuses == [status] * 5
        allowed = gateway.stat("http.gateway.ext_proc.failure_mode_allowed") - before
        # Failing open, each request tried the picker and went on without it.
        assert allowed == (5 if fail_open else 0)


class TestHttps:
    def test_an_https_listener_serves_with_its_certificate_and_nothing_in_the_clear(
        self, shared: EnvoyGateway, tmp_path: Path
    ) -> None:
        certificate, key = self_signed_certificate()
        with running_gateway(tmp_path, [a_route(keys=None)], Certificate(certificate, key)) as gw:
            assert https_request(gw.port, certificate).status == 200
            # No plain HTTP on the port, and no other certificate than its own.
            with pytest.raises((OSError, http.client.HTTPException)):
                request(gw.port)
            stranger, _ = self_signed_certificate()
            with pytest.raises(ssl.SSLError):
                https_request(gw.port, stranger)
            # The key is in Envoy's listener file, which only its owner may read.
            assert stat.S_IMODE((tmp_path / "lds.yaml").stat().st_mode) == 0o600


class UnseenFiles(ConfigFiles):
    """Writes its files in place, not moved in: Envoy, which reads a file when one is
    moved into its directory, does not see them (as a move it missed); once ``unseen``
    is off, it moves them in as the gateway does."""

    unseen = True

    def _move_in(self, name: str, text: str, version: str) -> None:
        if not self.unseen:
            super()._move_in(name, text, version)
            return
        (self.directory / name).write_text(text)
        self._written[name] = text
        self._versions[name] = version
        self.delivered[name] = time.monotonic()


class TestUpdates:
    """How a change of routes reaches the running Envoy."""

    @pytest.fixture
    def empty(self, tmp_path: Path, servers: ModelServers) -> Iterator[EnvoyGateway]:
        """An Envoy serving no route yet, and the test's own replicas."""
        with running_gateway(tmp_path, []) as started:
            yield started

    def test_a_listener_naming_clusters_envoy_has_not_yet_is_taken_and_serves_once_they_come(
        self, empty: EnvoyGateway
    ) -> None:
        # Envoy reads the files moved in while it was busy in no fixed order: it may read
        # the new listener before the clusters it names. Refused then, it stayed on no
        # route until the next change (as the chart's gateway did on a loaded node).
        route = a_route(backends=backends(OWN_PODS, REGIONS))
        wanted = empty.files_for([route])
        files = ConfigFiles(empty.directory)
        files.write({"lds.yaml": wanted["lds.yaml"]})  # the listener alone, first
        empty.wait_applied(files, ["lds.yaml"])  # taken, not refused
        assert request(empty.port, key="sk-alice-1").status == 503  # routed; no cluster yet
        files.write(wanted)  # the clusters follow
        empty.wait_healthy(endpoints=len(OWN_PODS))
        assert request(empty.port, key="sk-alice-1").status == 200

    def test_a_file_envoy_has_not_applied_is_moved_in_again(self, empty: EnvoyGateway) -> None:
        route = a_route(backends=backends(OWN_PODS, REGIONS))
        files = UnseenFiles(empty.directory)
        files.write(empty.files_for([route]))
        time.sleep(0.5)
        assert request(empty.port, key="sk-alice-1").status == 404  # Envoy did not see it
        check = AppliedCheck(files, admin_stats(("127.0.0.1", empty.admin_port)), grace=0)
        files.unseen = False
        assert check.check() == ["cds.yaml", "lds.yaml"]
        empty.wait_healthy(endpoints=len(OWN_PODS))
        assert request(empty.port, key="sk-alice-1").status == 200
        assert check.check() == []  # applied: nothing more to move

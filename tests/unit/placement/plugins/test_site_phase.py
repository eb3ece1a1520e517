"""SitePhase: Ready and Degraded sites take work; Curtailed, Offline, Unknown and missing
sites do not."""

from cango_operator.placement.plugins.site_phase import SitePhaseFilter
from tests.unit.placement.fleet import job, node, site
from tests.unit.placement.plugins.harness import bench


def test_each_phase_that_takes_no_work_is_named() -> None:
    b = bench(
        [
            site("ready"),
            site("degraded", phase="Degraded"),
            site("curtailed", phase="Curtailed"),
            site("offline", phase="Offline"),
            site("unknown", phase="Unknown"),
        ],
        [
            node("n-ready", "ready"),
            node("n-degraded", "degraded"),
            node("n-curtailed", "curtailed"),
            node("n-offline", "offline"),
            node("n-unknown", "unknown"),
            node("n-nowhere", "no-such-site"),
        ],
        job("j"),
    )
    result = SitePhaseFilter().filter(b.turn.arrays, b.fleet, b.all_nodes)
    assert b.rejected(result) == {
        "site Curtailed": ["n-curtailed"],
        "site Offline": ["n-offline"],
        "site Unknown": ["n-unknown"],
        "site not found": ["n-nowhere"],
    }

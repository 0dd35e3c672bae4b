"""The sweeper greenlet: sweeps every third of a lease, stops when closed or when its target is gone."""

import gc
from types import SimpleNamespace

import gevent

from askservice.services.run_sweeper import Sweeper


class Target:
    def __init__(self):
        self.settings = SimpleNamespace(run_lease_seconds=0.6)  # a sweep every ~0.2 s
        self.sweeps = 0

    def sweep(self) -> int:
        self.sweeps += 1
        if self.sweeps == 2:
            raise RuntimeError("a store hiccup")  # logged; the sweeper carries on
        return 0


def _wait(check, timeout: float = 5.0) -> None:
    with gevent.Timeout(timeout):
        while not check():
            gevent.sleep(0.02)


def test_sweeps_until_closed_and_survives_a_failing_sweep(caplog):
    target = Target()
    sweeper = Sweeper(target)
    sweeper.ensure()
    sweeper.ensure()  # once only
    _wait(lambda: target.sweeps >= 3)
    sweeper.close()
    _wait(lambda: not sweeper._thread.is_alive())
    assert "run sweep failed" in caplog.text
    sweeper.ensure()
    assert not sweeper._thread.is_alive()  # closed stays closed


def test_a_dropped_target_takes_its_sweeper_along():
    target = Target()
    sweeper = Sweeper(target)
    sweeper.ensure()
    _wait(lambda: target.sweeps >= 1)
    del target
    gc.collect()
    _wait(lambda: not sweeper._thread.is_alive())

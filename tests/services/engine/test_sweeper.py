"""The sweeper greenlet: calls every sweep each period, survives a failing one, stops when closed or orphaned."""

import gc

import gevent

from askservice.services.engine.sweeper import Sweeper


class Target:
    def __init__(self, fail_at: int | None = None):
        self.sweeps = 0
        self.fail_at = fail_at

    def sweep(self) -> int:
        self.sweeps += 1
        if self.sweeps == self.fail_at:
            raise RuntimeError("a store hiccup")  # logged; the sweeper carries on
        return 0


def _wait(check, timeout: float = 5.0) -> None:
    with gevent.Timeout(timeout):
        while not check():
            gevent.sleep(0.02)


def test_sweeps_every_target_until_closed_and_survives_a_failing_sweep(caplog):
    runs, ingestion = Target(fail_at=2), Target()
    sweeper = Sweeper(0.2, [runs.sweep, ingestion.sweep])
    sweeper.ensure()
    sweeper.ensure()  # once only
    _wait(lambda: runs.sweeps >= 3 and ingestion.sweeps >= 3)
    sweeper.close()
    _wait(lambda: not sweeper._thread.is_alive())
    assert "a store hiccup" in caplog.text and "Target.sweep failed" in caplog.text
    sweeper.ensure()
    assert not sweeper._thread.is_alive()  # closed stays closed


def test_dropped_targets_take_their_sweeper_along():
    target = Target()
    sweeper = Sweeper(0.2, [target.sweep])
    sweeper.ensure()
    _wait(lambda: target.sweeps >= 1)
    del target
    gc.collect()
    _wait(lambda: not sweeper._thread.is_alive())

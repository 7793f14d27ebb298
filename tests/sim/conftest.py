"""Simulation tests: franky-sim (MuJoCo) serving the real libfranka protocol in-process.

Each world binds its own free 127.x.y.z loopback address (ports 1337/1338 are fixed by the
protocol), so these tests run beside other simulators on the machine. Cameras render at 320×240.
"""

import pytest

pytest.importorskip("franky_sim", reason="franky-sim not installed (pip install -e '.[sim]')")
pytest.importorskip("franky", reason="franky-control not installed (pip install -e '.[sim]')")

from realvlg.sim.common import CameraConfig
from realvlg.sim.fr3_world import FR3World, FR3WorldConfig, free_loopback_address  # noqa: E402

TEST_CAMERA = CameraConfig(width=320, height=240)


def make_world(placements, **kw) -> FR3World:
    return FR3World(placements, FR3WorldConfig(hostname=free_loopback_address(), camera=TEST_CAMERA, **kw))


def _factory():
    worlds = []

    def start(placements, settle_s: float = 0.3, **kw) -> FR3World:
        w = make_world(placements, **kw)
        worlds.append(w)
        return w.start(settle_s=settle_s)

    return start, worlds


@pytest.fixture
def world_factory():
    """Start worlds on free loopback addresses; stop them all after the test."""
    start, worlds = _factory()
    yield start
    for w in worlds:
        w.stop()


@pytest.fixture(scope="module")
def module_world_factory():
    """As ``world_factory``, the worlds living until the test module ends."""
    start, worlds = _factory()
    yield start
    for w in worlds:
        w.stop()

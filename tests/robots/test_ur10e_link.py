"""The UR10e's link supervision at its command layer: LinkMonitor over UR10eShadowExecutor over
RTDEBackend over the recording RTDE stand-in (tests/robots/rtde_standin.py). A protective stop or
a dropped connection at standstill — ur_rtde keeps answering reads then — makes the link
unreachable with the reason while the state still reads; reconnects wait for the stop to be
cleared (no new connection per retry) and bring the link back; the next motion runs. A fake
clock, no timing."""

import threading

import numpy as np

from realvlg.robots.link import LinkMonitor
from realvlg.robots.ur10e_shadow import UR10eShadowConfig, UR10eShadowExecutor
from realvlg.robots.ur10e_shadow.config_ur10e_shadow import RTDEConfig
from realvlg.robots.ur10e_shadow.kinematics import UR10E_READY_Q
from realvlg.robots.ur10e_shadow.rtde import RTDEBackend

from rtde_standin import NORMAL_MODE, ControllerState, standin_factory

HOME = np.array(UR10E_READY_Q)
CONFIG = UR10eShadowConfig(rtde=RTDEConfig(host="ur10e.test", poll_period=0.001, settle_time=0.05),
                           preshape_duration=0.0, close_duration=0.0, close_settle=0.0, open_duration=0.0)


class Clock:
    def __init__(self):
        self.t = 10.0

    def __call__(self):
        return self.t


def monitored():
    """A connected UR10e executor on the stand-in and its link monitor (retry every 1 s, fake clock)."""
    state, clock = ControllerState(HOME), Clock()
    robot = UR10eShadowExecutor(CONFIG, RTDEBackend(CONFIG, lambda fingers: 0.0, interfaces=standin_factory(state)))
    robot.connect()
    return robot, state, clock, LinkMonitor(robot, threading.Lock(), retry_period=1.0, clock=clock)


def connects(state):
    return sum(1 for c in state.commands if c[0] == "setTcp")


def test_a_protective_stop_at_standstill_is_reported_and_cleared_by_a_reconnect():
    robot, state, clock, link = monitored()
    assert link.poll() is not None and link.status.reachable
    state.safety_bits = 1 << 2 | 1 << 10        # protective stop, stopped due to safety
    reading = link.poll()
    assert reading is not None                    # the state still reads: joint states go on
    assert not link.status.reachable and link.status.losses == 1
    assert "protective stop" in link.status.message and link.status.message.startswith("robot not reachable")
    assert "still in protective stop" in link.status.message   # the reconnect was refused, no new connection
    assert connects(state) == 1
    clock.t += 1.5
    link.poll()
    assert not link.status.reachable and connects(state) == 1
    state.safety_bits = NORMAL_MODE               # cleared on the teach pendant
    clock.t += 1.0                                # the fault stays latched until a new connection
    link.poll()
    assert link.status.reachable and link.status.message == "reconnected to the robot"
    assert connects(state) == 2 and link.status.reconnects == 1 and robot.fault() == ""
    robot.backend.move_joints((HOME + 0.1)[None], 1.0)
    assert state.commands[-1][0] == "moveJ"


def test_a_dropped_connection_is_reported_and_the_link_comes_back():
    robot, state, clock, link = monitored()
    state.connected = False                       # ur_rtde: reads answer the last values, isConnected is False
    assert link.poll() is not None
    assert not link.status.reachable and "lost the connection" in link.status.message
    clock.t += 1.5
    state.connected = True
    link.poll()
    assert link.status.reachable and link.status.reconnects == 1


def test_a_read_that_fails_is_reported_and_retried_until_the_controller_answers():
    robot, state, clock, link = monitored()
    state.raise_on_read = True                    # RTDE receive: Broken pipe
    assert link.poll() is None
    assert not link.status.reachable and "Broken pipe" in link.status.message
    clock.t += 0.5
    link.poll()                                   # within the retry period: no new connection
    assert connects(state) == 2                   # the first retry rebuilt the interfaces (and failed)
    state.raise_on_read = False
    clock.t += 1.0
    assert link.poll() is not None
    assert link.status.reachable and link.status.losses == 1

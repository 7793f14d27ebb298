"""The franky executor against franky-sim over the real libfranka protocol."""

import math
import os
import pathlib
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.frames import FR3_BASE_FRAME
from realvlg.geometry.grasps import Grasp6D
from realvlg.objects import OBJECTS, ground_truth_grasp
from realvlg.robots.executor import RobotConnectionError, RobotUnreachableError
from realvlg.robots.franka.config_franka import FrankaConfig
from realvlg.robots.franka.franka import FrankaExecutor, ee_target
from realvlg.sim.common import Placement
from realvlg.sim.fr3_world import FINGER_BODIES, free_loopback_address
from realvlg.sim.scenes import generate_scene

pytestmark = pytest.mark.sim


@pytest.fixture
def executor_for():
    executors = []

    def connect(world, **kw) -> FrankaExecutor:
        ex = FrankaExecutor(FrankaConfig(address=world.hostname, **kw))
        ex.connect()
        executors.append(ex)
        return ex

    yield connect
    for ex in executors:
        ex.disconnect()


def fingertip_pads(world):
    """World positions of the two big fingertip pads (left, right)."""
    m, d = world.model, world.snapshot()
    import mujoco

    out = []
    for body in FINGER_BODIES:
        b = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, body)
        pad = [g for g in range(m.ngeom) if m.geom_bodyid[g] == b and m.geom_type[g] == mujoco.mjtGeom.mjGEOM_BOX
               and np.allclose(m.geom_size[g], (0.0085, 0.004, 0.0085))]
        assert len(pad) == 1
        out.append(d.geom_xpos[pad[0]].copy())
    return out


def test_grasp_frame_is_franky_tcp_between_the_fingertips(world_factory, executor_for):
    """A Grasp6D sent as the ee target puts the fingertip pads' midpoint on the grasp position
    and the fingers on the closing line, for a yawed and a tilted grasp."""
    world = world_factory([])
    ex = executor_for(world)
    for closing, approach in (((math.cos(0.7), math.sin(0.7), 0), (0, 0, -1)),
                              ((0, 1, 0), (math.sin(0.4), 0, -math.cos(0.4)))):
        g = Grasp6D.from_axes((0.45, -0.05, 0.2), approach, closing, 0.04, frame=FR3_BASE_FRAME)
        ex.move_to(ee_target(g, ex.current_pose()[:3, :3]))
        world.wait(0.2)
        left, right = fingertip_pads(world)
        np.testing.assert_allclose((left + right) / 2, g.position, atol=3e-3)
        line = (right - left) / np.linalg.norm(right - left)
        assert abs(line @ g.closing) > 0.999
        np.testing.assert_allclose(ex.current_pose()[:3, 3], g.position, atol=2e-3)


@pytest.mark.parametrize("name, part, seed", [("mug", "handle", 1), ("banana", None, 2),
                                              ("marker", None, 3), ("apple", None, 4)])
def test_ground_truth_grasp_lifts_and_holds(world_factory, executor_for, name, part, seed):
    scene = generate_scene("single", seed, [name])
    world = world_factory(scene.placements)
    ex = executor_for(world)
    grasp = ground_truth_grasp(OBJECTS[name], world.object_pose(name), part)
    result = ex.grasp(grasp)
    assert result.success, result.reason
    assert result.stage == "done" and result.retries == 0
    assert ex.is_holding()
    check = world.check_grasp(name)  # ≥ 5 cm up and still held 2 s later
    assert check.success, check
    assert check.height_gain > 0.05


def test_grasping_air_reports_why(world_factory, executor_for):
    world = world_factory([Placement("orange", 0.5, 0.2)])
    ex = executor_for(world)
    g = Grasp6D.from_axes((0.45, -0.1, 0.03), (0, 0, -1), (0, 1, 0), 0.03, frame=FR3_BASE_FRAME)
    result = ex.grasp(g)
    assert not result.success and result.stage == "check"
    assert "closed on nothing" in result.reason
    assert not ex.is_holding()
    assert not world.check_grasp("orange", hold_s=0.1).success


def test_refused_targets_do_not_move_the_robot(world_factory, executor_for):
    world = world_factory([Placement("apple", 0.45, 0.0)])
    ex = executor_for(world)
    world.wait(0.3)
    q0, width0 = world.joint_positions(), ex.gripper_width()
    down = Rotation.from_matrix(np.diag([1.0, -1.0, -1.0]))
    bad = {
        "outside the workspace box": Grasp6D((1.2, 0.0, 0.05), down, 0.03, frame=FR3_BASE_FRAME),
        "approach points up": Grasp6D.from_axes((0.45, 0, 0.05), (0, 0.2, 1), (0, 1, 0), 0.03, frame=FR3_BASE_FRAME),
        "exceeds the gripper's maximum opening": Grasp6D((0.45, 0.0, 0.03), down, 0.09, frame=FR3_BASE_FRAME),
        "pre-grasp position": Grasp6D((0.45, 0.0, 0.65), down, 0.03, frame=FR3_BASE_FRAME),
        "frame 'camera_color_optical_frame'": Grasp6D((0.45, 0.0, 0.03), down, 0.03),
    }
    for reason, grasp in bad.items():
        with pytest.raises(GraspRefusedError, match=reason):
            ex.grasp(grasp)
    with pytest.raises(InvalidInputError, match="finite"):  # a NaN width cannot even be a grasp
        ex.grasp(Grasp6D((0.45, 0.0, 0.03), down, float("nan"), frame=FR3_BASE_FRAME))
    with pytest.raises(GraspRefusedError, match="outside the workspace"):
        ex.move_to(np.diag([1.0, -1.0, -1.0, 1.0]) + np.pad(np.array([[0, 0, 0, 0.05]]), ((0, 3), (0, 0))))
    world.wait(0.5)
    np.testing.assert_allclose(world.joint_positions(), q0, atol=1e-3)
    assert ex.gripper_width() == pytest.approx(width0, abs=1e-4)
    assert np.linalg.norm(world.object_pose("apple")[:3, 3] - (0.45, 0, 0)) < 2e-3


def test_unreachable_robot_is_a_clear_error():
    address = free_loopback_address()
    with pytest.raises(RobotUnreachableError, match=f"cannot reach the Franka robot at {address}"):
        FrankaExecutor(FrankaConfig(address=address)).connect()


def test_reflex_is_recovered_and_retried_once(world_factory, executor_for):
    """A reflex during the pre-grasp motion (injected: the Move command is aborted over the real
    protocol as a robot reflex would) → recover_from_errors(), retry at reduced dynamics, grasp."""
    world = world_factory([Placement("apple", 0.45, 0.05)])
    ex = executor_for(world)
    world.inject_reflex(after_s=1.5)
    result = ex.grasp(ground_truth_grasp(OBJECTS["apple"], world.object_pose("apple")))
    assert world.reflexes_injected == 1
    assert result.success and result.retries == 1, result


def test_second_reflex_aborts_with_the_reason(world_factory, executor_for):
    world = world_factory([Placement("apple", 0.45, 0.05)])
    ex = executor_for(world)
    world.inject_reflex(after_s=0.0)
    ex.home()  # first reflex: retried inside home(), which then finishes
    assert world.reflexes_injected == 1
    world.inject_reflex(after_s=0.0)
    import threading

    def reinject():  # a second reflex right after the first one
        while world.reflexes_injected < 2:
            world.wait(0.005)
        world.inject_reflex(after_s=0.0)

    t = threading.Thread(target=reinject, daemon=True)
    t.start()
    result = ex.grasp(ground_truth_grasp(OBJECTS["apple"], world.object_pose("apple")))
    t.join(timeout=5)
    assert not result.success and result.stage == "home" and result.retries == 1
    assert "home failed twice with a control error" in result.reason and "reflex" in result.reason
    assert world.check_grasp("apple", hold_s=0.0).height_gain < 1e-3  # never touched


def test_simulator_killed_mid_motion_is_a_connection_error(world_factory, executor_for):
    import threading

    world = world_factory([])
    ex = executor_for(world)
    g = Grasp6D.from_axes((0.5, -0.1, 0.03), (0, 0, -1), (0, 1, 0), 0.03, frame=FR3_BASE_FRAME)
    killer = threading.Timer(0.5, world.stop)
    killer.start()
    with pytest.raises(RobotConnectionError, match="lost the connection to the robot"):
        ex.grasp(g)
    killer.join()


def test_a_client_frozen_mid_motion_has_the_motion_aborted_then_retried(world_factory):
    """The FCI's command watchdog (FR3WorldConfig.command_timeout): a client that sends no command
    for 2 s mid-motion (frozen here; a starved process on a loaded machine) gets the motion
    aborted as a reflex, then recovers and retries it. Without the watchdog, franky-sim let such a
    client resume from franky's extrapolated state: the arm ran past its joint limits and every
    later motion's plan failed (Ruckig -101/-110, CI once)."""
    world = world_factory([])
    peer = subprocess.Popen([sys.executable, str(pathlib.Path(__file__).with_name("peers") / "franka_client.py"),
                             world.hostname], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert peer.stdout.readline().strip() == "READY"
        peer.stdin.write("move\n")
        peer.stdin.flush()
        time.sleep(0.3)                       # the arm is moving
        os.kill(peer.pid, signal.SIGSTOP)
        time.sleep(3.0)
        os.kill(peer.pid, signal.SIGCONT)
        moved = peer.stdout.readline().strip()
        peer.stdin.write("home\n")
        peer.stdin.flush()
        homed = peer.stdout.readline().strip()
    finally:
        peer.kill()
        peer.wait()
    assert world.commands_timed_out == 1
    assert (moved, homed) == ("move ok", "home ok")

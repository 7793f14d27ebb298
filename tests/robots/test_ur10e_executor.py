"""The real UR10e + Shadow Hand path at its command layer: the shared grasp stages
(UR10eShadowExecutor) over RTDEBackend. No RTDE controller simulator exists on these machines: the
ur_rtde interfaces are a recording stand-in (tests/robots/rtde_standin.py) except in the first
test, which runs the real ur_rtde client against a host where no controller listens."""

import dataclasses
import math
import time

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.errors import GraspRefusedError
from realvlg.frames import TOOL0_T_PALM, UR_BASE_FRAME
from realvlg.geometry.grasps import DexGrasp
from realvlg.robots.executor import RobotConnectionError, RobotUnreachableError
from realvlg.robots.ur10e_shadow import UR10eShadowConfig, UR10eShadowExecutor
from realvlg.robots.ur10e_shadow.config_ur10e_shadow import UR10E_OBSERVATION_Q, RTDEConfig
from realvlg.robots.ur10e_shadow.kinematics import UR10E_READY_Q, forward_kinematics
from realvlg.robots.ur10e_shadow.rtde import (
    JointMove,
    LinearMove,
    RobotSafetyStopError,
    RTDEBackend,
    pose_to_rtde,
    safety_stop_reasons,
)
from realvlg.shadow_hand import SHADOW_JOINTS, SHADOW_LIMITS, THUMB_JOINTS

from rtde_standin import ControllerState, standin_factory

HOME = np.array(UR10E_READY_Q)
Q1 = HOME + [0.2, -0.1, 0.1, 0.0, 0.1, 0.3]
Q2 = HOME + [-0.3, 0.05, -0.1, 0.1, 0.0, -0.2]
Q3 = HOME + [0.1, 0.0, 0.0, 0.0, 0.0, 0.0]
RTDE = RTDEConfig(host="ur10e.test", poll_period=0.001, settle_time=0.05)
CONFIG = UR10eShadowConfig(rtde=RTDE, preshape_duration=0.0, close_duration=0.0, close_settle=0.0, open_duration=0.0)
# palm above a table, fingers along +x, palm facing down (its −y axis)
PALM = np.eye(4)
PALM[:3, :3] = np.column_stack([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
PALM[:3, 3] = [0.8, 0.2, 0.15]
FINGERS_MID = np.array([(SHADOW_LIMITS[j][0] + SHADOW_LIMITS[j][1]) / 2 for j in SHADOW_JOINTS])


def _robot(config=CONFIG, q0=HOME, **state_kw):
    """An RTDE backend on the stand-in, connected; its hand targets are logged as commands."""
    state = ControllerState(q0, **state_kw)
    hand = []

    def send_hand(fingers):
        hand.append(np.array(fingers))
        state.commands.append(("hand",))
        return 0.0

    backend = RTDEBackend(config, send_hand, interfaces=standin_factory(state))
    backend.connect()
    backend.hand_log = hand
    return backend, state


def _motions(state):
    return [c for c in state.commands if c[0] in ("moveJ", "moveL", "stopJ", "stopL")]


def test_real_ur_rtde_reports_an_unreachable_controller():
    config = dataclasses.replace(CONFIG, rtde=RTDEConfig(host="127.0.0.1"))
    robot = RTDEBackend(config, lambda fingers: 0.0)   # the real ur_rtde factory; nothing listens
    with pytest.raises(RobotUnreachableError, match="cannot reach the UR controller at 127.0.0.1"):
        robot.connect()
    with pytest.raises(RobotConnectionError, match="not connected"):
        robot.move_joints(HOME[None], 1.0)


def test_a_silent_controller_times_out_at_connect():
    state = ControllerState(HOME)
    slow = standin_factory(state)

    def silent(config):
        time.sleep(2.0)                                   # a host that drops packets
        return slow(config)

    config = dataclasses.replace(CONFIG, rtde=RTDEConfig(host="ur10e.test", connect_timeout=0.2))
    robot = RTDEBackend(config, lambda fingers: 0.0, interfaces=silent)
    start = time.monotonic()
    with pytest.raises(RobotUnreachableError, match="did not answer within 0.2 s"):
        robot.connect()
    assert time.monotonic() - start < 1.5 and state.commands == []


def test_connect_zeroes_the_tcp_and_move_joints_sends_exactly_one_moveJ():
    robot, state = _robot()
    assert state.commands == [("setTcp", [0.0] * 6)]
    assert robot.move_joints(Q1[None], 1.0) == ""
    assert _motions(state) == [("moveJ", Q1.tolist(), 0.5, 1.0, True)]
    assert np.allclose(robot.joint_positions(), Q1)
    assert np.allclose(robot.flange_pose(), forward_kinematics(Q1))


def test_speeds_and_accelerations_are_clamped_to_the_limits():
    robot, state = _robot()
    T = forward_kinematics(Q2)
    robot.run([JointMove(tuple(Q1), speed=5.0, acceleration=0.3), LinearMove(T, speed=2.0, acceleration=9.0)])
    assert _motions(state) == [("moveJ", Q1.tolist(), 1.05, 0.3, True),
                               ("moveL", pose_to_rtde(T), 0.1 * 2.5, 1.2, True)]
    assert np.allclose(robot.flange_pose(), T)


@pytest.mark.parametrize("motion, match", [
    (JointMove(tuple(HOME + [7.0, 0, 0, 0, 0, 0])), "joint limits"),
    (JointMove((0.0, float("nan"), 0.0, 0.0, 0.0, 0.0)), "6 finite angles"),
    (JointMove(tuple(HOME), speed=-0.1), "joint speed must be a positive number"),
    (JointMove(tuple(HOME + [0, 0.6, 0.4, 0, 0, 0])), "palm position is outside the workspace box"),  # under the table
    (LinearMove(np.eye(4)), "flange position is outside the workspace box"),
])
def test_refusals_send_no_motion(motion, match):
    robot, state = _robot()
    with pytest.raises(GraspRefusedError, match=match):
        robot.run([JointMove(tuple(Q1)), motion])      # a bad second target: not even the first is sent
    assert _motions(state) == []
    robot.move_joints(Q1[None], 1.0)                    # refusals do not fault the backend
    assert len(_motions(state)) == 1


def test_a_linear_target_beyond_reach_is_refused():
    robot, state = _robot()
    T = np.eye(4)
    T[:3, 3] = [1.25, 0.0, 0.9]
    with pytest.raises(GraspRefusedError, match="no UR10e IK solution"):
        robot.move_line(np.zeros((1, 6)), T, 1.0, True)
    assert _motions(state) == []


@pytest.mark.parametrize("event, error, match", [
    ("protective_stop", RobotSafetyStopError, "protective stop"),
    ("emergency_stop", RobotSafetyStopError, "emergency stop"),
    ("disconnect", RobotConnectionError, "lost the connection"),
    ("socket_error", RobotConnectionError, "lost the connection"),
    ("script_stopped", RobotConnectionError, "control script is not running"),
])
def test_a_stop_mid_sequence_ends_it_and_blocks_further_motion(event, error, match):
    robot, state = _robot()
    state.at_motion(1, event, after_polls=1)
    with pytest.raises(error, match=match):
        robot.run([JointMove(tuple(Q1)), JointMove(tuple(Q2)), JointMove(tuple(Q3))])
    sent = _motions(state)
    assert [c[0] for c in sent] == ["moveJ", "moveJ", "stopJ"]
    assert sent[1][1] == Q2.tolist() and sent[2] == ("stopJ", 2.0, False)
    with pytest.raises(RobotConnectionError, match="no further motion until reconnect"):
        robot.move_joints(Q3[None], 1.0)
    assert len(_motions(state)) == 3
    if event in ("protective_stop", "emergency_stop", "script_stopped"):
        assert robot.joint_positions().shape == (6,)             # the state stays readable


def test_reconnect_after_the_stop_is_cleared():
    robot, state = _robot()
    state.at_motion(0, "protective_stop")
    with pytest.raises(RobotSafetyStopError):
        robot.move_joints(Q1[None], 1.0)
    with pytest.raises(RobotSafetyStopError, match="protective stop"):
        robot.reconnect()                                # still stopped: refused at connect
    state.safety_bits = 1
    robot.reconnect()
    robot.move_joints(Q2[None], 1.0)
    assert _motions(state)[-1] == ("moveJ", Q2.tolist(), 0.5, 1.0, True)


def test_a_motion_that_never_ends_is_stopped_after_the_timeout():
    config = dataclasses.replace(CONFIG, rtde=RTDEConfig(host="ur10e.test", poll_period=0.001, motion_timeout=0.05))
    robot, state = _robot(config)
    state.at_motion(0, "never_ends")
    T = forward_kinematics(Q1)
    with pytest.raises(RobotConnectionError, match="did not finish within"):
        robot.move_line(Q1[None], T, 1.0, True)
    assert [c[0] for c in _motions(state)] == ["moveL", "stopL"]
    assert _motions(state)[-1] == ("stopL", 10.0, False)


def test_safety_status_bits_are_named():
    assert safety_stop_reasons(1) == []
    assert safety_stop_reasons(1 << 2 | 1 << 10) == ["protective stop", "stopped due to safety"]
    assert safety_stop_reasons(1 << 6) == ["robot emergency stop"]


def _grasp(T=PALM, joints=None, frame=UR_BASE_FRAME):
    return DexGrasp(T[:3, 3], Rotation.from_matrix(T[:3, :3]), FINGERS_MID if joints is None else joints, frame)


def _executor(config=CONFIG, **state_kw):
    backend, state = _robot(config, np.array(UR10E_OBSERVATION_Q), **state_kw)   # over the table, like a lab's home
    return UR10eShadowExecutor(config, backend), backend, state


def test_the_grasp_stages_send_preshape_pre_grasp_approach_close_lift_in_order():
    executor, backend, state = _executor()
    result = executor.grasp(_grasp())
    assert [c[0] for c in state.commands[1:]] == ["hand", "moveJ", "moveL", "hand", "moveL"]
    palm_T_tool0 = np.linalg.inv(TOOL0_T_PALM)
    pre = PALM.copy()
    pre[2, 3] += CONFIG.pre_grasp_offset                        # backed off away from the palm's face (palm −y = down)
    assert np.allclose(forward_kinematics(np.array(state.commands[2][1])), pre @ palm_T_tool0)
    assert state.commands[2][2:] == (0.5, 1.0, True)
    assert np.allclose(state.commands[3][1], pose_to_rtde(PALM @ palm_T_tool0))
    assert state.commands[3][2:] == (0.1, 0.5, True)
    lift = PALM.copy()
    lift[2, 3] += CONFIG.lift_height
    assert np.allclose(state.commands[5][1], pose_to_rtde(lift @ palm_T_tool0))
    # pre-shape: abductions as in the grasp, 20 % of the flexions; closing: `pinch_squeeze` rad past them
    # (FINGERS_MID is a pinch, thumb aperture 5.4 cm: the next test)
    hand = backend.hand_log
    spread = np.array([SHADOW_JOINTS.index(j) for j in ("FFJ3", "MFJ3", "RFJ3", "LFJ3", "LFJ4", "THJ4")])
    flex = SHADOW_JOINTS.index("FFJ2")
    assert np.allclose(hand[0][spread], FINGERS_MID[spread]) and hand[0][flex] == pytest.approx(0.2 * FINGERS_MID[flex])
    assert hand[1][flex] == pytest.approx(FINGERS_MID[flex] + CONFIG.pinch_squeeze)
    assert np.allclose(hand[1][spread], FINGERS_MID[spread])
    assert set(result.timings) == {"pre_grasp", "approach", "grasp", "lift"}
    assert result.success and result.holding is None          # the hand cannot tell: no hand sensing wired


@pytest.mark.parametrize("pinch_aperture, pinch", [(0.05, False), (0.06, True)])
def test_a_pinch_pre_shapes_the_thumb_fully_and_closes_the_fingers_gently_onto_it(pinch_aperture, pinch):
    config = dataclasses.replace(CONFIG, pinch_aperture=pinch_aperture)
    executor, backend, _ = _executor(config)
    assert executor.planner.collision.thumb_aperture(FINGERS_MID) == pytest.approx(0.0539, abs=1e-4)
    assert executor.grasp(_grasp()).success
    preshape, close = backend.hand_log
    flex = SHADOW_JOINTS.index("THJ3")                                  # the thumb's opposition
    if pinch:   # the thumb is the anvil: at its grasp joints from the start, never squeezed
        assert np.allclose(preshape[THUMB_JOINTS], FINGERS_MID[THUMB_JOINTS])
        assert np.allclose(close[THUMB_JOINTS], FINGERS_MID[THUMB_JOINTS])
    else:
        assert preshape[flex] == pytest.approx(0.2 * FINGERS_MID[flex])
        assert close[flex] == pytest.approx(FINGERS_MID[flex] + config.squeeze)
    index = SHADOW_JOINTS.index("FFJ2")                                 # the fingers close either way, less in a pinch
    assert preshape[index] == pytest.approx(0.2 * FINGERS_MID[index])
    assert close[index] == pytest.approx(FINGERS_MID[index] + (config.pinch_squeeze if pinch else config.squeeze))


def test_the_grasp_stops_before_closing_when_the_approach_is_stopped():
    executor, backend, state = _executor()
    state.at_motion(1, "protective_stop")
    with pytest.raises(RobotSafetyStopError):
        executor.grasp(_grasp())
    assert len(backend.hand_log) == 1                           # the pre-shape only: never closed
    assert [c[0] for c in _motions(state)] == ["moveJ", "moveL", "stopL"]


def test_refused_grasps_send_no_command():
    executor, backend, state = _executor()
    far = PALM.copy()
    far[:3, 3] = [1.2, 0.6, 0.8]                                 # inside the workspace box, beyond the arm
    upside = PALM.copy()
    upside[:3, :3] = Rotation.from_euler("x", math.pi).as_matrix() @ PALM[:3, :3]
    upside[2, 3] = 0.04                                          # the pre-grasp would go under the table
    bent = FINGERS_MID.copy()
    bent[SHADOW_JOINTS.index("THJ0")] = 0.5
    for grasp, match in ((_grasp(far), "reach"), (_grasp(upside), "outside the workspace"),
                         (_grasp(frame="camera_color_optical_frame"), "frame"),
                         (_grasp(joints=bent), "THJ0 = 0.500")):
        with pytest.raises(GraspRefusedError, match=match):
            executor.grasp(grasp)
    assert _motions(state) == [] and backend.hand_log == []


def test_the_stand_in_speaks_ur_rtde_method_names():
    import rtde_control
    import rtde_receive

    from rtde_standin import AsyncOperationStatus, StandInControl, StandInReceive

    for standin, real in ((StandInControl, rtde_control.RTDEControlInterface),
                          (StandInReceive, rtde_receive.RTDEReceiveInterface),
                          (AsyncOperationStatus, rtde_control.AsyncOperationStatus)):
        methods = [m for m in vars(standin) if not m.startswith("_")]
        assert methods and all(hasattr(real, m) for m in methods), (standin, methods)

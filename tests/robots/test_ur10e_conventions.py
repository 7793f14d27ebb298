"""The UR10e conventions pinned against references independent of the code under test.

A wrong convention here moves a real arm wrongly, and a consistent pair of wrong functions passes
any round-trip test (encode → decode, IK → FK). So:

* the pose format of ur_rtde (``[x, y, z, rx, ry, rz]``, a rotation vector: axis × angle in rad,
  in the controller's base frame) is checked against worked examples written out by hand, against
  a Rodrigues formula written here, and against scipy ``Rotation.as_rotvec`` — including what the
  RTDE backend actually sends to ``moveL`` and how it reads ``getActualTCPPose``. Single-axis
  examples alone would not catch roll-pitch-yaw (its numbers coincide there), so composed
  rotations are among them;
* the forward kinematics and the MuJoCo model are checked against a DH chain computed here from
  Universal Robots' published UR10e table (standard DH, literals below, not the module's table),
  with joint configurations whose tool0 pose is worked out by hand in UR's controller ``base``
  frame (ur_description's ``base_link`` is that frame turned π about z: there, x and y flip sign).
"""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.frames import UR_BASE_FRAME, UR_FLANGE_FRAME
from realvlg.robots.ur10e_shadow import UR10eShadowConfig
from realvlg.robots.ur10e_shadow.config_ur10e_shadow import RTDEConfig
from realvlg.robots.ur10e_shadow.kinematics import UR10E_DH, UR10E_READY_Q, forward_kinematics
from realvlg.robots.ur10e_shadow.rtde import LinearMove, RTDEBackend, pose_from_rtde, pose_to_rtde

from rtde_standin import ControllerState, StandInControl, StandInReceive

# -- UR10e DH parameters as Universal Robots publishes them (standard DH) -----------------------------
D1, A2, A3, D4, D5, D6 = 0.1807, -0.6127, -0.57155, 0.17415, 0.11985, 0.11655
PUBLISHED = [  # (d, a, alpha) per joint
    (D1, 0.0, math.pi / 2), (0.0, A2, 0.0), (0.0, A3, 0.0),
    (D4, 0.0, math.pi / 2), (D5, 0.0, -math.pi / 2), (D6, 0.0, 0.0),
]


def rot_x(t):
    c, s = math.cos(t), math.sin(t)
    return np.array([[1, 0, 0, 0], [0, c, -s, 0], [0, s, c, 0], [0, 0, 0, 1.0]])


def rot_z(t):
    c, s = math.cos(t), math.sin(t)
    return np.array([[c, -s, 0, 0], [s, c, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1.0]])


def trans(x=0.0, y=0.0, z=0.0):
    T = np.eye(4)
    T[:3, 3] = x, y, z
    return T


def dh_chain(q) -> list[np.ndarray]:
    """base←frame_i, i = 1..6, each link RotZ(θ)·TransZ(d)·TransX(a)·RotX(α), one product at a time."""
    T, frames = np.eye(4), []
    for theta, (d, a, alpha) in zip(q, PUBLISHED):
        T = T @ rot_z(theta) @ trans(z=d) @ trans(x=a) @ rot_x(alpha)
        frames.append(T)
    return frames


def tool0(q) -> np.ndarray:
    return dh_chain(q)[-1]


def rodrigues(rotvec) -> np.ndarray:
    """R = I + sin θ K + (1 − cos θ) K² for the unit axis k = r/θ (K its cross-product matrix)."""
    r = np.asarray(rotvec, dtype=float)
    theta = np.linalg.norm(r)
    if theta < 1e-12:
        return np.eye(3)
    kx, ky, kz = r / theta
    K = np.array([[0, -kz, ky], [kz, 0, -kx], [-ky, kx, 0]])
    return np.eye(3) + math.sin(theta) * K + (1 - math.cos(theta)) * K @ K


def pose(R, p) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3], T[:3, 3] = R, p
    return T


# -- worked examples: (rotation matrix, its rotation vector), by hand ----------------------------------
RZ90 = np.array([[0, -1, 0], [1, 0, 0], [0, 0, 1.0]])
RX90 = np.array([[1, 0, 0], [0, 0, -1], [0, 1, 0.0]])
RX180 = np.diag([1.0, -1.0, -1.0])
# Rz(90°)·Rx(90°) = [[0,0,1],[1,0,0],[0,1,0]]: trace 0 → cos θ = −1/2, θ = 120°; the axis from the
# skew part (R32 − R23, R13 − R31, R21 − R12) = (1, 1, 1) → (1,1,1)/√3. (Roll-pitch-yaw would say
# [π/2, 0, π/2].)
RZ90_RX90 = RZ90 @ RX90
ROTVEC_RZ90_RX90 = (2 * math.pi / 3) / math.sqrt(3) * np.ones(3)
# Rz(90°)·Rx(180°) = [[0,1,0],[1,0,0],[0,0,−1]]: symmetric, trace −1 → a half turn about (1,1,0)/√2.
# This is tool0 at UR10E_READY_Q (flange pointing down). RPY would say [π, 0, π/2].
RZ90_RX180 = RZ90 @ RX180
ROTVEC_RZ90_RX180 = math.pi / math.sqrt(2) * np.array([1.0, 1.0, 0.0])
WORKED = [
    ("identity", np.eye(3), np.zeros(3)),
    ("90° about z", RZ90, np.array([0, 0, math.pi / 2])),
    ("−90° about y", np.array([[0, 0, -1], [0, 1, 0], [1, 0, 0.0]]), np.array([0, -math.pi / 2, 0])),
    ("180° about x", RX180, np.array([math.pi, 0, 0])),
    ("Rz(90°)·Rx(90°)", RZ90_RX90, ROTVEC_RZ90_RX90),
    ("Rz(90°)·Rx(180°)", RZ90_RX180, ROTVEC_RZ90_RX180),
]


def same_rotvec(a, b, tol=1e-9) -> bool:
    """Equal, or the two equivalent encodings of a half turn (r and −r when |r| = π)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if np.allclose(a, b, atol=tol):
        return True
    return abs(np.linalg.norm(b) - math.pi) < 1e-9 and np.allclose(a, -b, atol=tol)


def test_worked_examples_are_what_they_claim():
    # the hand-written pairs agree with a Rodrigues formula written here
    for name, R, rotvec in WORKED:
        assert np.allclose(rodrigues(rotvec), R, atol=1e-12), name


@pytest.mark.parametrize(("name", "R", "rotvec"), WORKED, ids=[w[0] for w in WORKED])
def test_pose_to_rtde_writes_the_rotation_vector(name, R, rotvec):
    p = [0.4, -0.25, 0.6]
    sent = pose_to_rtde(pose(R, p))
    assert len(sent) == 6 and all(isinstance(v, float) for v in sent)
    assert np.allclose(sent[:3], p, atol=1e-12)
    assert same_rotvec(sent[3:], rotvec), (name, sent[3:])
    assert np.linalg.norm(sent[3:]) <= math.pi + 1e-9   # the shortest rotation, as the controller reports


@pytest.mark.parametrize(("name", "R", "rotvec"), WORKED, ids=[w[0] for w in WORKED])
def test_pose_from_rtde_reads_the_rotation_vector(name, R, rotvec):
    T = pose_from_rtde([0.1, 0.2, 0.3, *rotvec])
    assert np.allclose(T[:3, :3], R, atol=1e-12), name
    assert np.allclose(T[:3, 3], [0.1, 0.2, 0.3]) and np.allclose(T[3], [0, 0, 0, 1])


def test_a_rotation_vector_longer_than_pi_is_the_same_rotation():
    # 270° about z = −90° about z; a controller may report either
    assert np.allclose(pose_from_rtde([0, 0, 0, 0, 0, 1.5 * math.pi])[:3, :3], RZ90.T, atol=1e-12)


def test_random_poses_match_rodrigues_and_scipy():
    rng = np.random.default_rng(16)
    for R in Rotation.random(200, random_state=rng).as_matrix():
        p = rng.uniform(-1, 1, 3)
        sent = np.array(pose_to_rtde(pose(R, p)))
        assert np.allclose(rodrigues(sent[3:]), R, atol=1e-9)
        assert same_rotvec(sent[3:], Rotation.from_matrix(R).as_rotvec())
        assert np.allclose(pose_from_rtde(sent)[:3, :3], rodrigues(sent[3:]), atol=1e-9)


class _FixedTCP(StandInReceive):
    """A receive interface whose controller reports a TCP pose written by hand."""

    reported = (0.5, -0.1, 0.4, *ROTVEC_RZ90_RX90)

    def getActualTCPPose(self):
        return list(self.reported)


def _backend(receive_class=StandInReceive):
    state = ControllerState(UR10E_READY_Q)
    config = UR10eShadowConfig(rtde=RTDEConfig(host="ur10e.test", poll_period=0.001, settle_time=0.01))
    backend = RTDEBackend(config, lambda fingers: 0.0,
                          interfaces=lambda cfg: (StandInControl(state), receive_class(state)))
    backend.connect()
    return backend, state


def test_the_backend_sends_moveL_a_rotation_vector_in_the_base_frame():
    backend, state = _backend()
    # tool0 horizontal along base +x (its z = base x), at a reachable point in front of the robot
    target = pose(RZ90_RX90, [0.7, 0.2, 0.5])
    backend.run([LinearMove(target)])
    (sent,) = [c[1] for c in state.commands if c[0] == "moveL"]
    assert np.allclose(sent[:3], [0.7, 0.2, 0.5], atol=1e-12)
    assert np.allclose(sent[3:], ROTVEC_RZ90_RX90, atol=1e-9), sent   # ≈ 1.2092 each, not [π/2, 0, π/2]


def test_the_backend_reads_getActualTCPPose_as_a_rotation_vector():
    backend, _ = _backend(_FixedTCP)
    assert np.allclose(backend.flange_pose(), pose(RZ90_RX90, [0.5, -0.1, 0.4]), atol=1e-12)


# -- forward kinematics ----------------------------------------------------------------------------------
def test_the_module_uses_the_published_dh_table():
    assert np.allclose(UR10E_DH, PUBLISHED, atol=0, rtol=0)
    assert (UR_BASE_FRAME, UR_FLANGE_FRAME) == ("base", "tool0")


# Worked out by hand in the controller's base frame (z up):
# * all zeros: the arm stretched along −x (a2 + a3), the wrist offsets d4 + d6 along −y, d5 down
#   from the shoulder height d1; tool0 = Rx(90°) (its z = −y).
# * q1 = 90°: the same, turned 90° about z.
# * UR10E_READY_Q (0, −90°, 90°, −90°, −90°, 0): upper arm straight up (z = d1 − a2), forearm back
#   along −x (a3), wrist 2 drops d5 further along −x, the flange points down (d6); tool0 = Rz(90°)·Rx(180°).
HAND_FK = [
    ("zeros", np.zeros(6), np.array([A2 + A3, -(D4 + D6), D1 - D5]), RX90),
    ("q1=90°", np.array([math.pi / 2, 0, 0, 0, 0, 0]), np.array([D4 + D6, A2 + A3, D1 - D5]), RZ90 @ RX90),
    ("ready", np.array(UR10E_READY_Q), np.array([A3 - D5, -D4, D1 - A2 - D6]), RZ90_RX180),
    ("ready, q6=90°", np.array(UR10E_READY_Q) + [0, 0, 0, 0, 0, math.pi / 2], np.array([A3 - D5, -D4, D1 - A2 - D6]),
     RX180),
]


@pytest.mark.parametrize(("name", "q", "p", "R"), HAND_FK, ids=[h[0] for h in HAND_FK])
def test_forward_kinematics_at_hand_checked_configurations(name, q, p, R):
    for T in (tool0(q), forward_kinematics(q)):
        assert np.allclose(T[:3, 3], p, atol=1e-12), (name, T[:3, 3])
        assert np.allclose(T[:3, :3], R, atol=1e-12), name


def test_the_zero_configuration_numbers():
    # the same pose as literal numbers, in the frame the UR controller reports (ur_description's
    # base_link would read x = +1.18425, y = +0.2907)
    assert np.allclose(forward_kinematics(np.zeros(6))[:3, 3], [-1.18425, -0.2907, 0.06085], atol=1e-12)


def test_forward_kinematics_matches_the_published_chain_at_random_configurations():
    rng = np.random.default_rng(7)
    qs = rng.uniform(-math.pi, math.pi, (50, 6))
    batched = forward_kinematics(qs)
    for q, T in zip(qs, batched):
        assert np.allclose(T, tool0(q), atol=1e-12)


MODEL_CONFIGS = [h[1] for h in HAND_FK] + [np.array([0.3, -1.2, 1.4, -1.9, -1.4, 0.8]),
                                           np.array([-2.1, -0.4, -2.2, 0.7, 2.5, -3.0])]


def test_the_mujoco_model_places_every_link_and_tool0_on_the_published_chain():
    mujoco = pytest.importorskip("mujoco")
    import xml.etree.ElementTree as ET

    from realvlg.robots.ur10e_shadow.model import ARM_LINKS, RobotModel, robot_mjcf

    root, _ = robot_mjcf(60.0)
    robot = RobotModel(mujoco.MjModel.from_xml_string(ET.tostring(root, encoding="unicode")))
    m, data = robot.model, mujoco.MjData(robot.model)
    links = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, name) for name in ARM_LINKS]
    for q in MODEL_CONFIGS:
        data.qpos[robot.arm_qpos] = q
        mujoco.mj_kinematics(m, data)
        frames = dh_chain(q)
        T = pose(data.xmat[robot.tool0].reshape(3, 3), data.xpos[robot.tool0])   # the model's world = base
        assert np.allclose(T, frames[-1], atol=1e-6), q
        # body i sits at DH frame i−1 (the base for the shoulder), turned by q_i about that frame's z
        for i, body in enumerate(links):
            parent = np.eye(4) if i == 0 else frames[i - 1]
            expected = parent @ rot_z(q[i])
            assert np.allclose(data.xpos[body], expected[:3, 3], atol=1e-6), (q, ARM_LINKS[i])
            assert np.allclose(data.xmat[body].reshape(3, 3), expected[:3, :3], atol=1e-6), (q, ARM_LINKS[i])

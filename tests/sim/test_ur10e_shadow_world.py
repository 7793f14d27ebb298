"""The simulated UR10e + Shadow Hand: the UR10e built from DH agrees with forward_kinematics, the
wrist camera sees the table and objects with plausible depth and part labels, the shared grasp
stages on the simulated backend grasp and lift, refuse what they cannot do without moving, and the
URDF's kinematics equal MuJoCo's."""

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

mujoco = pytest.importorskip("mujoco")
if __import__("importlib").util.find_spec("gymnasium_robotics") is None:
    pytest.skip("gymnasium-robotics (Shadow Hand MJCF) not installed", allow_module_level=True)

from scripted_grasps import ORANGE_GRASP, SPHERE_IN_PALM, top_grasp

from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.frames import TOOL0_T_PALM, UR_BASE_FRAME
from realvlg.geometry.grasps import DexGrasp
from realvlg.geometry.projection import backproject_cloud
from realvlg.objects import OBJECTS
from realvlg.robots.ur10e_shadow.description import CAMERA_FRAME, JOINT_NAMES, robot_description
from realvlg.robots.ur10e_shadow.kinematics import forward_kinematics, solve_ik
from realvlg.robots.ur10e_shadow.model import T_FLANGE_CAMERA
from realvlg.shadow_hand import SHADOW_JOINTS
from realvlg.sim.common import Placement
from realvlg.sim.ur10e_shadow_world import (
    D415CameraConfig,
    UR10eShadowWorld,
    UR10eShadowWorldConfig,
    sim_executor,
    ur10e_scene,
)

CONFIG = UR10eShadowWorldConfig(camera=D415CameraConfig(320, 180))


@pytest.fixture(scope="module")
def bottle_world():
    with UR10eShadowWorld([Placement("bottle", 0.8, 0.05, 0.3)], CONFIG) as world:
        yield world


def _set_joints(world: UR10eShadowWorld, arm_q, hand_q) -> None:
    world.data.qpos[world._arm_qpos] = arm_q
    world.data.qpos[world._hand_qpos] = hand_q
    mujoco.mj_kinematics(world.model, world.data)
    mujoco.mj_camlight(world.model, world.data)


def _cloud_in_base(frame, mask) -> np.ndarray:
    """(N, 3) base-frame points of the frame's valid depth inside ``mask``."""
    points = backproject_cloud(frame.depth, frame.intrinsics, mask=mask).points
    return frame.base_from_camera.apply(points)


def test_flange_palm_and_camera_follow_the_dh_kinematics(bottle_world):
    w = bottle_world
    rng = np.random.default_rng(0)
    for q in rng.uniform(-math.pi, math.pi, (20, 6)):
        _set_joints(w, q, np.zeros(22))
        T = forward_kinematics(q)
        np.testing.assert_allclose(w.flange_pose(), T, atol=1e-9)
        np.testing.assert_allclose(w.palm_pose(), T @ TOOL0_T_PALM, atol=1e-9)
        np.testing.assert_allclose(w.camera_pose(), T @ T_FLANGE_CAMERA, atol=1e-6)
    w.reset([Placement("bottle", 0.8, 0.05, 0.3)])


def test_wrist_camera_sees_the_table_and_the_object(bottle_world):
    w = bottle_world
    obs = w.render()
    K = obs.intrinsics
    assert (K.width, K.height) == (320, 180) and obs.color.shape == (180, 320, 3)
    assert math.degrees(2 * math.atan(K.width / 2 / K.fx)) == pytest.approx(65.0, abs=0.5)
    # 45° look-down: the optical axis points forward and down
    assert obs.base_from_camera.matrix[:3, 2] == pytest.approx([math.sqrt(0.5), 0, -math.sqrt(0.5)], abs=0.02)
    mask = obs.labels.object_mask("bottle")
    assert mask.sum() > 100
    cloud = _cloud_in_base(obs, mask)
    pose = w.object_pose("bottle")
    radial = np.linalg.norm(cloud[:, :2] - pose[:2, 3], axis=1)
    assert np.percentile(radial, 95) < 0.032  # on the bottle's surface (radius 3 cm)
    assert cloud[:, 2].min() > -0.005 and cloud[:, 2].max() < OBJECTS["bottle"].height + 0.005
    table = _cloud_in_base(obs, (obs.labels.objects < 0) & (obs.depth > 0))
    assert len(table) > 0.5 * obs.depth.size
    assert np.median(np.abs(table[:, 2] - CONFIG.table_top)) < 1e-3


def test_part_segmentation_labels_the_bottle_parts(bottle_world):
    labels = (obs := bottle_world.render()).labels
    assert {p for n, p in labels.part_names if n == "bottle"} == set(OBJECTS["bottle"].parts)
    cap = labels.part_mask("bottle", "cap")
    body = labels.part_mask("bottle", "body")
    assert cap.sum() > 5 and body.sum() > 50
    assert not (cap & body).any() and ((cap | body) <= labels.object_mask("bottle")).all()
    z = _cloud_in_base(obs, cap)[:, 2]
    assert np.all((z > 0.17) & (z < 0.205))  # the cap spans 0.178–0.2 m
    with pytest.raises(InvalidInputError):
        labels.part_mask("bottle", "handle")


def test_move_arm_and_hand_reach_their_targets(bottle_world):
    w = bottle_world
    q = w.observation_q() + np.array([0.2, -0.1, 0.1, 0.1, -0.2, 0.3])
    r = w.move_arm(q, 1.0)
    assert r.reached and r.error < 0.01
    target = np.zeros(22)
    target[SHADOW_JOINTS.index("FFJ2")] = 1.0
    reached = w.set_hand(target, 0.5)
    w.step(0.3)
    assert w.hand_q()[SHADOW_JOINTS.index("FFJ2")] == pytest.approx(1.0, abs=0.05)
    assert reached.shape == (22,)
    with pytest.raises(InvalidInputError):
        w.move_arm([0, 0, 0], 1.0)
    with pytest.raises(InvalidInputError):
        w.set_hand(np.zeros(20))
    w.reset([Placement("bottle", 0.8, 0.05, 0.3)])


def test_a_move_into_the_table_stops_there(bottle_world):
    w = bottle_world
    below = w.palm_pose()
    below[:3, 3] = (0.75, -0.25, -0.05)  # the palm 5 cm under the table top
    ik = solve_ik(below @ np.linalg.inv(TOOL0_T_PALM), w.arm_q())
    assert ik.reachable
    q = ik.q
    r = w.move_arm(q, 1.5)
    assert not r.reached and "table" in r.reason
    assert w.palm_pose()[2, 3] > -0.05 + 0.03  # stopped well before the target
    w.reset([Placement("bottle", 0.8, 0.05, 0.3)])


def test_scenes_are_in_front_of_the_robot_and_visible():
    placements = ur10e_scene("single", 3, ["orange"], CONFIG)
    with UR10eShadowWorld(placements, CONFIG, objects=["orange", "mug"]) as w:
        assert w.active == ("orange",)
        obs = w.render()
        assert obs.labels.object_mask("orange").sum() > 50 and obs.labels.object_mask("mug").sum() == 0
        assert np.linalg.norm(w.object_pose("orange")[:2, 3] - (placements[0].x, placements[0].y)) < 0.01
        with pytest.raises(InvalidInputError):
            w.reset([Placement("banana", 0.8, 0.0)])


def test_refused_grasps_move_nothing(bottle_world):
    w = bottle_world
    ex = sim_executor(w)
    q, hand, t = w.arm_q(), w.hand_q(), w.time
    for grasp, words in (
        (top_grasp((1.2, 0.6, 0.8), {}), "out of the UR10e's reach"),
        (top_grasp((0.8, -0.2, -0.02), {}), "grasp: flange position is outside the workspace box"),
        (top_grasp((0.8, -0.2, 0.03), {}), "would hit the table on the approach"),
        (top_grasp((0.8, -0.2, 0.2), {}, frame="camera"), "frame"),
        (top_grasp((0.8, -0.2, 0.2), {"FFJ2": 3.0}), "range"),
    ):
        with pytest.raises(GraspRefusedError, match=words):
            ex.grasp(grasp)
        assert w.time == t
        np.testing.assert_array_equal(w.arm_q(), q)
        np.testing.assert_array_equal(w.hand_q(), hand)


def test_the_plan_checks_the_whole_joint_path_against_the_table(bottle_world):
    w = bottle_world
    ex = sim_executor(w)
    open_hand = np.zeros(len(SHADOW_JOINTS))
    # An IK branch of the palm 12 cm over the table at (0.7, -0.3) facing down: clear itself, but the
    # straight joint move to it from the observation pose swings the arm through the table.
    far = np.array([-0.229, 2.244, 2.126, 1.914, -1.8, 0.0])
    start = w.arm_q()
    table = ex.planner.collision
    assert not table.collides(start, open_hand) and not table.collides(far, open_hand)
    assert table.path_collides(start, far, open_hand, open_hand, ex.config.sweep_step)
    near = start + np.array([0.1, 0.05, 0.0, 0.0, 0.0, 0.1])
    assert not table.path_collides(start, near, open_hand, open_hand, ex.config.sweep_step)


def test_the_pre_grasp_takes_the_nearest_ik_branch_that_clears_the_table(bottle_world):
    ex = sim_executor(bottle_world)
    table = ex.planner.collision
    open_hand = np.zeros(len(SHADOW_JOINTS))
    palm_down = top_grasp((0.6, 0.0, 0.1), {}).homogeneous()
    # an IK branch of that pose which folds the arm through the table; as the "current" joints it is
    # the nearest branch, so plain IK returns it
    folded = np.array([2.713, 1.039, -2.485, 1.447, 1.143, 0.0])
    assert table.collides(folded, open_hand)
    np.testing.assert_allclose(ex.planner._ik(palm_down, folded, "the pose"), folded, atol=1e-3)
    clear = ex.planner._ik(palm_down, folded, "the pose", open_hand)
    assert not table.collides(clear, open_hand)
    np.testing.assert_allclose(forward_kinematics(clear) @ TOOL0_T_PALM, palm_down, atol=1e-6)


def test_grasp_in_mid_air_fails_the_lift_check(bottle_world):
    w = bottle_world
    ex = sim_executor(w)
    bottle = w.object_pose("bottle")[:3, 3]
    result = ex.grasp(top_grasp(bottle + (-0.05, 0.0, 0.4), ORANGE_GRASP))
    assert not result.success and "nothing held" in result.reason
    check = w.lift_check("bottle")
    assert not check.success and abs(check.height_gain) < 0.005
    with pytest.raises(InvalidInputError):
        w.lift_check("mug")
    w.reset([Placement("bottle", 0.8, 0.05, 0.3)])


@pytest.mark.parametrize("seed", [0, 3])
def test_scripted_top_grasp_lifts_the_orange(seed):
    placements = ur10e_scene("single", seed, ["orange"], CONFIG)
    with UR10eShadowWorld(placements, CONFIG) as w:
        centre = w.data.xipos[w.model.body("obj/orange").id].copy()
        grasp = top_grasp(np.zeros(3), ORANGE_GRASP)
        grasp = DexGrasp(centre - grasp.rotation.apply(SPHERE_IN_PALM), grasp.rotation, grasp.joints, UR_BASE_FRAME)
        result = sim_executor(w).grasp(grasp)
        assert result.success, result.reason
        assert set(result.timings) == {"pre_grasp", "approach", "grasp", "lift"}
        check = w.lift_check("orange", lift=0.03, hold=1.0)
        assert check.success and check.height_gain > 0.04


def test_urdf_kinematics_equal_mujoco(bottle_world):
    w = bottle_world
    robot = ET.fromstring(robot_description())
    joints = {j.find("child").get("link"): j for j in robot.iter("joint")}
    movable = [j.get("name") for j in robot.iter("joint") if j.get("type") == "revolute"]
    assert sorted(movable) == sorted(JOINT_NAMES)

    def origin(j):
        o = j.find("origin")
        T = np.eye(4)
        T[:3, :3] = Rotation.from_euler("xyz", [float(v) for v in o.get("rpy").split()]).as_matrix()
        T[:3, 3] = [float(v) for v in o.get("xyz").split()]
        return T

    def link_pose(link, values):
        if link not in joints:
            return np.eye(4)  # the root, base_link = base
        j = joints[link]
        T = link_pose(j.find("parent").get("link"), values) @ origin(j)
        if j.get("type") == "revolute":
            axis = np.array([float(v) for v in j.find("axis").get("xyz").split()])
            R = np.eye(4)
            R[:3, :3] = Rotation.from_rotvec(axis * values[j.get("name")]).as_matrix()
            T = T @ R
        return T

    rng = np.random.default_rng(2)
    m = w.model
    for _ in range(5):
        arm = rng.uniform(-math.pi, math.pi, 6)
        lo, hi = np.array([m.joint("robot0:" + j).range for j in SHADOW_JOINTS]).T
        hand = rng.uniform(lo, hi)
        _set_joints(w, arm, hand)
        values = dict(zip(JOINT_NAMES, [*arm, *hand]))
        for body in ("tool0", "robot0:palm", "robot0:ffdistal", "robot0:lfdistal", "robot0:thdistal"):
            b = m.body(body).id
            T = np.eye(4)
            T[:3, :3] = w.data.xmat[b].reshape(3, 3)
            T[:3, 3] = w.data.xpos[b]
            np.testing.assert_allclose(link_pose(body, values), T, atol=1e-6, err_msg=body)
        np.testing.assert_allclose(link_pose(CAMERA_FRAME, values), w.camera_pose(), atol=1e-6)
    w.reset([Placement("bottle", 0.8, 0.05, 0.3)])

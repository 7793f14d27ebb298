"""The coarse planner: tabletop scenes with known answers, its filters, FR3 kinematics, the graspnet
backend's checks, the pipeline's fallback, and the real GraspNet scene."""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.errors import DepthError, GraspRefusedError, InvalidInputError, UnreachableError
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.projection import project_points
from realvlg.geometry.transforms import Transform
from realvlg.planning.antipodal import AntipodalConfig, GripperGeometry, MissingDependencyError
from realvlg.planning.graspnet_backend import GraspNetConfig, check_graspnet
from realvlg.planning.planner import CoarsePlannerConfig, plan_coarse
from realvlg.robots.franka.kinematics import FR3_Q_MAX, FR3_Q_MIN, forward_kinematics, reachable_grasps, solve_ik
from realvlg.robots.limits import GraspLimits, WorkspaceBox

from tabletop import INTRINSICS, TABLE_DEPTH, Cuboid, box_around, render

# camera 0.6 m above the base origin at x = 0.5, looking down (optical z = −base z)
BASE_FROM_CAMERA = Transform.from_translation_rotation(
    [0.5, 0.0, 0.6], Rotation.from_euler("x", math.pi), "base", "camera_color_optical_frame")



@pytest.mark.parametrize("yaw", [0.0, 0.6, -1.2])
def test_box_prompt_grasps_across_the_short_side_from_above(yaw):
    obj = Cuboid(0.02, -0.01, length=0.10, width=0.04, height=0.05, yaw=yaw)
    _, depth, (mask,) = render([obj])
    plan = plan_coarse(depth, INTRINSICS, box=box_around(mask), base_from_camera=BASE_FROM_CAMERA, top=3)
    long_axis = np.array([np.cos(yaw), np.sin(yaw), 0.0])
    for g in plan.grasps:
        assert g.approach @ [0, 0, 1] >= math.cos(math.radians(60)) - 1e-9    # within the approach cone
        assert abs(g.closing @ long_axis) < 0.1                                  # across the long side
        assert g.width == pytest.approx(0.04, abs=0.006)
        assert np.linalg.norm(g.position[:2] - [obj.x, obj.y]) < 0.045          # on the object
        assert TABLE_DEPTH - 0.05 <= g.position[2] <= TABLE_DEPTH - 0.013        # between top and table
        assert set(g.extras["score_parts"]) == {"antipodal", "centroid", "approach"}
        assert len(g.extras["joints"]) == 7 and g.extras["base_pose"]["frame"] == "base"
    best = plan.best
    np.testing.assert_allclose(best.approach, [0, 0, 1], atol=0.05)              # the best: straight down
    np.testing.assert_allclose(best.position[:2], [obj.x, obj.y], atol=0.01)



def camera_grasp(plan):
    """The plan's grasp in the camera frame."""
    return BASE_FROM_CAMERA.inverse().apply_to_grasp(plan.candidates[0])

def test_mask_prompt_finds_the_table_around_the_mask():
    obj = Cuboid(-0.03, 0.02, length=0.07, width=0.03, height=0.08, yaw=0.3)
    _, depth, masks = render([obj, Cuboid(0.08, 0.0, 0.05, 0.05, 0.03)])
    plan = plan_coarse(depth, INTRINSICS, mask=masks[0])
    assert plan.support is not None and plan.support.normal @ [0, 0, 1] > 0.99
    assert plan.best.width == pytest.approx(0.03, abs=0.006)
    np.testing.assert_allclose(plan.best.position[:2], [obj.x, obj.y], atol=0.01)


def test_filters_count_their_rejections():
    obj = Cuboid(0.0, 0.0, length=0.10, width=0.04, height=0.05)
    _, depth, (mask,) = render([obj])
    box = box_around(mask)
    tilted = AntipodalConfig(approach_offsets=(math.radians(30),))  # every candidate 30° off straight down
    plan = plan_coarse(depth, INTRINSICS, box=box, config=CoarsePlannerConfig(antipodal=tilted,
                                                                               max_approach_angle=math.radians(40)))
    assert all(g.approach @ [0, 0, 1] == pytest.approx(math.cos(math.radians(30)), abs=0.02) for g in plan.grasps)
    with pytest.raises(GraspRefusedError, match=r"approach_cone \d+"):
        plan_coarse(depth, INTRINSICS, box=box,
                    config=CoarsePlannerConfig(antipodal=tilted, max_approach_angle=math.radians(20)))
    # the object 2 m in front of the robot: inside a stretched workspace, out of the arm's reach
    far = Transform.from_translation_rotation([2.0, 0.0, 0.6], Rotation.from_euler("x", math.pi), "base",
                                              "camera_color_optical_frame")
    wide = GraspLimits(workspace=WorkspaceBox(x=(0.0, 3.0)))
    # out of reach (IK) or outside the workspace box: UnreachableError (the UNREACHABLE result code)
    with pytest.raises(UnreachableError, match="unreachable"):
        plan_coarse(depth, INTRINSICS, box=box, base_from_camera=far, config=CoarsePlannerConfig(limits=wide))
    with pytest.raises(UnreachableError, match=r"workspace \d+.*cannot reach any"):
        plan_coarse(depth, INTRINSICS, box=box, base_from_camera=far)


def test_errors_are_typed_and_clear():
    _, depth, (mask,) = render([Cuboid(0, 0, 0.2, 0.12, 0.05)])
    with pytest.raises(GraspRefusedError, match="wider than the gripper"):
        plan_coarse(depth, INTRINSICS, mask=mask)
    with pytest.raises(InvalidInputError, match="no pixel"):
        plan_coarse(depth, INTRINSICS, mask=np.zeros_like(mask))
    with pytest.raises(DepthError):
        plan_coarse(np.zeros_like(depth), INTRINSICS, mask=mask)
    # fingers reaching 4 cm past the contacts, on a 3 cm tall object: they would hit the table
    _, depth, (mask,) = render([Cuboid(0, 0, 0.06, 0.03, 0.03)])
    long_fingers = AntipodalConfig(gripper=GripperGeometry(tip_beyond=0.04, finger_length=0.07, pad_half=0.0))
    with pytest.raises(GraspRefusedError, match="table"):
        plan_coarse(depth, INTRINSICS, box=box_around(mask), config=CoarsePlannerConfig(antipodal=long_fingers))
    assert plan_coarse(depth, INTRINSICS, box=box_around(mask)).grasps
    with pytest.raises(InvalidInputError, match="backend"):
        CoarsePlannerConfig(backend="magic")


def test_graspnet_backend_names_what_is_missing(tmp_path):
    with pytest.raises(MissingDependencyError) as info:
        check_graspnet(GraspNetConfig(code_dir=str(tmp_path), checkpoint=str(tmp_path / "none.tar")))
    message = str(info.value)
    assert "graspnet-baseline code" in message and "checkpoint" in message and "CUDA" in message
    _, depth, (mask,) = render([Cuboid(0, 0, 0.1, 0.04, 0.05)])
    with pytest.raises(MissingDependencyError, match="checkpoint"):
        plan_coarse(depth, INTRINSICS, mask=mask, config=CoarsePlannerConfig(backend="graspnet"))


def test_fr3_forward_kinematics_and_ik():
    home = np.array([0.0, -0.5, 0.0, -2.2, 0.0, 1.7, 0.785])
    T = forward_kinematics(home)[0]
    np.testing.assert_allclose(T[:3, 3], [0.40, 0.0, 0.47], atol=0.005)       # realvlg's observation pose
    np.testing.assert_allclose(T[:3, 2], [0, 0, -1], atol=1e-3)               # hand pointing down
    rng = np.random.default_rng(3)
    q = FR3_Q_MIN + (FR3_Q_MAX - FR3_Q_MIN) * (0.3 + 0.4 * rng.random((6, 7)))  # away from the limits
    targets = forward_kinematics(q)
    solution, ok = solve_ik(targets)
    assert ok.all()
    np.testing.assert_allclose(forward_kinematics(solution)[:, :3, 3], targets[:, :3, 3], atol=0.005)
    far = np.eye(4)
    far[:3, 3] = [1.5, 0.0, 0.3]
    assert not reachable_grasps(far[None])[0][0]


def test_pipeline_bbox_and_contact_fallbacks():
    from realvlg.geometry.grasps import ContactPair
    from realvlg.grasping.planner import LiftPlanner
    from realvlg.grounding.backend import Grounding
    from realvlg.observation import RGBDFrame

    class Scripted:  # TEST DOUBLE of a grounding backend: fixed answers per task
        name, tasks = "scripted-test-double", ("contact", "bbox")

        def __init__(self, answers):
            self.answers = answers

        def ground(self, task, image, instruction, *, samples=1, depth=None, intrinsics=None):
            return self.answers[task]

    obj = Cuboid(0.01, 0.0, length=0.09, width=0.035, height=0.05, yaw=0.4)
    color, depth, (mask,) = render([obj])
    top = TABLE_DEPTH - obj.height
    along = np.array([math.cos(obj.yaw), math.sin(obj.yaw), 0.0])
    # contacts along the 9 cm long side: wider than the gripper → refused → coarse grasp of the region
    ends = project_points(np.stack([[obj.x, obj.y, top] - 0.044 * along, [obj.x, obj.y, top] + 0.044 * along]),
                          INTRINSICS)
    capture = RGBDFrame(color, np.asarray(depth, np.float32), INTRINSICS, base_from_camera=BASE_FROM_CAMERA)
    plan = LiftPlanner(Scripted({"contact": Grounding("contact", contact=ContactPair(*ends[0], *ends[1]))})).plan(
        capture, "the block", "contact")
    assert plan.strategy == "contact" and "GraspRefusedError" in " ".join(plan.notes)
    assert abs(camera_grasp(plan).closing @ along) < 0.1 and camera_grasp(plan).width == pytest.approx(0.035, abs=0.006)
    # contacts on a hole in the depth: too little valid depth → coarse grasp of the region
    across = np.array([-math.sin(obj.yaw), math.cos(obj.yaw), 0.0]) * 0.03
    (u1, v1), (u2, v2) = project_points(np.stack([[obj.x, obj.y, top] - across, [obj.x, obj.y, top] + across]),
                                        INTRINSICS)
    holed = depth.copy()
    rr, cc = np.mgrid[:depth.shape[0], :depth.shape[1]]
    t = np.clip(((cc - u1) * (u2 - u1) + (rr - v1) * (v2 - v1)) / ((u2 - u1) ** 2 + (v2 - v1) ** 2), 0, 1)
    holed[np.hypot(cc - (u1 + t * (u2 - u1)), rr - (v1 + t * (v2 - v1))) < 4] = 0  # a strip along the contacts
    capture = RGBDFrame(color, np.asarray(holed, np.float32), INTRINSICS, base_from_camera=BASE_FROM_CAMERA)
    plan = LiftPlanner(Scripted({"contact": Grounding("contact", contact=ContactPair(u1, v1, u2, v2))})).plan(
        capture, "the block", "contact")
    assert "DepthError" in " ".join(plan.notes) and "coarse fallback" in plan.notes[-1]
    offset = camera_grasp(plan).position - [obj.x, obj.y, 0.0]
    assert abs(offset @ along) < obj.length / 2 and abs(offset @ across) / 0.03 < obj.width / 2  # on the block
    # bbox strategy: the coarse planner, in the base frame
    plan = LiftPlanner(Scripted({"bbox": Grounding("bbox", box=box_around(mask))})).plan(capture, "x", "bbox")
    np.testing.assert_allclose(plan.candidates[0].approach, [0, 0, -1], atol=0.05)
    assert camera_grasp(plan).extras["score_parts"]["antipodal"] > 0


def test_the_contact_fallback_grasps_the_object_the_answer_points_at_not_a_bigger_neighbour():
    """Clutter: a contact pair on a thin block, along its length (wider than the gripper: refused)
    → the coarse fallback grasps inside the pair's box, which holds more of the tall neighbour; the
    grasp must be on the thin block (the largest cluster grasped the neighbour)."""
    from realvlg.geometry.grasps import ContactPair
    from realvlg.grasping.planner import LiftPlanner
    from realvlg.grounding.backend import Grounding
    from realvlg.observation import RGBDFrame

    class Scripted:  # TEST DOUBLE of a grounding backend: one fixed contact answer
        name, tasks = "scripted-test-double", ("contact",)

        def ground(self, task, image, instruction, *, samples=1, depth=None, intrinsics=None):
            return Grounding("contact", contact=ContactPair(*ends[0], *ends[1]))

    thin = Cuboid(-0.02, 0.0, 0.10, 0.02, 0.03, yaw=math.pi / 2)
    tall = Cuboid(0.03, 0.0, 0.10, 0.05, 0.07, yaw=math.pi / 2)
    color, depth, _ = render([thin, tall])
    top = TABLE_DEPTH - thin.height
    ends = project_points(np.array([[thin.x, thin.y - 0.048, top], [thin.x, thin.y + 0.048, top]]), INTRINSICS)
    capture = RGBDFrame(color, np.asarray(depth, np.float32), INTRINSICS, base_from_camera=BASE_FROM_CAMERA)
    plan = LiftPlanner(Scripted()).plan(capture, "the thin block", "contact")
    assert "coarse fallback" in plan.notes[-1]
    grasp = camera_grasp(plan)
    assert abs(grasp.position[0] - thin.x) < thin.width / 2 + 0.003, grasp.position   # on the thin block
    assert grasp.width == pytest.approx(thin.width, abs=0.008)


@pytest.mark.realdata
def test_graspnet_scene_box_grasps_lie_on_the_object(realdata):
    import scipy.io

    from realvlg.io import read_depth_raw

    scene = realdata / "graspnet_example"
    meta = scipy.io.loadmat(scene / "meta.mat")
    intrinsics = CameraIntrinsics.from_matrix(meta["intrinsic_matrix"], 1280, 720)
    depth = read_depth_raw(scene / "depth.png")
    origins = meta["poses"][:, 3, :].T  # object origins in the camera frame [m]
    # boxes drawn around two isolated objects of the scene (index into meta's poses)
    for index, box in ((6, BoundingBox(565, 45, 695, 240)), (5, BoundingBox(340, 315, 405, 420))):
        plan = plan_coarse(depth, intrinsics, box=box, top=3)
        for g in plan.grasps:
            distances = np.linalg.norm(origins - g.position, axis=1)
            assert distances.argmin() == index and distances[index] < 0.05     # on that object
            assert plan.support.height_above(g.position) > 0.01                 # not on the table
            u, v = project_points(g.position[None], intrinsics)[0]
            assert box.x_min <= u <= box.x_max and box.y_min <= v <= box.y_max

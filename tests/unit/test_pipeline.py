"""The grasp planner's stage logic: strategies, auto fallback, frames, errors.

The grounding backend here is a TEST DOUBLE (``ScriptedBackend``) that answers fixed results per
task: these tests check the planner, not a model. Real backends are tested in their own modules.
"""

import math

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import ContactPair, RectGrasp
from realvlg.geometry.lift import lift_grasp
from realvlg.geometry.projection import project_points
from realvlg.geometry.transforms import Transform
from realvlg.grasping.planner import LiftPlanner, LiftPlannerConfig, PlanningError
from realvlg.grounding.backend import Grounding, GroundingBackend, InvalidGrounding, InvalidReason
from realvlg.observation import RGBDFrame

from tabletop import INTRINSICS, TABLE_DEPTH, Cuboid, box_around, render

OBJ = Cuboid(0.01, 0.0, length=0.09, width=0.035, height=0.05, yaw=0.4)
TOP = TABLE_DEPTH - OBJ.height
# camera 0.6 m above the base origin, looking down (optical z = −base z)
BASE_FROM_CAMERA = Transform.from_translation_rotation(
    [0.5, 0.0, 0.6], Rotation.from_euler("x", math.pi), "base", "camera_color_optical_frame")


class ScriptedBackend(GroundingBackend):
    """Test double: returns the scripted result for each task and records the calls."""

    name = "scripted-test-double"

    def __init__(self, answers, tasks=None):
        self.answers, self.calls = answers, []
        if tasks:
            self.tasks = tasks

    def ground(self, task, image, instruction, *, samples=1, depth=None, intrinsics=None):
        self.calls.append(task)
        return self.answers[task]


def _capture(depth=None):
    color, d, (mask,) = render([OBJ])
    frame = RGBDFrame(color, np.asarray(d if depth is None else depth, np.float32), INTRINSICS,
                      base_from_camera=BASE_FROM_CAMERA)
    return frame, mask


def camera_grasp(plan):
    """The plan's grasp in the camera frame."""
    return BASE_FROM_CAMERA.inverse().apply_to_grasp(plan.candidates[0])


def _contacts_across_object(obj=OBJ, half_span=0.03):
    across = np.array([-math.sin(obj.yaw), math.cos(obj.yaw), 0.0]) * half_span
    centre = np.array([obj.x, obj.y, TABLE_DEPTH - obj.height])
    (u1, v1), (u2, v2) = project_points(np.stack([centre - across, centre + across]), INTRINSICS)
    return ContactPair(u1, v1, u2, v2)


def _invalid(task, reason=InvalidReason.MALFORMED):
    return InvalidGrounding(task, reason, f"scripted {reason.value}")


def test_contact_strategy_lifts_and_moves_the_grasp_to_the_base_frame():
    capture, _ = _capture()
    backend = ScriptedBackend({"contact": Grounding("contact", contact=_contacts_across_object())})
    plan = LiftPlanner(backend).plan(capture, "grasp the red block", "contact")
    assert plan.strategy == "contact" and backend.calls == ["contact"]
    assert camera_grasp(plan).frame == "camera_color_optical_frame" and plan.candidates[0].frame == "base"
    # camera z (down) is base −z; the object top is 0.05 m above a table 0.6 m below the camera
    np.testing.assert_allclose(plan.candidates[0].approach, [0, 0, -1], atol=0.05)
    assert plan.candidates[0].position[2] == pytest.approx(0.6 - TOP - 0.01, abs=0.01)
    np.testing.assert_allclose(plan.candidates[0].position,
                               BASE_FROM_CAMERA.apply(camera_grasp(plan).position), atol=1e-9)
    assert set(plan.timings) == {"ground", "lift", "transform"}


def test_a_thin_object_on_the_table_is_grasped_at_the_workspace_floor():
    """A 1.5 cm bar (a marker lying down): the 1 cm insertion past its top would put the TCP at
    0.5 cm, below the workspace floor (the fingertips into the table). The grasp is backed off along
    its approach to the floor instead of being refused; a 4 mm plate, whose top is already below
    the floor, is not raised (backing off by more than the insertion would leave the object)."""
    floor = LiftPlannerConfig().coarse.limits.workspace.z[0] + LiftPlannerConfig().floor_margin
    bar = Cuboid(0.01, 0.0, length=0.12, width=0.015, height=0.015, yaw=0.4)
    color, depth, _ = render([bar])
    frame = RGBDFrame(color, np.asarray(depth, np.float32), INTRINSICS, base_from_camera=BASE_FROM_CAMERA)
    contacts = _contacts_across_object(bar, half_span=0.007)
    backend = ScriptedBackend({"contact": Grounding("contact", contact=contacts)})
    planner = LiftPlanner(backend)
    lifted = lift_grasp(contacts, frame.depth, INTRINSICS, LiftPlannerConfig().lift, 1.0)
    below = BASE_FROM_CAMERA.apply(lifted.position)[2]
    assert below == pytest.approx(bar.height - 0.01, abs=2e-3) and below < floor
    plan = planner.plan(frame, "grasp the marker", "contact")
    assert plan.strategy == "contact" and plan.notes == []
    assert plan.candidates[0].position[2] == pytest.approx(floor, abs=1e-6)
    raised = planner._above_floor(lifted, frame)
    assert raised.extras["raised_to_floor"] == pytest.approx(floor - (bar.height - 0.01), abs=2e-3)
    np.testing.assert_allclose(raised.rotation.as_matrix(), lifted.rotation.as_matrix())
    plate = Cuboid(0.01, 0.0, length=0.12, width=0.04, height=0.004, yaw=0.4)
    color, depth, _ = render([plate])
    frame = RGBDFrame(color, np.asarray(depth, np.float32), INTRINSICS, base_from_camera=BASE_FROM_CAMERA)
    lifted = lift_grasp(_contacts_across_object(plate, 0.015), frame.depth, INTRINSICS, LiftPlannerConfig().lift, 1.0)
    assert planner._above_floor(lifted, frame) is lifted
    alone, _ = _capture()  # a grasp above the floor is kept as lifted
    lifted = lift_grasp(_contacts_across_object(), alone.depth, INTRINSICS, LiftPlannerConfig().lift, 1.0)
    assert planner._above_floor(lifted, alone) is lifted


def test_auto_falls_back_past_unusable_answers_and_missing_depth():
    capture, mask = _capture()
    depth = capture.depth.copy()
    rect = RectGrasp(5, 5, 0.0, 8)  # lands in a corner we blank out below
    depth[:30, :30] = 0
    capture = RGBDFrame(capture.color, np.asarray(depth, np.float32), INTRINSICS, base_from_camera=BASE_FROM_CAMERA)
    backend = ScriptedBackend({"contact": _invalid("contact"), "grasp": Grounding("grasp", rect=rect),
                               "seg": _invalid("seg", InvalidReason.DEGENERATE_BOX),
                               "bbox": Grounding("bbox", box=box_around(mask, margin=10))})
    plan = LiftPlanner(backend).plan(capture, "the block")
    assert backend.calls == ["contact", "grasp", "seg", "bbox"] and plan.strategy == "bbox"
    assert len(plan.notes) == 3 and "depth" in plan.notes[1]
    assert camera_grasp(plan).width == pytest.approx(0.035, abs=0.006)


def test_not_found_ends_the_request_without_other_strategies():
    capture, _ = _capture()
    backend = ScriptedBackend({t: _invalid(t, InvalidReason.NOT_FOUND) for t in ("contact", "grasp", "seg", "bbox")})
    with pytest.raises(PlanningError, match="not_found") as info:
        LiftPlanner(backend).plan(capture, "the giraffe")
    assert backend.calls == ["contact"] and info.value.grounding.reason is InvalidReason.NOT_FOUND


def test_auto_uses_only_the_tasks_the_backend_answers():
    capture, mask = _capture()
    backend = ScriptedBackend({"bbox": Grounding("bbox", box=box_around(mask, margin=10))}, tasks=("bbox",))
    assert LiftPlanner(backend).plan(capture, "the block").strategy == "bbox"
    with pytest.raises(PlanningError, match="answers none"):
        LiftPlanner(ScriptedBackend({}, tasks=("pose",))).plan(capture, "x")


def test_every_failure_is_reported():
    capture, _ = _capture()
    backend = ScriptedBackend({"contact": Grounding("contact", contact=_contacts_across_object(), agreement=0.3)})
    with pytest.raises(PlanningError, match="agreement 0.30"):
        LiftPlanner(backend, LiftPlannerConfig(min_agreement=0.5)).plan(capture, "x", "contact")
    zero = RGBDFrame(capture.color, np.asarray(np.zeros_like(capture.depth), np.float32), INTRINSICS, base_from_camera=BASE_FROM_CAMERA)
    with pytest.raises(PlanningError, match="depth"):
        LiftPlanner(ScriptedBackend({"contact": Grounding("contact", contact=_contacts_across_object())})
                     ).plan(zero, "x", "contact")
    with pytest.raises(InvalidInputError, match="unknown strategy"):
        LiftPlanner(backend).plan(capture, "x", "pinch")


def test_capture_checks_shapes_and_frames():
    capture, _ = _capture()
    with pytest.raises(InvalidInputError):
        RGBDFrame(capture.color[:10], capture.depth, INTRINSICS, base_from_camera=BASE_FROM_CAMERA)
    with pytest.raises(InvalidInputError, match="camera pose"):
        RGBDFrame(capture.color, capture.depth, INTRINSICS,
                  base_from_camera=Transform.identity("base", "camera_depth_optical_frame"))


def test_a_lifted_grasp_whose_finger_hits_a_neighbour_falls_back_to_collision_free_candidates():
    """Clutter: a short box beside the middle of the block, on the closing side — the lifted grasp's
    finger (at the block's middle) would land on it; coarse candidates nearer the block's ends avoid it."""
    across = np.array([-math.sin(OBJ.yaw), math.cos(OBJ.yaw)])
    wall = Cuboid(OBJ.x + 0.035 * across[0], OBJ.y + 0.035 * across[1], length=0.03, width=0.02, height=0.06,
                  yaw=OBJ.yaw)
    color, depth, _ = render([OBJ, wall])
    frame = RGBDFrame(color, np.asarray(depth, np.float32), INTRINSICS, base_from_camera=BASE_FROM_CAMERA)
    backend = ScriptedBackend({"contact": Grounding("contact", contact=_contacts_across_object())})
    planner = LiftPlanner(backend)
    lifted = lift_grasp(_contacts_across_object(), frame.depth, INTRINSICS, LiftPlannerConfig().lift, 1.0)
    box = planner._region(_contacts_across_object(), frame)
    assert "the gripper hits the scene" in planner.scene_collision(lifted, frame, box=box)
    plan = planner.plan(frame, "grasp the block", "contact")
    assert "the lifted grasp collides" in " ".join(plan.notes) and len(plan.candidates) >= 1
    for g in plan.candidates:
        assert planner.scene_collision(BASE_FROM_CAMERA.inverse().apply_to_grasp(g), frame, box=box) == ""
    alone, _ = _capture()  # without the neighbour the lifted grasp is clear and kept
    assert planner.scene_collision(lifted, alone, box=box) == ""
    assert LiftPlanner(backend).plan(alone, "grasp the block", "contact").notes == []

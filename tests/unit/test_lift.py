"""2D grasp → 6-DoF grasp on synthetic depth with known answers, and every error path."""

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from realvlg.errors import DepthError, GraspRefusedError, InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import ContactPair, RectGrasp
from realvlg.geometry.lift import LiftConfig, lift_grasp

CAM = CameraIntrinsics(640, 480, 600.0, 600.0, 320.0, 240.0)
V, U = np.mgrid[0:480, 0:640]
RAY_X, RAY_Y = (U - CAM.cx) / CAM.fx, (V - CAM.cy) / CAM.fy


def plane_depth(z0, slope_x=0.0, slope_y=0.0):
    """Metric depth of the plane z = z0 + slope_x·x + slope_y·y seen through each pixel."""
    return (z0 / (1 - slope_x * RAY_X - slope_y * RAY_Y)).astype(np.float32)


def ray(u, v):
    return np.array([(u - CAM.cx) / CAM.fx, (v - CAM.cy) / CAM.fy, 1.0])


def assert_finite(grasp):
    d = grasp.as_dict()
    keys = ("position", "quaternion", "width", "approach", "closing")
    assert all(np.isfinite(np.asarray(d[k], dtype=float)).all() for k in keys)


def test_fronto_parallel_plane_known_pose():
    depth = plane_depth(0.5)
    grasp = lift_grasp(ContactPair(300, 240, 340, 240), depth, CAM)
    # centre on the optical axis, 1 cm past the surface; 40 px at 0.51 m = 3.4 cm object width
    np.testing.assert_allclose(grasp.position, [0, 0, 0.51], atol=1e-6)
    np.testing.assert_allclose(grasp.approach, [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(grasp.closing, [1, 0, 0], atol=1e-6)
    # gripper y (closing) = camera x, z = z: a −90° turn about z
    np.testing.assert_allclose(grasp.quaternion_xyzw, [0, 0, -math.sqrt(0.5), math.sqrt(0.5)], atol=1e-6)
    assert grasp.extras["object_width"] == pytest.approx(40 / 600 * 0.51, rel=1e-5)
    assert grasp.width == pytest.approx(40 / 600 * 0.51 + 0.01, rel=1e-5)
    assert grasp.frame == "camera_color_optical_frame"
    assert_finite(grasp)


def test_raw_uint16_depth_gives_the_same_grasp():
    depth_mm = np.full((480, 640), 500, np.uint16)
    a = lift_grasp(ContactPair(300, 240, 340, 240), depth_mm, CAM, depth_scale=0.001)
    b = lift_grasp(ContactPair(300, 240, 340, 240), plane_depth(0.5), CAM)
    np.testing.assert_allclose(a.position, b.position, atol=1e-6)
    assert a.width == pytest.approx(b.width)


@pytest.mark.parametrize("approach", ["ray", "normal", "blend"])
def test_tilted_plane(approach):
    alpha = math.radians(30)
    depth = plane_depth(0.5, slope_x=math.tan(alpha))
    cfg = LiftConfig(approach=approach, insertion_depth=0.0)
    grasp = lift_grasp(ContactPair(300, 240, 340, 240), depth, CAM, cfg)
    s1 = ray(300, 240) * 0.5 / (1 - math.tan(alpha) * (300 - 320) / 600)
    s2 = ray(340, 240) * 0.5 / (1 - math.tan(alpha) * (340 - 320) / 600)
    np.testing.assert_allclose(grasp.closing, (s2 - s1) / np.linalg.norm(s2 - s1), atol=1e-5)
    np.testing.assert_allclose(grasp.position, (s1 + s2) / 2, atol=1e-5)
    assert grasp.extras["object_width"] == pytest.approx(np.linalg.norm(s2 - s1), rel=1e-4)
    normal = np.array([-math.sin(alpha), 0, math.cos(alpha)])  # into the surface, away from the camera
    if approach == "normal":
        np.testing.assert_allclose(grasp.approach, normal, atol=1e-3)
    elif approach == "ray":
        # the viewing ray through the centre, made orthogonal to the closing axis
        r = (s1 + s2) / np.linalg.norm(s1 + s2)
        expected = r - grasp.closing * (r @ grasp.closing)
        np.testing.assert_allclose(grasp.approach, expected / np.linalg.norm(expected), atol=1e-5)
    assert abs(grasp.approach @ grasp.closing) < 1e-9
    assert_finite(grasp)


def test_box_on_table_ignores_table_seen_past_the_edges():
    depth = plane_depth(0.8)
    depth[200:281, 300:341] = 0.7  # a 40 px wide box top 10 cm above the table
    grasp = lift_grasp(ContactPair(296, 240, 344, 240), depth, CAM)  # contacts 4 px outside the box
    assert grasp.extras["surface_depth"] == pytest.approx(0.7, abs=1e-6)
    np.testing.assert_allclose(grasp.position, [0, 0, 0.71], atol=1e-6)
    assert grasp.extras["object_width"] == pytest.approx(48 / 600 * 0.71, rel=1e-5)


def test_rect_wider_than_the_box_is_lifted_at_the_box_depth_and_clamped_to_the_gripper():
    depth = plane_depth(0.8)
    depth[200:281, 300:341] = 0.7
    grasp = lift_grasp(RectGrasp(320, 240, 0.0, 60), depth, CAM)
    assert grasp.extras["surface_depth"] == pytest.approx(0.7, abs=1e-6)
    assert grasp.extras["object_width"] == pytest.approx(60 / 600 * 0.71, rel=1e-5)  # 7.1 cm
    assert grasp.width == pytest.approx(0.08)  # 7.1 cm + 1 cm clearance, clamped to the hand


def test_rect_angle_sets_the_closing_axis():
    grasp = lift_grasp(RectGrasp.from_degrees(320, 240, 90, 40), plane_depth(0.5), CAM)
    np.testing.assert_allclose(grasp.closing, [0, 1, 0], atol=1e-6)
    np.testing.assert_allclose(grasp.approach, [0, 0, 1], atol=1e-6)


def test_partial_invalid_depth_still_lifts_with_the_same_answer():
    depth = plane_depth(0.5)
    rng = np.random.default_rng(0)
    depth[rng.random(depth.shape) < 0.4] = 0
    depth[rng.random(depth.shape) < 0.1] = np.nan
    grasp = lift_grasp(ContactPair(300, 240, 340, 240), depth, CAM)
    np.testing.assert_allclose(grasp.position, [0, 0, 0.51], atol=1e-6)
    assert 0.4 < grasp.extras["valid_fraction"] < 0.7


def test_too_little_valid_depth_is_a_depth_error():
    depth = plane_depth(0.5)
    depth[np.random.default_rng(1).random(depth.shape) < 0.8] = 0
    with pytest.raises(DepthError, match="valid"):
        lift_grasp(ContactPair(300, 240, 340, 240), depth, CAM)
    with pytest.raises(DepthError, match="valid"):
        lift_grasp(ContactPair(300, 240, 340, 240), np.zeros((480, 640), np.uint16), CAM)
    with pytest.raises(DepthError, match="valid"):
        lift_grasp(ContactPair(300, 240, 340, 240), np.full((480, 640), np.nan), CAM)


def test_normal_needs_a_valid_patch_but_ray_does_not():
    depth = np.zeros((480, 640), np.float32)
    depth[239:242] = 0.5  # only the three rows of the closing band carry depth
    cfg = LiftConfig(band_px=1)
    assert lift_grasp(ContactPair(300, 240, 340, 240), depth, CAM, cfg).position[2] == pytest.approx(0.51)
    with pytest.raises(DepthError, match="normal"):
        lift_grasp(ContactPair(300, 240, 340, 240), depth, CAM, LiftConfig(band_px=1, approach="normal"))


def test_bad_2d_input_is_invalid_input():
    depth = plane_depth(0.5)
    with pytest.raises(InvalidInputError, match="outside"):
        lift_grasp(ContactPair(600, 240, 700, 240), depth, CAM)
    with pytest.raises(InvalidInputError, match="outside"):
        lift_grasp(ContactPair(10, -5, 20, 5), depth, CAM)
    with pytest.raises(InvalidInputError, match="apart"):
        lift_grasp(ContactPair(300, 240, 300, 240), depth, CAM)
    with pytest.raises(InvalidInputError):
        ContactPair(300, float("inf"), 340, 240)
    with pytest.raises(InvalidInputError, match="intrinsics are for"):
        lift_grasp(ContactPair(300, 240, 340, 240), depth[:, :320], CAM)
    with pytest.raises(InvalidInputError, match="ContactPair or a RectGrasp"):
        lift_grasp((300, 240, 340, 240), depth, CAM)
    with pytest.raises(InvalidInputError, match="approach"):
        LiftConfig(approach="sideways")
    for bad in (dict(max_width=0), dict(insertion_depth=float("nan")), dict(min_valid_fraction=1.5),
                dict(band_px=-1), dict(normal_patch_px=1)):
        with pytest.raises(InvalidInputError):
            LiftConfig(**bad)


def test_wider_than_the_gripper_is_refused():
    with pytest.raises(GraspRefusedError, match="wider than the gripper"):
        lift_grasp(ContactPair(200, 240, 440, 240), plane_depth(0.5), CAM)  # 240 px at 0.5 m ≈ 20 cm
    narrow = LiftConfig(max_width=0.02)
    with pytest.raises(GraspRefusedError, match="0.020 m"):
        lift_grasp(ContactPair(300, 240, 340, 240), plane_depth(0.5), CAM, narrow)


def test_closing_along_the_viewing_ray_is_refused():
    depth = plane_depth(0.5, slope_x=math.tan(math.radians(85)))
    depth[~np.isfinite(depth) | (depth < 0)] = 0
    with pytest.raises(GraspRefusedError, match="from the approach"):
        lift_grasp(ContactPair(300, 240, 330, 240), depth, CAM)


@settings(max_examples=100, deadline=None)
@given(z0=st.floats(0.3, 1.5), slope_x=st.floats(-0.6, 0.6), slope_y=st.floats(-0.6, 0.6),
       u1=st.integers(40, 600), v1=st.integers(40, 440), angle=st.floats(-math.pi, math.pi),
       length=st.floats(30, 150))
def test_random_planes_match_the_analytic_grasp(z0, slope_x, slope_y, u1, v1, angle, length):
    u2, v2 = u1 + length * math.cos(angle), v1 + length * math.sin(angle)
    assume(20 <= u2 <= 620 and 20 <= v2 <= 460)
    depth = plane_depth(z0, slope_x, slope_y)
    s1, s2 = (ray(u, v) * z0 / (1 - slope_x * ray(u, v)[0] - slope_y * ray(u, v)[1]) for u, v in ((u1, v1), (u2, v2)))
    cfg = LiftConfig(insertion_depth=0.0, max_width=1.0)
    grasp = lift_grasp(ContactPair(u1, v1, u2, v2), depth, CAM, cfg)
    expected_closing = (s2 - s1) / np.linalg.norm(s2 - s1)
    # nearest-pixel sampling: up to half a pixel of error at each end of a ≥ 30 px pair
    assert math.degrees(math.acos(min(1.0, float(grasp.closing @ expected_closing)))) < 3.0
    assert grasp.extras["object_width"] == pytest.approx(np.linalg.norm(s2 - s1), rel=0.03)
    np.testing.assert_allclose(grasp.position, (s1 + s2) / 2, atol=0.01 * z0)
    assert_finite(grasp)


def test_insertion_follows_the_object_width_when_asked():
    depth = np.full((480, 640), 0.5, np.float32)
    pair = ContactPair(280, 240, 360, 240)                       # 80 px at 0.5 m = 6.7 cm wide
    width = 80 / 600 * 0.5
    deep = lift_grasp(pair, depth, CAM, LiftConfig(insertion_ratio=0.5, max_width=0.2))
    assert deep.position[2] == pytest.approx(0.5 + width / 2, rel=1e-4) and deep.extras["insertion"] == pytest.approx(width / 2)
    capped = lift_grasp(pair, depth, CAM, LiftConfig(insertion_ratio=1.0, max_insertion=0.04, max_width=0.2))
    assert capped.position[2] == pytest.approx(0.54)
    small = lift_grasp(ContactPair(316, 240, 324, 240), depth, CAM, LiftConfig(insertion_ratio=0.5))
    assert small.position[2] == pytest.approx(0.51)             # never less than insertion_depth

"""Transforms, the calibration YAML, camera → base, TCP offset."""

import math

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError
from realvlg.frames import FR3_HAND_TCP_OFFSET
from realvlg.geometry.camera_mount import to_optical
from realvlg.geometry.grasps import Grasp6D
from realvlg.geometry.transforms import (
    FrameMismatchError,
    Transform,
    base_from_camera,
    flange_pose_from_tcp,
    franka_hand_tcp,
    load_transform,
    save_transform,
    tcp_pose_from_flange,
)

CALIBRATION = __import__("pathlib").Path(__file__).resolve().parents[1] / "calibration"

finite = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False)
translations = st.lists(finite, min_size=3, max_size=3)
quaternions = (st.lists(st.floats(-1.0, 1.0, allow_nan=False), min_size=4, max_size=4)
               .filter(lambda q: np.linalg.norm(q) > 0.1)
               .map(lambda q: (np.asarray(q) / np.linalg.norm(q)).tolist()))


def transforms(parent: str, child: str):
    return st.builds(lambda t, q: Transform.from_translation_quaternion(t, q, parent, child),
                     translations, quaternions)


@settings(max_examples=60, deadline=None)
@given(transforms("a", "b"), st.lists(st.lists(finite, min_size=3, max_size=3), min_size=1, max_size=5))
def test_inverse_round_trip(T, points):
    inv = T.inverse()
    assert (inv.parent, inv.child) == ("b", "a")
    assert (T @ inv).isclose(Transform.identity("a", "a"), atol=1e-9)
    assert (inv @ T).isclose(Transform.identity("b", "b"), atol=1e-9)
    np.testing.assert_allclose(inv.apply(T.apply(points)), points, atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(transforms("a", "b"), transforms("b", "c"), transforms("c", "d"))
def test_composition_is_associative_and_chains_frames(ab, bc, cd):
    left, right = (ab @ bc) @ cd, ab @ (bc @ cd)
    assert (left.parent, left.child) == ("a", "d")
    assert left.isclose(right, atol=1e-9)
    p = np.array([0.1, -0.2, 0.3])
    np.testing.assert_allclose(left.apply(p), ab.apply(bc.apply(cd.apply(p))), atol=1e-9)


@settings(max_examples=60, deadline=None)
@given(translations, quaternions)
def test_quaternion_matrix_round_trip(t, q):
    T = Transform.from_translation_quaternion(t, q, "a", "b")
    np.testing.assert_allclose(T.translation, t)
    assert T.quaternion_xyzw[3] >= 0   # canonical
    # q and −q are the same rotation
    assert min(np.abs(T.quaternion_xyzw - q).max(), np.abs(T.quaternion_xyzw + q).max()) < 1e-9
    np.testing.assert_allclose(T.matrix[:3, :3], Rotation.from_quat(q).as_matrix(), atol=1e-12)
    again = Transform.from_translation_quaternion(T.translation, T.quaternion_xyzw, "a", "b")
    assert again.isclose(T, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(transforms("fr3_link0", "camera"), st.integers(0, 10_000), finite)
def test_yaml_save_load_round_trip(tmp_path_factory, T, samples, residual):
    path = tmp_path_factory.mktemp("cal") / "t.yaml"
    save_transform(T, path, method="park", date="2026-11-23", samples=samples,
                   residuals={"translation_m": residual, "rotation_rad": 0.01}, operator="lab-3")
    loaded = load_transform(path)
    assert loaded.isclose(T, atol=1e-12)
    assert loaded.metadata == {"method": "park", "date": "2026-11-23", "samples": samples,
                               "residuals": {"translation_m": residual, "rotation_rad": 0.01},
                               "operator": "lab-3"}
    save_transform(loaded, path)   # metadata carried by the transform survives a second save
    assert load_transform(path).metadata == loaded.metadata


def test_frame_chain_mismatch_is_refused():
    ab = Transform.identity("a", "b")
    with pytest.raises(FrameMismatchError, match="'b' ≠ 'c'"):
        ab @ Transform.identity("c", "d")
    with pytest.raises(FrameMismatchError):
        ab.apply_to_grasp(Grasp6D([0, 0, 0], Rotation.identity(), 0.05, frame="a"))


def test_apply_to_grasp_matches_matrix():
    T = Transform.from_translation_quaternion([1, 2, 3], Rotation.from_euler("xyz", [0.1, 0.2, 0.3]).as_quat(),
                                              "base", "cam")
    g = Grasp6D.from_axes([0.1, 0.0, 0.5], [0, 0, 1], [1, 0, 0], 0.04, frame="cam")
    gb = T.apply_to_grasp(g)
    assert gb.frame == "base"
    np.testing.assert_allclose(gb.position, T.apply(g.position))
    np.testing.assert_allclose(gb.approach, T.rotation.apply(g.approach), atol=1e-12)
    assert Transform.from_grasp(gb, "tcp").isclose(T @ Transform.from_grasp(g, "tcp"), atol=1e-12)


def test_quaternion_normalised_within_tolerance_refused_otherwise():
    T = Transform.from_translation_quaternion([0, 0, 0], [0, 0, 0.70711, 0.70711], "a", "b")
    assert abs(np.linalg.norm(T.quaternion_xyzw) - 1) < 1e-12
    with pytest.raises(InvalidInputError, match="norm"):
        Transform.from_translation_quaternion([0, 0, 0], [0, 0, 1, 1], "a", "b")
    with pytest.raises(InvalidInputError, match="norm"):
        Transform.from_translation_quaternion([0, 0, 0], [0, 0, 0, 0], "a", "b")


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.pop("child"), "missing key.*child"),
    (lambda d: d.pop("quaternion"), "missing key.*quaternion"),
    (lambda d: d.update(translation=[0, 0]), "translation.*3 numbers"),
    (lambda d: d.update(quaternion=[0, 0, 1]), "quaternion.*4 numbers"),
    (lambda d: d.update(quaternion=[1, 0, 0, 1]), "norm"),
    (lambda d: d.update(translation=[0, "x", 0]), "translation"),
    (lambda d: d.update(translation=[0, float("nan"), 0]), "finite"),
    (lambda d: d.update(parent=""), "parent frame"),
])
def test_bad_calibration_files(tmp_path, edit, message):
    d = {"parent": "a", "child": "b", "translation": [0, 0, 0], "quaternion": [0, 0, 0, 1]}
    edit(d)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(d))
    with pytest.raises(InvalidInputError, match=message) as info:
        load_transform(path)
    assert str(path) in str(info.value)


def test_unreadable_calibration_files(tmp_path):
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_transform(tmp_path / "absent.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(InvalidInputError, match="mapping"):
        load_transform(tmp_path / "list.yaml")
    (tmp_path / "broken.yaml").write_text("parent: [a\n")
    with pytest.raises(InvalidInputError, match="not valid YAML"):
        load_transform(tmp_path / "broken.yaml")


def test_non_rotation_matrix_refused():
    m = np.eye(4)
    m[0, 0] = -1   # a reflection
    with pytest.raises(InvalidInputError, match="proper rotation"):
        Transform("a", "b", m)
    m = np.eye(4)
    m[3, 0] = 1
    with pytest.raises(InvalidInputError, match="last row"):
        Transform("a", "b", m)


def test_nominal_eye_in_hand_calibration():
    mount = load_transform(CALIBRATION / "fr3_d435i_eye_in_hand.yaml")
    assert (mount.parent, mount.child) == ("fr3_hand_tcp", "camera_link")   # realsense-ros's camera root
    assert mount.metadata["method"] == "nominal"
    np.testing.assert_allclose(mount.rotation.apply([1, 0, 0]), [0, 0, 1], atol=1e-9)   # camera_link x = forward
    cal = to_optical(mount)
    assert (cal.parent, cal.child) == ("fr3_hand_tcp", "camera_color_optical_frame")
    # the camera looks along the approach (optical z = TCP z), behind the TCP
    np.testing.assert_allclose(cal.rotation.apply([0, 0, 1]), [0, 0, 1], atol=1e-9)
    assert cal.translation[2] < 0


def test_base_from_camera_eye_in_hand_and_fixed():
    cal = to_optical(load_transform(CALIBRATION / "fr3_d435i_eye_in_hand.yaml"))
    # a top-down pose: TCP 0.5 m above the base origin, approach pointing down
    base_from_tcp = Transform.from_translation_rotation([0.4, 0.0, 0.5], Rotation.from_euler("x", math.pi),
                                                        "fr3_link0", "fr3_hand_tcp")
    base_from_cam = base_from_camera(cal, "fr3_link0", base_from_tcp)
    assert (base_from_cam.parent, base_from_cam.child) == ("fr3_link0", "camera_color_optical_frame")
    np.testing.assert_allclose(base_from_cam.rotation.apply([0, 0, 1]), [0, 0, -1], atol=1e-9)   # looks down
    # a point 0.3 m in front of the camera lies below it in the base frame
    p = base_from_cam.apply([0, 0, 0.3])
    assert p[2] == pytest.approx(base_from_cam.translation[2] - 0.3)

    with pytest.raises(FrameMismatchError, match="robot pose"):
        base_from_camera(cal, "fr3_link0")   # eye-in-hand without the pose at capture time
    with pytest.raises(FrameMismatchError):
        base_from_camera(cal, "fr3_link0", Transform.identity("world", "fr3_hand_tcp"))
    fixed = Transform.identity("fr3_link0", "camera_color_optical_frame")
    assert base_from_camera(fixed, "fr3_link0") is fixed


def test_franka_tcp_offset():
    flange_from_tcp = franka_hand_tcp()
    np.testing.assert_allclose(flange_from_tcp.translation, [0, 0, FR3_HAND_TCP_OFFSET])
    grasp = Transform.from_translation_rotation([0.5, 0.1, 0.2], Rotation.from_euler("x", math.pi),
                                                "fr3_link0", "fr3_hand_tcp")
    flange = flange_pose_from_tcp(grasp)
    assert (flange.parent, flange.child) == ("fr3_link0", "fr3_link8")
    # approach points down: the flange sits 0.1034 m above the TCP, on the same vertical line
    np.testing.assert_allclose(flange.translation, [0.5, 0.1, 0.2 + FR3_HAND_TCP_OFFSET], atol=1e-12)
    assert tcp_pose_from_flange(flange).isclose(grasp, atol=1e-12)
    with pytest.raises(FrameMismatchError):
        flange_pose_from_tcp(Transform.identity("fr3_link0", "grasp"))

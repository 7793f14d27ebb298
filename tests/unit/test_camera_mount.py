"""The camera's frames as realsense-ros publishes them, and calibration files to camera_link (new)
or to the colour optical frame (old, converted on load): the camera pose must not change."""

import math

import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError
from realvlg.frames import CAMERA_LINK_FRAME, COLOR_FRAME, COLOR_OPTICAL_FRAME
from realvlg.geometry.camera_mount import camera_mount, color_chain, link_from_optical, load_camera_mount, to_optical
from realvlg.geometry.tf_tree import TransformTree
from realvlg.geometry.transforms import Transform, load_transform
from realvlg.graph import repo_path

# the shipped files as they were before the camera_link convention (tcp←colour optical frame)
OLD_FILES = {
    "calibration/sim_fr3_wrist_camera.yaml": ([0.065, 0.0, -0.0634], [0.0, 0.0, 0.7071068, 0.7071068]),
    "calibration/fr3_d435i_eye_in_hand.yaml": ([0.065, -0.0175, -0.07], [0.0, 0.0, 0.7071067811865476,
                                                                          0.7071067811865476]),
}


def test_nominal_chain_is_realsense_ros_d435i():
    link_color, color_optical = color_chain()
    assert (link_color.parent, link_color.child, color_optical.parent, color_optical.child) == (
        CAMERA_LINK_FRAME, COLOR_FRAME, COLOR_FRAME, COLOR_OPTICAL_FRAME)
    np.testing.assert_allclose(link_color.translation, [0.0, 0.015, 0.0])           # realsense-ros on a D435i
    np.testing.assert_allclose(link_color.quaternion_xyzw, [0, 0, 0, 1])
    np.testing.assert_allclose(color_optical.quaternion_xyzw, [-0.5, 0.5, -0.5, 0.5], atol=1e-12)  # its optical turn
    np.testing.assert_allclose(color_optical.translation, 0.0)
    R = link_from_optical().rotation.as_matrix()   # REP-103: optical z = forward (x), x = right (−y), y = down (−z)
    np.testing.assert_allclose(R, [[0, 0, 1], [-1, 0, 0], [0, -1, 0]], atol=1e-12)


def test_device_extrinsics_become_camera_link_to_colour_frame():
    # colour imager 15 mm along the depth optical −x (= +y, left, in camera_link), 1 mm forward, turned 0.3° about
    # the optical y (= −z in camera_link)
    turn = Rotation.from_rotvec([0.0, math.radians(0.3), 0.0])
    ex = Transform.from_translation_rotation([-0.015, 0.0, 0.001], turn, "camera_depth_optical_frame",
                                             COLOR_OPTICAL_FRAME)
    link_color, _ = color_chain(ex)
    np.testing.assert_allclose(link_color.translation, [0.001, 0.015, 0.0], atol=1e-12)
    np.testing.assert_allclose(link_color.rotation.as_rotvec(), [0.0, 0.0, -math.radians(0.3)], atol=1e-12)
    # the colour optical frame's pose in camera_link is the extrinsics seen through the optical turn
    np.testing.assert_allclose(link_from_optical(color_chain(ex)).matrix,
                               (link_from_optical(color_chain(Transform.identity("a", "b"))) @ Transform(
                                   COLOR_OPTICAL_FRAME, COLOR_OPTICAL_FRAME, ex.matrix)).matrix, atol=1e-12)


@pytest.mark.parametrize("path", sorted(OLD_FILES))
def test_shipped_files_give_the_same_camera_pose_as_before(path, tmp_path):
    translation, quaternion = OLD_FILES[path]
    before = Transform.from_translation_quaternion(translation, quaternion, "fr3_hand_tcp", COLOR_OPTICAL_FRAME)
    now = load_camera_mount(repo_path(path))
    assert (now.parent, now.child) == ("fr3_hand_tcp", CAMERA_LINK_FRAME)
    # what the grasp node composes: tcp←camera_link · camera_link←optical from the camera's /tf_static
    camera_frames = TransformTree(color_chain())
    composed = now @ camera_frames.lookup(CAMERA_LINK_FRAME, COLOR_OPTICAL_FRAME)
    assert composed.isclose(before, atol=1e-9)
    assert to_optical(now).isclose(before, atol=1e-9)
    # an old file still loads: converted on load to the same mount
    old = tmp_path / "old.yaml"
    old.write_text(yaml.safe_dump({"parent": "fr3_hand_tcp", "child": COLOR_OPTICAL_FRAME,
                                   "translation": translation, "quaternion": quaternion, "method": "nominal"}))
    converted = load_camera_mount(old)
    assert converted.isclose(now, atol=1e-9)
    assert converted.metadata == {"method": "nominal", "converted_from": COLOR_OPTICAL_FRAME}


def test_mount_files_pass_through_and_other_frames_are_refused(tmp_path):
    mount = load_transform(repo_path("calibration/sim_fr3_wrist_camera.yaml"))
    assert camera_mount(mount) is mount
    assert to_optical(Transform.identity("base", COLOR_OPTICAL_FRAME)).isclose(
        Transform.identity("base", COLOR_OPTICAL_FRAME))
    with pytest.raises(InvalidInputError, match="must locate 'camera_link'.*holds fr3_hand_tcp←camera_depth_frame"):
        camera_mount(Transform.identity("fr3_hand_tcp", "camera_depth_frame"))

"""Depth and intrinsics files."""

import cv2
import numpy as np
import pytest
import tifffile
import yaml

from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.io import read_depth, read_depth_raw, read_intrinsics


def test_depth_formats_and_scale(tmp_path):
    raw = np.array([[0, 1000], [2500, 65535]], np.uint16)
    cv2.imwrite(str(tmp_path / "d.png"), raw)
    np.save(tmp_path / "d.npy", raw)
    tifffile.imwrite(tmp_path / "d.tif", raw)
    for name in ("d.png", "d.npy", "d.tif"):
        np.testing.assert_array_equal(read_depth_raw(tmp_path / name), raw)
        np.testing.assert_allclose(read_depth(tmp_path / name, depth_scale=0.0001), raw * 1e-4, rtol=1e-6)
    metres = np.array([[np.nan, 0.4], [-1.0, np.inf]], np.float32)
    tifffile.imwrite(tmp_path / "f.tiff", metres)
    out = read_depth(tmp_path / "f.tiff", depth_scale=0.001)  # the scale does not apply to floats
    np.testing.assert_array_equal(out, np.array([[0, 0.4], [0, 0]], np.float32))
    assert out.dtype == np.float32


def test_intrinsics_yaml_layouts(tmp_path):
    cam = CameraIntrinsics(1280, 720, 631.5, 631.2, 638.4, 366.5)
    (tmp_path / "own.yaml").write_text(yaml.safe_dump(cam.to_dict()))
    assert read_intrinsics(tmp_path / "own.yaml") == cam
    (tmp_path / "ros.yaml").write_text(yaml.safe_dump({
        "image_width": 1280, "image_height": 720,
        "camera_matrix": {"rows": 3, "cols": 3, "data": cam.K.ravel().tolist()},
        "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0.1, 0, 0, 0, 0]}}))
    ros = read_intrinsics(tmp_path / "ros.yaml")
    assert (ros.fx, ros.cy, ros.distortion[0]) == (631.5, 366.5, 0.1) and not ros.is_rectified
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(InvalidInputError, match="mapping"):
        read_intrinsics(tmp_path / "list.yaml")
    (tmp_path / "skew.yaml").write_text(yaml.safe_dump({
        "image_width": 10, "image_height": 10, "camera_matrix": {"data": [1, 0.5, 5, 0, 1, 5, 0, 0, 1]}}))
    with pytest.raises(InvalidInputError, match="skew"):
        read_intrinsics(tmp_path / "skew.yaml")
    (tmp_path / "short.yaml").write_text(yaml.safe_dump({"image_width": 10, "image_height": 10,
                                                         "camera_matrix": {"data": [1, 0, 5]}}))
    with pytest.raises(InvalidInputError, match="malformed intrinsics"):
        read_intrinsics(tmp_path / "short.yaml")

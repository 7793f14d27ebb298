"""Back-projection and projection: round trips, invalid depth, agreement with librealsense and Open3D."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.projection import (
    backproject_cloud,
    backproject_image,
    backproject_pixels,
    backproject_sampled,
    depth_to_metres,
    mask_to_cloud,
    project_points,
    ray_grid,
    sample_depth,
    valid_depth_mask,
)

D435 = CameraIntrinsics(1280, 720, 912.3, 911.8, 641.2, 362.7)
SMALL = CameraIntrinsics(64, 48, 60.0, 62.0, 31.7, 23.2)


def _random_depth(intr, seed=0, invalid_share=0.1):
    rng = np.random.default_rng(seed)
    depth = rng.integers(200, 2000, size=(intr.height, intr.width), dtype=np.uint16)
    depth[rng.random(depth.shape) < invalid_share] = 0
    return depth


finite = dict(allow_nan=False, allow_infinity=False)


@settings(max_examples=200, deadline=None)
@given(u=st.floats(-0.5, 1279.5, **finite), v=st.floats(-0.5, 719.5, **finite), z=st.floats(0.05, 10.0, **finite))
def test_project_backproject_pixel_round_trip(u, v, z):
    point = backproject_pixels(u, v, z, D435)
    np.testing.assert_allclose(project_points(point[None], D435)[0], [u, v], atol=1e-7)
    assert point[2] == pytest.approx(z)


@settings(max_examples=200, deadline=None)
@given(x=st.floats(-2, 2, **finite), y=st.floats(-2, 2, **finite), z=st.floats(0.05, 10, **finite))
def test_backproject_project_point_round_trip(x, y, z):
    uv = project_points(np.array([[x, y, z]]), D435)[0]
    np.testing.assert_allclose(backproject_pixels(uv[0], uv[1], z, D435), [x, y, z], atol=1e-9)


def test_depth_to_metres_invalid_values_become_zero():
    raw = np.array([[0, 1000], [65535, 1]], np.uint16)
    np.testing.assert_allclose(depth_to_metres(raw, 0.001), [[0, 1.0], [65.535, 0.001]], rtol=1e-6)
    floats = np.array([[np.nan, -1.0], [np.inf, 0.75]], np.float64)
    out = depth_to_metres(floats)
    assert out.dtype == np.float32 and np.isfinite(out).all()
    np.testing.assert_array_equal(out, [[0, 0], [0, 0.75]])
    np.testing.assert_array_equal(valid_depth_mask(floats), [[False, False], [False, True]])
    signed = np.array([[-5, 5]], np.int32)
    np.testing.assert_allclose(depth_to_metres(signed, 0.01), [[0, 0.05]])


def test_depth_to_metres_float_ignores_scale_and_rejects_bad_input():
    np.testing.assert_array_equal(depth_to_metres(np.full((2, 2), 1.5), depth_scale=123.0), 1.5)
    with pytest.raises(InvalidInputError, match="2-D"):
        depth_to_metres(np.zeros((2, 2, 3), np.uint16))
    with pytest.raises(InvalidInputError, match="depth scale"):
        depth_to_metres(np.zeros((2, 2), np.uint16), depth_scale=0)
    with pytest.raises(InvalidInputError, match="integers or floats"):
        depth_to_metres(np.zeros((2, 2), bool))


def test_backproject_image_matches_per_pixel_formula_and_zeroes_invalid():
    depth = _random_depth(SMALL)
    cloud = backproject_image(depth, SMALL)
    assert cloud.shape == (48, 64, 3) and cloud.dtype == np.float32
    v, u = np.mgrid[0:48, 0:64]
    z = depth * 0.001
    expected = np.stack([(u - SMALL.cx) / SMALL.fx * z, (v - SMALL.cy) / SMALL.fy * z, z], axis=-1)
    np.testing.assert_allclose(cloud, expected, rtol=1e-6, atol=1e-7)
    assert (cloud[depth == 0] == 0).all()
    metric = backproject_image(np.where(depth > 0, depth * 0.001, np.nan), SMALL)
    np.testing.assert_allclose(metric, cloud, rtol=1e-6, atol=1e-7)


def test_backproject_cloud_keeps_valid_pixels_with_their_indices():
    depth = _random_depth(SMALL, seed=1, invalid_share=0.3)
    cloud = backproject_cloud(depth, SMALL)
    organised = backproject_image(depth, SMALL)
    assert len(cloud) == int((depth > 0).sum())
    np.testing.assert_allclose(cloud.points, organised.reshape(-1, 3)[cloud.pixels], rtol=1e-6, atol=1e-7)
    u, v = cloud.uv.T
    assert (depth[v, u] > 0).all()
    np.testing.assert_allclose(cloud.points[:, 2], depth[v, u] * 0.001, rtol=1e-6)


def test_mask_to_cloud_with_colours_and_open3d_export():
    depth = _random_depth(SMALL, seed=2)
    mask = np.zeros(depth.shape, bool)
    mask[10:20, 30:45] = True
    colors = np.random.default_rng(3).integers(0, 256, size=(48, 64, 3), dtype=np.uint8)
    cloud = mask_to_cloud(depth, mask, SMALL, colors=colors)
    u, v = cloud.uv.T
    assert mask[v, u].all() and len(cloud) == int((mask & (depth > 0)).sum())
    np.testing.assert_array_equal(cloud.colors, colors[v, u])
    o3d_cloud = cloud.to_open3d()
    np.testing.assert_allclose(np.asarray(o3d_cloud.points), cloud.points, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(o3d_cloud.colors), colors[v, u] / 255.0)
    with pytest.raises(InvalidInputError, match="empty"):
        mask_to_cloud(depth, np.zeros_like(mask), SMALL)
    with pytest.raises(InvalidInputError, match="mask shape"):
        backproject_cloud(depth, SMALL, mask=mask[:10])


def test_errors_on_mismatched_or_distorted_intrinsics_and_bad_points():
    depth = _random_depth(SMALL)
    with pytest.raises(InvalidInputError, match="intrinsics are for"):
        backproject_image(depth, D435)
    distorted = CameraIntrinsics(64, 48, 60.0, 62.0, 31.7, 23.2, (0.1, 0, 0, 0, 0))
    with pytest.raises(InvalidInputError, match="rectified"):
        backproject_cloud(depth, distorted)
    with pytest.raises(InvalidInputError, match="in front"):
        project_points([[0.0, 0.0, -1.0]], SMALL)
    with pytest.raises(InvalidInputError, match="in front"):
        project_points([[np.nan, 0.0, 1.0]], SMALL)
    with pytest.raises(InvalidInputError, match="positive depth"):
        backproject_pixels([1.0], [2.0], [0.0], SMALL)


def test_ray_grid_is_cached_and_read_only():
    assert ray_grid(SMALL) is ray_grid(SMALL)
    x, _ = ray_grid(SMALL)
    with pytest.raises(ValueError):
        x[0] = 1.0


def test_sample_depth_off_image_and_invalid_give_zero():
    depth = np.array([[0, 500], [1000, 1500]], np.uint16)
    z = sample_depth(depth, [0, 1, 0.4, 1.2, -3, np.nan], [0, 0, 1.4, 0.6, 0, 0])
    np.testing.assert_allclose(z, [0, 0.5, 1.0, 1.5, 0, 0])


def test_backproject_sampled_pixel_sets():
    depth = _random_depth(SMALL, seed=7, invalid_share=0.3)
    organised = backproject_image(depth, SMALL)
    rng = np.random.default_rng(8)
    u, v = rng.integers(0, 64, 200), rng.integers(0, 48, 200)
    u = np.append(u, [100, -3])  # off the image
    v = np.append(v, [5, 5])
    points, valid = backproject_sampled(depth, u, v, SMALL)
    np.testing.assert_array_equal(valid[:200], depth[v[:200], u[:200]] > 0)
    assert not valid[200:].any() and (points[~valid] == 0).all()
    np.testing.assert_allclose(points[:200], organised[v[:200], u[:200]], rtol=1e-6, atol=1e-7)


# --- agreement with peers on the same frame -------------------------------------------------------

def test_agrees_with_pyrealsense2_deprojection():
    rs = pytest.importorskip("pyrealsense2")
    intr = rs.intrinsics()
    intr.width, intr.height = D435.width, D435.height
    intr.fx, intr.fy, intr.ppx, intr.ppy = D435.fx, D435.fy, D435.cx, D435.cy
    intr.model = rs.distortion.none
    intr.coeffs = [0.0] * 5
    cam = CameraIntrinsics.from_realsense(intr)  # librealsense keeps float32 intrinsics
    depth = _random_depth(cam, seed=4)
    organised = backproject_image(depth, cam)
    rng = np.random.default_rng(5)
    for u, v in zip(rng.integers(0, 1280, 300), rng.integers(0, 720, 300)):
        expected = rs.rs2_deproject_pixel_to_point(intr, [float(u), float(v)], float(depth[v, u]) * 0.001)
        np.testing.assert_allclose(organised[v, u], expected, rtol=1e-5, atol=1e-7)
        if depth[v, u]:
            pixel = rs.rs2_project_point_to_pixel(intr, expected)
            np.testing.assert_allclose(project_points(np.array([expected]), cam)[0], pixel, atol=1e-3)


def test_agrees_with_open3d_create_from_depth_image():
    o3d = pytest.importorskip("open3d")
    depth = _random_depth(D435, seed=6)
    pinhole = o3d.camera.PinholeCameraIntrinsic(D435.width, D435.height, D435.fx, D435.fy, D435.cx, D435.cy)
    theirs = o3d.geometry.PointCloud.create_from_depth_image(
        o3d.geometry.Image(depth), pinhole, depth_scale=1000.0, depth_trunc=1e6, stride=1)
    ours = backproject_cloud(depth, D435)
    # Open3D walks the image row-major and keeps the valid pixels: the same order as ours.
    np.testing.assert_allclose(np.asarray(theirs.points), ours.points, rtol=1e-5, atol=1e-6)

"""The real GraspNet-1Billion example frame (../shared/realdata/graspnet_example): back-projection
with its own intrinsics, object poses against the observed depth, and a lift on a real object."""

import numpy as np
import pytest
import scipy.io

from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import ContactPair
from realvlg.geometry.lift import LiftConfig, lift_grasp
from realvlg.geometry.projection import backproject_cloud, backproject_image, project_points
from realvlg.io import read_depth_raw

pytestmark = pytest.mark.realdata
MAX_OBJECT_RADIUS = 0.15  # m: every GraspNet object fits in a 30 cm ball
BANANA = 2  # index in meta["poses"] (the banana right of the white bottle)


@pytest.fixture(scope="module")
def scene(realdata):
    folder = realdata / "graspnet_example"
    meta = scipy.io.loadmat(folder / "meta.mat")
    depth = read_depth_raw(folder / "depth.png")
    camera = CameraIntrinsics.from_matrix(meta["intrinsic_matrix"], depth.shape[1], depth.shape[0])
    scale = 1.0 / float(meta["factor_depth"].item())
    return depth, camera, scale, meta["poses"].astype(float)


def test_backprojection_of_the_real_frame(scene):
    depth, camera, scale, _ = scene
    cloud = backproject_cloud(depth, camera, scale)
    assert len(cloud) == int((depth > 0).sum())
    assert 0.85 < len(cloud) / depth.size < 0.95  # 10.5 % of this frame is invalid
    assert 0.2 < cloud.points[:, 2].min() and cloud.points[:, 2].max() < 1.6
    organised = backproject_image(depth, camera, scale)
    np.testing.assert_allclose(organised.reshape(-1, 3)[cloud.pixels], cloud.points, rtol=1e-6, atol=1e-7)
    o3d = pytest.importorskip("open3d")
    pinhole = o3d.camera.PinholeCameraIntrinsic(camera.width, camera.height, camera.fx, camera.fy, camera.cx, camera.cy)
    theirs = o3d.geometry.PointCloud.create_from_depth_image(
        o3d.geometry.Image(depth), pinhole, depth_scale=1 / scale, depth_trunc=10.0)
    np.testing.assert_allclose(np.asarray(theirs.points), cloud.points, rtol=1e-5, atol=1e-6)


def test_object_poses_land_on_their_observed_surfaces(scene):
    depth, camera, scale, poses = scene
    organised = backproject_image(depth, camera, scale)
    centres = poses[:, 3, :].T  # (N, 3) pose translations, camera frame, metres
    pixels = project_points(centres, camera)
    assert camera.contains(pixels[:, 0], pixels[:, 1]).all()
    for centre, (u, v) in zip(centres, np.rint(pixels).astype(int)):
        surface = organised[v, u]
        assert surface[2] > 0, f"no valid depth under the object centre {centre}"
        # the surface seen through the centre lies in front of it by less than an object's size;
        # hollow objects (the blue cup) have their origin in the cavity and show its bottom up to
        # 4 cm behind it
        assert -0.04 <= centre[2] - surface[2] <= MAX_OBJECT_RADIUS
        assert np.linalg.norm(surface - centre) <= MAX_OBJECT_RADIUS
        # some part of the object, within 30 px (≈ 2 cm here), is nearer to the camera than its centre
        window = organised[v - 30:v + 31, u - 30:u + 31, 2]
        assert window[window > 0].min() <= centre[2]


@pytest.mark.parametrize("approach", ["ray", "normal", "blend"])
def test_lift_across_the_banana(scene, approach):
    depth, camera, scale, poses = scene
    # a pair across the banana, perpendicular to its axis (picked on color.png)
    grasp = lift_grasp(ContactPair(484, 261, 522, 229), depth, camera, LiftConfig(approach=approach), scale)
    banana = poses[:, 3, BANANA]
    assert np.linalg.norm(grasp.position - banana) < 0.05
    assert 0.025 < grasp.extras["object_width"] < 0.05  # a banana is 3–4 cm thick
    assert grasp.width == pytest.approx(grasp.extras["object_width"] + 0.01)
    assert 0.42 < grasp.extras["surface_depth"] < 0.46  # observed 0.438–0.446 m along the pair
    assert grasp.approach[2] > 0.8  # into the scene, roughly along the viewing direction
    assert abs(grasp.closing[2]) < 0.2  # the pair runs across the banana, nearly parallel to the image
    assert np.isfinite(grasp.homogeneous()).all()

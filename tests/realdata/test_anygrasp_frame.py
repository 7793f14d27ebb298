"""A second real sensor frame (../shared/realdata/anygrasp, uint16 .npy in millimetres, the source
demo's intrinsics): file reading, back-projection and a lift across the toy carrot."""

import numpy as np
import pytest

from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import ContactPair, RectGrasp
from realvlg.geometry.lift import lift_grasp
from realvlg.geometry.projection import backproject_cloud
from realvlg.io import read_depth, read_depth_raw

pytestmark = pytest.mark.realdata
CAMERA = CameraIntrinsics(1280, 720, 927.17, 927.37, 651.32, 349.62)


@pytest.fixture(scope="module")
def depth(realdata):
    return read_depth_raw(realdata / "anygrasp" / "depth_000.npy")


def test_read_and_backproject(depth, realdata):
    assert depth.dtype == np.uint16 and depth.shape == (720, 1280)
    metres = read_depth(realdata / "anygrasp" / "depth_000.npy", depth_scale=0.001)
    cloud = backproject_cloud(depth, CAMERA, 0.001)
    np.testing.assert_allclose(cloud.points[:, 2], metres[metres > 0], rtol=1e-6)
    assert 0.50 < np.median(cloud.points[:, 2]) < 0.55  # the box floor ≈ 0.52 m away


def test_lift_across_the_carrot(depth):
    # a vertical pair across the carrot's body at column 400 (the carrot is 3–5 cm thick)
    for grasp2d in (ContactPair(400, 318, 400, 390), RectGrasp.from_degrees(400, 354, 90, 110)):
        grasp = lift_grasp(grasp2d, depth, CAMERA, depth_scale=0.001)
        # the carrot's curved top (0.513 m at the ridge, 0.54 m at the sides), not the 0.55 m floor
        assert 0.51 < grasp.extras["surface_depth"] < 0.535
        assert abs(grasp.closing[1]) > 0.95  # closing along image y
        assert grasp.approach[2] > 0.95
    assert 0.03 < lift_grasp(ContactPair(400, 318, 400, 390), depth, CAMERA).extras["object_width"] < 0.05

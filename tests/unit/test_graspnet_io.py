"""graspnetAPI interop: grasps written as a GraspGroup .npy and read back by graspnetAPI itself;
a GraspNet meta.mat as the camera of `realvlg coarse-grasp`."""

import json

import cv2
import numpy as np
import pytest
import scipy.io
from graspnetAPI import GraspGroup
from scipy.spatial.transform import Rotation

from realvlg.cli import main
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import Grasp6D
from realvlg.planning.antipodal import GripperGeometry
from realvlg.planning.graspnet_io import read_graspnet_meta, save_grasp_group

from tabletop import INTRINSICS, Cuboid, render

OBJ = Cuboid(0.0, 0.01, length=0.09, width=0.04, height=0.05, yaw=0.5)


def test_grasps_round_trip_through_graspnetapi(tmp_path):
    rng = np.random.default_rng(3)
    rotations = Rotation.random(6, random_state=4)
    grasps = [Grasp6D(rng.uniform(-0.3, 0.6, 3), rotations[i], float(rng.uniform(0.01, 0.08)),
                      score=float(rng.uniform()), extras={"tip_depth": 0.03} if i == 0 else {})
              for i in range(6)]
    path = tmp_path / "grasps.npy"
    save_grasp_group(grasps, path)
    group = GraspGroup().from_npy(str(path))
    assert len(group) == 6 and group.grasp_group_array.shape == (6, 17)
    np.testing.assert_allclose(group.translations, [g.position for g in grasps])
    np.testing.assert_allclose(group.widths, [g.width for g in grasps])
    np.testing.assert_allclose(group.scores, [g.score for g in grasps])
    np.testing.assert_allclose(group.depths, [0.03] + [GripperGeometry().tip_beyond] * 5)
    np.testing.assert_allclose(group.object_ids, -1)
    for g, R in zip(grasps, group.rotation_matrices):
        # graspnetAPI's gripper frame: x = approach, y = closing, right-handed
        np.testing.assert_allclose(R[:, 0], g.approach, atol=1e-12)
        np.testing.assert_allclose(R[:, 1], g.closing, atol=1e-12)
        assert np.linalg.det(R) == pytest.approx(1.0)
    one = group[2]  # graspnetAPI's single Grasp view of the same row
    np.testing.assert_allclose(one.translation, grasps[2].position)
    assert one.width == pytest.approx(grasps[2].width)


def write_meta(path, fx=300.0, fy=300.0, cx=159.5, cy=119.5, factor=1000.0, **extra):
    K = np.array([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])
    scipy.io.savemat(str(path), {"intrinsic_matrix": K, "factor_depth": np.array([[factor]]), **extra})


def test_meta_mat_gives_intrinsics_and_depth_scale(tmp_path):
    write_meta(tmp_path / "meta.mat", fx=631.55, fy=631.21, cx=638.44, cy=366.50, factor=1000.0,
               poses=np.zeros((3, 4, 1)), cls_indexes=np.array([[1]]))
    intrinsics, scale = read_graspnet_meta(tmp_path / "meta.mat", 1280, 720)
    assert (intrinsics.width, intrinsics.height) == (1280, 720)
    assert (intrinsics.fx, intrinsics.fy, intrinsics.cx, intrinsics.cy) == (631.55, 631.21, 638.44, 366.50)
    assert scale == pytest.approx(0.001)
    scipy.io.savemat(str(tmp_path / "nok.mat"), {"intrinsic_matrix": np.eye(3)})
    with pytest.raises(InvalidInputError, match="factor_depth"):
        read_graspnet_meta(tmp_path / "nok.mat", 1280, 720)
    (tmp_path / "junk.mat").write_bytes(b"not a mat file")
    with pytest.raises(InvalidInputError, match="meta.mat"):
        read_graspnet_meta(tmp_path / "junk.mat", 1280, 720)


@pytest.fixture
def frame(tmp_path):
    color, depth, (mask,) = render([OBJ])
    cv2.imwrite(str(tmp_path / "color.png"), color[..., ::-1])
    cv2.imwrite(str(tmp_path / "depth.png"), np.round(depth * 1000).astype(np.uint16))  # millimetres
    ys, xs = np.nonzero(mask)
    return tmp_path, f"{xs.min() - 12},{ys.min() - 12},{xs.max() + 12},{ys.max() + 12}"


def run(argv, capsys):
    code = main(["coarse-grasp", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_coarse_grasp_reads_a_meta_mat_and_writes_a_grasp_group(frame, capsys):
    d, box = frame
    write_meta(d / "meta.mat", INTRINSICS.fx, INTRINSICS.fy, INTRINSICS.cx, INTRINSICS.cy)
    common = ["--color", d / "color.png", "--depth", d / "depth.png", "--bbox", box, "--top", 3, "--json",
              "--overlay", d / "o.png"]
    code, out, _ = run([*common, "--intrinsics", d / "meta.mat", "--graspnet-npy", d / "g.npy"], capsys)
    assert code == 0
    grasps = json.loads(out)["grasps"]
    pinhole = ["--fx", INTRINSICS.fx, "--fy", INTRINSICS.fy, "--cx", INTRINSICS.cx, "--cy", INTRINSICS.cy]
    assert run([*common, *pinhole], capsys)[1] == out  # the meta.mat is the same camera and depth scale
    group = GraspGroup().from_npy(str(d / "g.npy"))
    assert len(group) == len(grasps) >= 1
    np.testing.assert_allclose(group.translations, [g["position"] for g in grasps], atol=1e-9)
    np.testing.assert_allclose(group.widths, [g["width"] for g in grasps], atol=1e-9)
    np.testing.assert_allclose(group.scores, [g["score"] for g in grasps], atol=1e-9)
    np.testing.assert_allclose(group.rotation_matrices[:, :, 0], [g["approach"] for g in grasps], atol=1e-9)
    np.testing.assert_allclose(group.rotation_matrices[:, :, 1], [g["closing"] for g in grasps], atol=1e-9)
    # a depth scale that contradicts the meta.mat's factor_depth is refused in one line
    code, out, err = run([*common, "--intrinsics", d / "meta.mat", "--depth-scale", "0.0001"], capsys)
    assert code == 2 and out == "" and "factor_depth" in err and len(err.strip().splitlines()) == 1

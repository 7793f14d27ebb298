"""Hand-eye calibration without a simulator: boards warped into a pinhole camera at known poses
(realvlg.calibration.synthetic), detection and PnP against the truth, every solver in both modes,
the degenerate cases, the folder format and the `realvlg calibrate --from-folder` CLI."""

import json

import cv2
import numpy as np
import pytest
import yaml
from scipy.spatial.transform import Rotation

from realvlg.calibration.board import BoardSpec, detect
from realvlg.calibration.data import load_folder, save_folder
from realvlg.calibration.solve import METHODS, CalibrationDataError, observe, solve
from realvlg.calibration.sweep import check_poses, orbit_poses
from realvlg.calibration.synthetic import render_board
from realvlg.cli import main
from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.camera_mount import link_from_optical
from realvlg.geometry.transforms import Transform, load_transform
from realvlg.robots.limits import WorkspaceBox

CHARUCO = BoardSpec("charuco", 0.05, squares_x=6, squares_y=5, marker_length=0.038, dictionary="DICT_4X4_50")
CHESSBOARD = BoardSpec("chessboard", 0.04, corners_x=7, corners_y=6)
K = CameraIntrinsics(640, 480, 455.0, 455.0, 319.5, 239.5)
EE_START = np.array([[1.0, 0, 0, 0.40], [0, -1.0, 0, 0], [0, 0, -1.0, 0.472], [0, 0, 0, 1]])
PIVOT = np.array([0.465, 0.0, 0.0])
# A mount like the wrist camera's, a little turned so no axis is special.
EE_T_CAMERA = Transform.from_translation_rotation([0.065, -0.004, -0.0634],
                                                  Rotation.from_euler("zyx", [90.5, 1.5, -2.0], degrees=True),
                                                  "fr3_hand_tcp", "camera_color_optical_frame").matrix


def mean_error(X, truth):
    return (float(np.linalg.norm(X[:3, 3] - truth[:3, 3])),
            float(np.degrees(Rotation.from_matrix(truth[:3, :3].T @ X[:3, :3]).magnitude())))


def board_on_table(board):
    """base←board: the board face up on the table, its centre at PIVOT (board z points down)."""
    T = np.eye(4)
    T[:3, :3] = np.diag([1.0, -1.0, -1.0])
    T[:3, 3] = PIVOT - T[:3, :3] @ board.centre
    return T


def eye_in_hand_samples(board, robot_poses, noise_std=0.5, X=EE_T_CAMERA, seed=0):
    rng = np.random.default_rng(seed)
    base_board = board_on_table(board)
    return [(f"img_{i:03d}.png",
             render_board(board, K, np.linalg.inv(P @ X) @ base_board, noise_std=noise_std, rng=rng), P)
            for i, P in enumerate(robot_poses)]


def test_board_spec_validation():
    assert BoardSpec.from_dict(CHARUCO.to_dict()) == CHARUCO
    assert BoardSpec.from_dict(CHESSBOARD.to_dict()) == CHESSBOARD
    bad = [({**CHARUCO.to_dict(), "dictionary": "DICT_9X9_1"}, "unknown ArUco dictionary"),
           ({**CHARUCO.to_dict(), "marker_length": 0.06}, "marker_length"),
           ({**CHARUCO.to_dict(), "rows": 3}, "unknown rows"),
           ({k: v for k, v in CHARUCO.to_dict().items() if k != "squares_y"}, "missing squares_y"),
           ({**CHESSBOARD.to_dict(), "corners_y": 7}, "symmetric under a half turn"),
           ({**CHARUCO.to_dict(), "squares_x": 20, "squares_y": 20}, "DICT_4X4_50 has 50"),
           ({"type": "circles"}, "type: charuco or chessboard")]
    for d, message in bad:
        with pytest.raises(InvalidInputError, match=message):
            BoardSpec.from_dict(d)


@pytest.mark.parametrize("board", [CHARUCO, CHESSBOARD], ids=["charuco", "chessboard"])
def test_detection_and_pnp_match_the_true_pose(board):
    camera_T_board = np.eye(4)
    camera_T_board[:3, :3] = Rotation.from_euler("xyz", [20, -15, 30], degrees=True).as_matrix()
    camera_T_board[:3, 3] = -camera_T_board[:3, :3] @ board.centre + [0.01, -0.02, 0.55]
    image = render_board(board, K, camera_T_board)
    detection = detect(board, image)
    n_corners = len(board.object_points)
    assert len(detection.ids) == n_corners
    truth, _ = cv2.projectPoints(detection.object_points, cv2.Rodrigues(camera_T_board[:3, :3])[0],
                                 camera_T_board[:3, 3], K.K, np.zeros(5))
    corner_error = np.linalg.norm(detection.image_points - truth.reshape(-1, 2), axis=1)
    assert np.sqrt(np.mean(corner_error ** 2)) < 0.15  # sub-pixel corners
    T, rms = detection.pose(K)
    dt, dr = mean_error(T, camera_T_board)
    assert rms < 0.15 and dt < 1e-3 and dr < 0.1


def test_no_board_no_detection():
    blank = np.full((480, 640, 3), 110, np.uint8)
    assert detect(CHARUCO, blank) is None and detect(CHESSBOARD, blank) is None
    # The wrong dictionary finds no markers.
    other = BoardSpec("charuco", 0.05, squares_x=6, squares_y=5, marker_length=0.038, dictionary="DICT_6X6_50")
    image = eye_in_hand_samples(CHARUCO, orbit_poses(EE_START, PIVOT, 1))[0][1]
    assert detect(CHARUCO, image) is not None and detect(other, image) is None


def test_orbit_poses_keep_the_camera_on_the_pivot_and_stay_in_the_workspace():
    poses = orbit_poses(EE_START, PIVOT, 12)
    check_poses(poses, WorkspaceBox())
    cameras = poses @ EE_T_CAMERA
    # The optical axis passes within a few cm of the board centre from every pose.
    to_pivot = PIVOT - cameras[:, :3, 3]
    off_axis = np.linalg.norm(np.cross(cameras[:, :3, 2], to_pivot), axis=1)
    assert off_axis.max() < 0.03
    tilts = np.degrees(Rotation.from_matrix(EE_START[:3, :3].T @ poses[:, :3, :3]).magnitude())
    assert 10 < tilts.max() < 40
    with pytest.raises(InvalidInputError, match="outside the workspace"):
        check_poses(orbit_poses(EE_START, PIVOT, 12, tilt_deg=(60, 80)), WorkspaceBox())


@pytest.fixture(scope="module")
def eye_in_hand_observations():
    samples = eye_in_hand_samples(CHARUCO, orbit_poses(EE_START, PIVOT, 12))
    observations, rejected = observe(CHARUCO, K, samples)
    assert len(observations) == 12 and not rejected
    return observations


def test_eye_in_hand_every_method(eye_in_hand_observations):
    result = solve(eye_in_hand_observations, K, CHARUCO, "eye-in-hand")
    assert set(result.methods) == set(METHODS)
    assert result.transform.parent == "fr3_hand_tcp" and result.transform.child == "camera_color_optical_frame"
    dt, dr = mean_error(result.transform.matrix, EE_T_CAMERA)
    assert dt < 2e-3 and dr < 0.2, (dt, dr)
    # The chosen method has the lowest reprojection error; the agreeing methods agree.
    assert result.methods[result.method].reprojection_px == min(r.reprojection_px for r in result.methods.values())
    assert {"tsai", "park", "horaud", "daniilidis", "shah"} <= set(result.consistency["methods"])
    assert result.consistency["translation_m"] < 3e-3 and result.consistency["rotation_rad"] < np.radians(0.3)
    res = result.residuals
    assert res["board_spread_max_m"] < 3e-3 and res["reprojection_rms_px"] < 1.0
    assert res["pnp_reprojection_rms_px"] < res["reprojection_rms_px"]
    forced = solve(eye_in_hand_observations, K, CHARUCO, method="tsai")
    assert forced.method == "tsai" and np.allclose(forced.transform.matrix, result.methods["tsai"].X, atol=1e-9)


def test_residuals_grow_with_a_wrong_robot_pose(eye_in_hand_observations):
    """A robot pose recorded a few mm off (e.g. read while the arm still moved) shows in the spread."""
    good = solve(eye_in_hand_observations, K, CHARUCO)
    shifted = list(eye_in_hand_observations)
    o = shifted[3]
    moved = o.base_T_ee.copy()
    moved[:3, 3] += [0.01, 0, 0]
    shifted[3] = type(o)(o.name, moved, o.detection, o.camera_T_board, o.pnp_rms_px)
    bad = solve(shifted, K, CHARUCO)
    assert bad.residuals["board_spread_max_m"] > 3 * good.residuals["board_spread_max_m"]
    assert any("board spread" in w for w in bad.warnings)


def test_eye_to_hand_every_method():
    """Fixed camera in front of the robot, the board held by the hand."""
    base_T_camera = np.eye(4)
    eye, target = np.array([1.2, 0.1, 0.6]), np.array([0.5, 0.0, 0.3])
    z = (target - eye) / np.linalg.norm(target - eye)
    x = np.cross(z, [0, 0, 1.0])
    x /= np.linalg.norm(x)
    base_T_camera[:3, :3] = np.column_stack([x, np.cross(z, x), z])
    base_T_camera[:3, 3] = eye
    ee_T_board = np.eye(4)
    ee_T_board[:3, :3] = Rotation.from_euler("y", 180, degrees=True).as_matrix()
    ee_T_board[:3, 3] = [-0.12, -0.1, 0.03]
    # Nominal board facing the camera at the target; poses orbit the board centre.
    board_start = base_T_camera.copy()
    board_start[:3, 3] = target - board_start[:3, :3] @ CHARUCO.centre
    base_T_board = orbit_poses(board_start, target, 12)
    robot = base_T_board @ np.linalg.inv(ee_T_board)
    rng = np.random.default_rng(1)
    samples = [(f"img_{i}", render_board(CHARUCO, K, np.linalg.inv(base_T_camera) @ B, noise_std=0.5, rng=rng), P)
               for i, (B, P) in enumerate(zip(base_T_board, robot))]
    observations, _ = observe(CHARUCO, K, samples)
    result = solve(observations, K, CHARUCO, "eye-to-hand")
    assert result.transform.parent == "fr3_link0" and set(result.methods) == set(METHODS)
    dt, dr = mean_error(result.transform.matrix, base_T_camera)
    assert dt < 2e-3 and dr < 0.2, (dt, dr)
    # The same data read as eye-in-hand is inconsistent: the board does not stay put in the base.
    wrong = solve(observations, K, CHARUCO, "eye-in-hand")
    assert wrong.residuals["board_spread_max_m"] > 0.02


def test_too_few_poses(eye_in_hand_observations):
    with pytest.raises(CalibrationDataError, match="4 usable robot pose.*at least 5"):
        solve(eye_in_hand_observations[:4], K, CHARUCO)


def test_rotations_about_one_axis():
    """Yaw-only sweeps (all rotations about the vertical) cannot fix the camera height."""
    yaws = np.radians(np.linspace(-40, 40, 8))
    poses = np.repeat(EE_START[None], 8, axis=0)
    poses[:, :3, :3] = Rotation.from_euler("z", yaws[:, None]).as_matrix() @ EE_START[:3, :3]
    poses[:, :3, 3] += np.stack([0.02 * np.sin(3 * yaws), 0.02 * np.cos(2 * yaws), 0 * yaws], axis=1)
    observations, _ = observe(CHARUCO, K, eye_in_hand_samples(CHARUCO, poses))
    assert len(observations) == 8
    with pytest.raises(CalibrationDataError, match="about \\(nearly\\) one axis.*second, different axis"):
        solve(observations, K, CHARUCO)


def test_rotations_too_small():
    poses = orbit_poses(EE_START, PIVOT, 8, tilt_deg=(2, 4), yaw_deg=3)
    observations, _ = observe(CHARUCO, K, eye_in_hand_samples(CHARUCO, poses))
    with pytest.raises(CalibrationDataError, match="turned at most .*tilt the hand 15–30°"):
        solve(observations, K, CHARUCO)


def test_board_not_found_in_most_images():
    samples = eye_in_hand_samples(CHARUCO, orbit_poses(EE_START, PIVOT, 12))
    blank = np.full_like(samples[0][1], 110)
    samples = [(n, img if i < 5 else blank, P) for i, (n, img, P) in enumerate(samples)]
    observations, rejected = observe(CHARUCO, K, samples)
    assert len(observations) == 5 and set(rejected.values()) == {"board not found"}
    with pytest.raises(CalibrationDataError, match="found in only 5 of 12 images.*matches the printed one"):
        solve(observations, K, CHARUCO, rejected=rejected)


def test_image_size_must_match_the_intrinsics():
    with pytest.raises(InvalidInputError, match="320×240, the camera intrinsics are for 640×480"):
        observe(CHARUCO, K, [("small.png", np.zeros((240, 320, 3), np.uint8), EE_START)])


# -- the folder and the CLI --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    samples = eye_in_hand_samples(CHARUCO, orbit_poses(EE_START, PIVOT, 10))
    root = tmp_path_factory.mktemp("calib")
    save_folder(root, CHARUCO, K, [img for _, img, _ in samples], [P for _, _, P in samples])
    return root


def test_folder_round_trip(folder):
    data = load_folder(folder)
    assert data.board == CHARUCO and data.intrinsics == K and len(data.images) == 10
    np.testing.assert_allclose(data.base_T_ee, orbit_poses(EE_START, PIVOT, 10), atol=1e-12)
    text = yaml.safe_load((folder / "samples.yaml").read_text())
    assert list(text) == ["board", "camera", "samples"]
    assert list(text["samples"][0]) == ["image", "base_T_ee"]
    assert list(text["samples"][0]["base_T_ee"]) == ["translation", "quaternion"]


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(extra=1), "exactly the keys board, camera, samples; unknown extra"),
    (lambda d: d["camera"].pop("distortion"), "missing distortion"),
    (lambda d: d["samples"][0]["base_T_ee"].update(rotation=[0, 0, 0]), "unknown rotation"),
    (lambda d: d["samples"][1].update(image="missing.png"), "missing.png does not exist"),
    (lambda d: d["samples"][2]["base_T_ee"].update(quaternion=[0, 0, 0, 2]), "norm 2"),
    (lambda d: d.update(samples=[]), "non-empty list"),
])
def test_folder_refuses_bad_samples_yaml(folder, tmp_path, edit, message):
    data = yaml.safe_load((folder / "samples.yaml").read_text())
    edit(data)
    for f in folder.glob("*.png"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    (tmp_path / "samples.yaml").write_text(yaml.safe_dump(data))
    with pytest.raises(InvalidInputError, match=message):
        load_folder(tmp_path)


def test_cli_from_folder(folder, tmp_path, capsys):
    out = tmp_path / "calibration" / "wrist.yaml"
    assert main(["calibrate", "--from-folder", str(folder), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "fr3_hand_tcp←camera_color_optical_frame (eye-in-hand" in text and "← written" in text
    assert "written as fr3_hand_tcp←camera_link" in text
    written = load_transform(out)   # the mount to realsense-ros's camera_link
    assert (written.parent, written.child) == ("fr3_hand_tcp", "camera_link")
    dt, dr = mean_error((written @ link_from_optical()).matrix, EE_T_CAMERA)
    assert dt < 2e-3 and dr < 0.2
    assert written.metadata["samples"] == 10 and written.metadata["mode"] == "eye-in-hand"
    assert written.metadata["method"] in METHODS and "date" in written.metadata
    assert set(written.metadata["residuals"]) >= {"board_spread_max_m", "reprojection_rms_px"}

    assert main(["calibrate", "--from-folder", str(folder), "--out", str(out), "--json", "--method", "park",
                 "--ee-frame", "panda_hand_tcp"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["method"] == "park" and report["transform"]["parent"] == "panda_hand_tcp"
    assert set(report["methods"]) == set(METHODS) and report["samples"] == 10
    assert np.allclose(report["transform"]["translation"], report["methods"]["park"]["translation"])
    assert report["mount"]["child"] == "camera_link" and report["transform"]["child"] == "camera_color_optical_frame"
    assert load_transform(out).parent == "panda_hand_tcp"


def test_cli_bad_data_exits_2(folder, tmp_path, capsys):
    data = yaml.safe_load((folder / "samples.yaml").read_text())
    data["samples"] = data["samples"][:3]
    for s in data["samples"]:
        (tmp_path / s["image"]).write_bytes((folder / s["image"]).read_bytes())
    (tmp_path / "samples.yaml").write_text(yaml.safe_dump(data))
    assert main(["calibrate", "--from-folder", str(tmp_path), "--out", str(tmp_path / "x.yaml")]) == 2
    err = capsys.readouterr().err
    assert "realvlg calibrate: error: 3 usable robot pose(s)" in err and not (tmp_path / "x.yaml").exists()
    assert main(["calibrate", "--from-folder", str(tmp_path / "nowhere"), "--out", str(tmp_path / "x.yaml")]) == 2
    assert "samples.yaml" in capsys.readouterr().err

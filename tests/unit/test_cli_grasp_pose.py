"""`realvlg grasp-pose`: output on synthetic frames in every file format, extrinsics, bad input."""

import json
import math
import pathlib
import subprocess
import sys

import cv2
import numpy as np
import pytest
import tifffile
import yaml

from realvlg.cli import main
from realvlg.overlay import GREEN

CAM = dict(width=640, height=480, fx=600.0, fy=600.0, cx=320.0, cy=240.0)
PINHOLE = ["--fx", "600", "--fy", "600", "--cx", "320", "--cy", "240"]


@pytest.fixture
def plane_png(tmp_path):
    path = tmp_path / "depth.png"
    cv2.imwrite(str(path), np.full((480, 640), 500, np.uint16))  # 0.5 m in millimetres
    return path


def run(argv, capsys):
    code = main(["grasp-pose", *map(str, argv)])
    out, err = capsys.readouterr()
    assert "nan" not in out.lower()
    return code, out, err


def test_json_output_on_a_plane(plane_png, capsys):
    code, out, _ = run(["--depth", plane_png, *PINHOLE, "--contact", "300,240,340,240", "--json"], capsys)
    assert code == 0
    result = json.loads(out)
    assert set(result) == {"frame", "position", "quaternion", "width", "approach", "closing"}
    assert result["frame"] == "camera_color_optical_frame"
    np.testing.assert_allclose(result["position"], [0, 0, 0.51], atol=1e-6)
    np.testing.assert_allclose(result["approach"], [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(result["closing"], [1, 0, 0], atol=1e-6)
    assert np.linalg.norm(result["quaternion"]) == pytest.approx(1.0)
    assert result["width"] == pytest.approx(40 / 600 * 0.51 + 0.01, rel=1e-5)


def test_text_output_rect_and_intrinsics_yaml(plane_png, tmp_path, capsys):
    intrinsics = tmp_path / "camera.yaml"
    intrinsics.write_text(yaml.safe_dump(CAM))
    code, out, _ = run(["--depth", plane_png, "--intrinsics", intrinsics, "--rect", "320,240,90,40"], capsys)
    assert code == 0
    lines = dict(line.split(":", 1) for line in out.strip().splitlines())
    assert set(lines) == {"frame", "position", "quaternion", "width", "approach", "closing"}
    assert "+0.0000, +1.0000, +0.0000" in lines["closing"]  # θ = 90°: closing along image y
    assert lines["width"].strip() == f"{40 / 600 * 0.51 + 0.01:.4f} m"


def test_float_tiff_npy_and_ros_camera_info(tmp_path, capsys):
    depth = np.full((480, 640), 0.5, np.float32)
    depth[:10] = np.nan  # invalid rows far from the grasp
    tiff, npy = tmp_path / "d.tiff", tmp_path / "d.npy"
    tifffile.imwrite(tiff, depth)
    np.save(npy, depth)
    info = tmp_path / "camera_info.yaml"
    info.write_text(yaml.safe_dump({
        "image_width": 640, "image_height": 480, "camera_name": "d435i",
        "camera_matrix": {"rows": 3, "cols": 3, "data": [600, 0, 320, 0, 600, 240, 0, 0, 1]},
        "distortion_model": "plumb_bob", "distortion_coefficients": {"rows": 1, "cols": 5, "data": [0] * 5}}))
    results = []
    for path in (tiff, npy):
        # --depth-scale does not apply to float files (they are metres)
        code, out, _ = run(["--depth", path, "--intrinsics", info, "--depth-scale", "7",
                            "--contact", "300,240,340,240", "--json"], capsys)
        assert code == 0
        results.append(json.loads(out))
    assert results[0] == results[1]
    np.testing.assert_allclose(results[0]["position"], [0, 0, 0.51], atol=1e-6)


def test_extrinsics_report_the_grasp_in_the_parent_frame(plane_png, tmp_path, capsys):
    calib = tmp_path / "base_camera.yaml"
    calib.write_text(yaml.safe_dump({
        "parent": "base", "child": "camera_color_optical_frame", "translation": [0.4, 0.0, 0.6],
        "quaternion": [1.0, 0.0, 0.0, 0.0],  # camera looking straight down: 180° about x
        "method": "test", "date": "2026-11-23"}))
    code, out, _ = run(["--depth", plane_png, *PINHOLE, "--contact", "300,240,340,240",
                        "--extrinsics", calib, "--json"], capsys)
    assert code == 0
    result = json.loads(out)
    assert result["frame"] == "base"
    np.testing.assert_allclose(result["position"], [0.4, 0.0, 0.6 - 0.51], atol=1e-6)
    np.testing.assert_allclose(result["approach"], [0, 0, -1], atol=1e-6)  # downwards in the base frame
    np.testing.assert_allclose(result["closing"], [1, 0, 0], atol=1e-6)


def test_console_script_in_a_subprocess(plane_png):
    realvlg = str(pathlib.Path(sys.executable).parent / "realvlg")  # the installed entry point
    proc = subprocess.run([realvlg, "grasp-pose", "--depth", str(plane_png), *PINHOLE,
                           "--contact", "300,240,340,240", "--json"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["position"][2] == pytest.approx(0.51)
    bad = subprocess.run([realvlg, "grasp-pose", "--depth", str(plane_png), *PINHOLE,
                          "--contact", "300,240,300,240"], capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "px apart" in bad.stderr


@pytest.mark.parametrize("extra, message", [
    (["--contact", "700,240,740,240"], "outside the 640x480 image"),
    (["--contact", "300,240,300,240"], "px apart"),
    (["--contact", "nan,240,340,240"], "finite"),
    (["--contact", "300,240,inf,240"], "finite"),
    (["--contact", "300,240,340"], "4 comma-separated numbers"),
    (["--contact", "a,b,c,d"], "4 comma-separated numbers"),
    (["--rect", "320,240,0,400"], "wider than the gripper"),
    (["--contact", "300,240,340,240", "--max-width", "0.02"], "wider than the gripper"),
    (["--contact", "300,240,340,240", "--max-width", "nan"], "--max-width"),
    (["--contact", "300,240,340,240", "--depth-scale", "0"], "depth scale"),
])
def test_bad_grasp_input_exits_2_with_one_line(plane_png, capsys, extra, message):
    code, out, err = run(["--depth", plane_png, *PINHOLE, *extra], capsys)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and message in err and err.startswith("realvlg grasp-pose: error:")


def test_no_valid_depth_exits_2(tmp_path, capsys):
    path = tmp_path / "zeros.png"
    cv2.imwrite(str(path), np.zeros((480, 640), np.uint16))
    code, out, err = run(["--depth", path, *PINHOLE, "--contact", "300,240,340,240"], capsys)
    assert code == 2 and out == "" and "depth samples along the grasp line are valid" in err


def test_bad_files_exit_2(tmp_path, plane_png, capsys):
    rgb = tmp_path / "rgb.png"
    cv2.imwrite(str(rgb), np.zeros((48, 64, 3), np.uint8))
    cube = tmp_path / "cube.npy"
    np.save(cube, np.zeros((4, 4, 4)))
    garbage = tmp_path / "broken.tiff"
    garbage.write_bytes(b"not a tiff")
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("width: 640\nheight: [unclosed\n")
    bad_extrinsics = tmp_path / "bad_extrinsics.yaml"
    bad_extrinsics.write_text("parent: base\nchild: [unclosed\n")
    incomplete = tmp_path / "incomplete.yaml"
    incomplete.write_text("width: 640\nheight: 480\nfx: 600\n")
    cases = [
        (["--depth", tmp_path / "missing.png", *PINHOLE], "no such depth file"),
        (["--depth", tmp_path / "depth.jpg", *PINHOLE], "unknown depth file type"),
        (["--depth", rgb, *PINHOLE], "16-bit single-channel"),
        (["--depth", cube, *PINHOLE], "single-channel H x W"),
        (["--depth", garbage, *PINHOLE], "cannot read depth"),
        (["--depth", plane_png, "--intrinsics", bad_yaml], "cannot read intrinsics YAML"),
        (["--depth", plane_png, "--intrinsics", incomplete], "missing"),
        (["--depth", plane_png, "--intrinsics", tmp_path / "none.yaml"], "no such intrinsics file"),
        (["--depth", plane_png, "--fx", "600"], "--fx needs --fy --cx --cy"),
        (["--depth", plane_png, *PINHOLE, "--width", "320"], "intrinsics are for 320x480"),
        (["--depth", plane_png, *PINHOLE, "--extrinsics", tmp_path / "none.yaml"], "cannot read transform file"),
        (["--depth", plane_png, *PINHOLE, "--extrinsics", bad_extrinsics], "is not valid YAML"),
    ]
    for argv, message in cases:
        code, out, err = run([*argv, "--contact", "300,240,340,240"], capsys)
        assert code == 2 and out == "", argv
        assert err.count("\n") == 1 and message in err, (argv, err)


def test_argparse_rejects_missing_grasp(plane_png, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["grasp-pose", "--depth", str(plane_png), *PINHOLE])
    assert exc.value.code == 2
    assert "--contact" in capsys.readouterr().err


def test_rect_angle_in_degrees(plane_png, capsys):
    _, out, _ = run(["--depth", plane_png, *PINHOLE, "--rect", "320,240,45,40", "--json"], capsys)
    closing = json.loads(out)["closing"]
    np.testing.assert_allclose(closing, [math.sqrt(0.5), math.sqrt(0.5), 0], atol=1e-6)


def test_annotated_image(plane_png, tmp_path, capsys):
    out = tmp_path / "grasp.png"
    code, _, _ = run(["--depth", plane_png, *PINHOLE, "--contact", "300,240,340,240", "--annotate", out], capsys)
    assert code == 0
    drawn = cv2.imread(str(out))
    assert drawn.shape == (480, 640, 3)
    green_bgr = list(reversed(GREEN))
    assert drawn[240, 310].tolist() == drawn[240, 330].tolist() == green_bgr  # the fingertips' closing line
    colour = tmp_path / "colour.png"
    cv2.imwrite(str(colour), np.full((480, 640, 3), 90, np.uint8))
    code, _, _ = run(["--depth", plane_png, *PINHOLE, "--contact", "300,240,340,240", "--annotate", out,
                      "--image", colour], capsys)
    assert code == 0 and cv2.imread(str(out))[10, 10].tolist() == [90, 90, 90]
    small = tmp_path / "small.png"
    cv2.imwrite(str(small), np.zeros((48, 64, 3), np.uint8))
    code, out_text, err = run(["--depth", plane_png, *PINHOLE, "--contact", "300,240,340,240", "--annotate", out,
                               "--image", small], capsys)
    assert code == 2 and out_text == "" and "image is 64x48" in err

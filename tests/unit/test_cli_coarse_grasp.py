"""`realvlg coarse-grasp`: JSON and text output, the overlay, bad input as one line and exit code 2."""

import json

import cv2
import numpy as np
import pytest

from realvlg.cli import main

from tabletop import INTRINSICS, TABLE_DEPTH, Cuboid, render

PINHOLE = ["--fx", "300", "--fy", "300", "--cx", "159.5", "--cy", "119.5"]
OBJ = Cuboid(0.0, 0.01, length=0.09, width=0.04, height=0.05, yaw=0.5)


@pytest.fixture
def frame(tmp_path):
    color, depth, (mask,) = render([OBJ])
    cv2.imwrite(str(tmp_path / "color.png"), color[..., ::-1])
    cv2.imwrite(str(tmp_path / "depth.png"), np.round(depth * 1000).astype(np.uint16))  # millimetres
    cv2.imwrite(str(tmp_path / "mask.png"), mask.astype(np.uint8) * 255)
    ys, xs = np.nonzero(mask)
    box = f"{xs.min() - 12},{ys.min() - 12},{xs.max() + 12},{ys.max() + 12}"
    return tmp_path, box


def run(argv, capsys):
    code = main(["coarse-grasp", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_grasps_best_first_and_overlay(frame, capsys):
    d, box = frame
    overlay = d / "out" / "overlay.png"
    code, out, _ = run(["--color", d / "color.png", "--depth", d / "depth.png", *PINHOLE, "--bbox", box,
                        "--top", 3, "--json", "--overlay", overlay], capsys)
    assert code == 0
    grasps = json.loads(out)["grasps"]
    assert 1 <= len(grasps) <= 3
    assert set(grasps[0]) == {"position", "quaternion", "approach", "closing", "width", "score", "score_parts"}
    assert [g["score"] for g in grasps] == sorted((g["score"] for g in grasps), reverse=True)
    best = grasps[0]
    np.testing.assert_allclose(best["position"][:2], [OBJ.x, OBJ.y], atol=0.01)
    assert TABLE_DEPTH - OBJ.height < best["position"][2] < TABLE_DEPTH
    assert best["width"] == pytest.approx(OBJ.width, abs=0.006)
    assert np.linalg.norm(best["quaternion"]) == pytest.approx(1.0)
    image = cv2.imread(str(overlay))
    assert image.shape == (INTRINSICS.height, INTRINSICS.width, 3)
    # something was drawn: the overlay differs from the input colour image
    assert np.abs(image.astype(int) - cv2.imread(str(d / "color.png")).astype(int)).sum() > 0


def test_text_output_with_a_mask(frame, capsys):
    d, _ = frame
    code, out, _ = run(["--color", d / "color.png", "--depth", d / "depth.png", *PINHOLE, "--mask", d / "mask.png",
                        "--top", 1, "--overlay", d / "o.png"], capsys)
    assert code == 0 and out.startswith("#1 score") and "antipodal" in out and "#2" not in out


def test_bad_input_is_one_line_and_exit_2(frame, capsys):
    d, box = frame
    cv2.imwrite(str(d / "empty.png"), np.zeros((INTRINSICS.height, INTRINSICS.width), np.uint8))
    cv2.imwrite(str(d / "zeros.png"), np.zeros((INTRINSICS.height, INTRINSICS.width), np.uint16))
    common = ["--color", d / "color.png", *PINHOLE, "--overlay", d / "o.png"]
    for argv, pattern in (
            ([*common, "--depth", d / "depth.png", "--mask", d / "empty.png"], "no pixel"),
            ([*common, "--depth", d / "zeros.png", "--bbox", box], "valid depth"),
            ([*common, "--depth", d / "depth.png", "--bbox", "1,2,3"], "4 comma-separated"),
            ([*common, "--depth", d / "depth.png", "--bbox", box, "--backend", "graspnet"], "checkpoint")):
        code, out, err = run(argv, capsys)
        assert code == 2 and out == "" and pattern in err and len(err.strip().splitlines()) == 1

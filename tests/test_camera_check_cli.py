"""``realvlg camera-check`` on a librealsense recording and on a rosbag2, through its own parser."""

import argparse
import re

import cv2
import numpy as np
import pytest

from realvlg.cameras.realsense import RealSenseCamera
from realvlg.cli import camera_check
from realvlg.errors import InvalidInputError
from realvlg.recording import BagRecorder

from synthetic_camera import record_scene


def run_cli(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="realvlg")
    camera_check.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["camera-check", *argv])
    return args.func(args)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "scene.db3"
    record_scene(path, frames=4)
    return path


def test_camera_check_on_a_realsense_recording(recording, tmp_path, capsys):
    assert run_cli("--file", str(recording), "--frames", "10", "--out", str(tmp_path)) == 0
    out = capsys.readouterr().out
    assert "the recording ended after 4 of 10 frames" in out
    assert "30.0 frames/s by timestamps" in out
    assert "1280x720 colour" in out and "fx=909.15 fy=908.48 cx=650.31 cy=367.64" in out
    assert re.search(r"valid 9\d\.\d % \(last frame", out) and "serial_number 000000000000" in out
    with RealSenseCamera.from_file(recording) as cam:
        for _ in range(4):
            last = cam.read()
    np.testing.assert_array_equal(cv2.imread(str(tmp_path / "color.png"))[..., ::-1], last.color)
    depth_png = cv2.imread(str(tmp_path / "depth.png"))
    assert depth_png.shape == (720, 1280, 3)
    np.testing.assert_array_equal(depth_png.max(axis=2) == 0, last.depth == 0)


def test_camera_check_on_a_rosbag(recording, tmp_path, capsys):
    with RealSenseCamera.from_file(recording) as cam, BagRecorder(tmp_path / "bag") as rec:
        for _ in range(3):
            rec.write_rgbd(cam.read())
    assert run_cli("--backend", "replay", "--file", str(tmp_path / "bag"), "--frames", "3",
                   "--out", str(tmp_path / "out")) == 0
    out = capsys.readouterr().out
    assert "frames       3: " in out and "30.0 frames/s by timestamps" in out
    assert (tmp_path / "out" / "color.png").is_file() and (tmp_path / "out" / "depth.png").is_file()


def test_camera_check_refuses_bad_arguments(tmp_path):
    with pytest.raises(InvalidInputError, match="needs --file"):
        run_cli("--backend", "replay")
    with pytest.raises(InvalidInputError, match="at least 1"):
        run_cli("--file", str(tmp_path / "x.db3"), "--frames", "0")


def test_camera_errors_become_one_line_and_exit_code_2(tmp_path, monkeypatch, capsys):
    import realvlg.cli as cli

    monkeypatch.setattr(cli, "SUBCOMMAND_MODULES", ("realvlg.cli.camera_check",))
    assert cli.main(["camera-check", "--file", str(tmp_path / "missing.db3")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"realvlg camera-check: error: no RealSense recording at {tmp_path / 'missing.db3'}"
    assert cli.main(["camera-check", "--backend", "replay", "--file", str(tmp_path)]) == 2
    assert "is not a readable rosbag2 recording" in capsys.readouterr().err

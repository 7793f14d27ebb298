"""`realvlg calibrate --sim`: a ChArUco board on the simulated table, the FR3 swept through 12
poses by franky over franky-sim, 640×480 wrist-camera images; the recovered mount must match the
simulator's true one (calibration/sim_fr3_wrist_camera.yaml) to ≤ 2 mm and ≤ 0.2°."""

import math
import pathlib

import numpy as np
import pytest
import yaml

from realvlg.calibration.board import detect
from realvlg.calibration.data import load_folder
from realvlg.calibration.sim import SIM_BOARD, mount_error
from realvlg.cli import main
from realvlg.geometry.transforms import load_transform

pytestmark = pytest.mark.sim

TRUE_MOUNT = pathlib.Path(__file__).parents[2] / "calibration" / "sim_fr3_wrist_camera.yaml"


def test_sim_calibration_recovers_the_true_mount(tmp_path, capsys):
    folder, out = tmp_path / "samples", tmp_path / "sim_calibrated.yaml"
    assert main(["calibrate", "--sim", "--poses", "12", "--resolution", "640x480", "--save-folder", str(folder),
                 "--out", str(out)]) == 0
    print(capsys.readouterr().out)
    data = load_folder(folder)
    assert data.board == SIM_BOARD and (data.intrinsics.width, data.intrinsics.height) == (640, 480)
    assert len(data.images) == 12
    assert all(detect(SIM_BOARD, image) is not None for _, image, _ in data.read_images())

    result, truth = load_transform(out), load_transform(TRUE_MOUNT)
    dt, dr = mount_error(result, truth)
    print(f"mount error {result.metadata['method']}: {dt * 1e3:.2f} mm, {math.degrees(dr):.3f}°")
    assert dt <= 2e-3 and math.degrees(dr) <= 0.2
    assert result.metadata["samples"] == 12
    assert result.metadata["residuals"]["board_spread_max_m"] < 3e-3


def test_live_mode_without_a_camera_refuses_before_moving(tmp_path, capsys):
    """`--robot` against franky-sim on a machine without a RealSense: a clear error, no motion."""
    from realvlg.calibration.sim import start_board_world

    board_file = tmp_path / "board.yaml"
    board_file.write_text(yaml.safe_dump(SIM_BOARD.to_dict()))
    out = tmp_path / "live.yaml"
    world = start_board_world(width=320, height=240)
    try:
        before = world.hand_pose()
        argv = ["calibrate", "--robot", world.hostname, "--realtime", "ignore", "--yes", "--out", str(out)]
        assert main(argv) == 2
        assert "--robot needs --board" in capsys.readouterr().err
        assert main([*argv, "--board", str(board_file), "--camera-serial", "000000000000"]) == 2
        assert "realvlg calibrate: error: no RealSense device connected" in capsys.readouterr().err
        world.wait(0.2)
        assert np.abs(world.hand_pose() - before).max() < 1e-3 and not out.exists()
    finally:
        world.stop()

"""Calibration in simulation: a ChArUco board on the table of :class:`~realvlg.sim.fr3_world.FR3World`,
the FR3 swept through :func:`~realvlg.calibration.sweep.orbit_poses` around the observation pose
by :class:`~realvlg.robots.franka.franka.FrankaExecutor` over franky-sim, wrist-camera images rendered
at each pose and saved as a calibration folder (the same format as a real collection).

The board is a flat box on the table whose top face carries the board image as a MuJoCo 2D
texture (generated with ``cv2.aruco``, matte, no collisions). Its centre lies under the wrist
camera at the observation pose (0.465, 0, 0). The true mount is
``calibration/sim_fr3_wrist_camera.yaml``; :func:`mount_error` compares a result with it.
"""

from __future__ import annotations

import pathlib
import shutil
import tempfile
import xml.etree.ElementTree as ET

import cv2
import numpy as np

from realvlg.calibration.board import BoardSpec
from realvlg.calibration.data import save_folder
from realvlg.calibration.sweep import sweep_robot
from realvlg.errors import InvalidInputError
from realvlg.geometry.transforms import Transform

SIM_BOARD = BoardSpec("charuco", 0.05, squares_x=6, squares_y=5, marker_length=0.038, dictionary="DICT_4X4_50")
SIM_BOARD_CENTRE = (0.465, 0.0)   # base frame [m], on the table top
TEXTURE_PX_PER_SQUARE = 200
BOARD_THICKNESS = 0.002


def board_extra(board: BoardSpec, texture_file: pathlib.Path, centre_xy=SIM_BOARD_CENTRE, table_top: float = 0.0):
    """A :class:`~realvlg.sim.fr3_world.FR3WorldConfig` ``scene_extras`` entry: the board lying on the
    table, image up, its x axis along base +x. Writes the texture PNG to ``texture_file`` (it must
    exist until the world has started)."""
    cv2.imwrite(str(texture_file), board.image(TEXTURE_PX_PER_SQUARE))
    hx, hy = board.size[0] / 2, board.size[1] / 2

    def add(root: ET.Element, worldbody: ET.Element) -> None:
        asset = root.find("asset")
        ET.SubElement(asset, "texture", name="calibration_board", type="2d", file=str(texture_file.resolve()))
        ET.SubElement(asset, "material", name="calibration_board", texture="calibration_board",
                      texrepeat="1 1", texuniform="false", specular="0", shininess="0", reflectance="0")
        # A white sheet under the board (the quiet zone a printed board has around it).
        ET.SubElement(worldbody, "geom", name="calibration_sheet", type="box", contype="0", conaffinity="0",
                      pos=f"{centre_xy[0]} {centre_xy[1]} {table_top + BOARD_THICKNESS / 4}",
                      size=f"{hx + 0.03} {hy + 0.03} {BOARD_THICKNESS / 4}", rgba="1 1 1 1")
        ET.SubElement(worldbody, "geom", name="calibration_board", type="plane", contype="0", conaffinity="0",
                      pos=f"{centre_xy[0]} {centre_xy[1]} {table_top + BOARD_THICKNESS}",
                      size=f"{hx} {hy} 0.01", material="calibration_board")

    return add


def start_board_world(board: BoardSpec = SIM_BOARD, width: int = 640, height: int = 480,
                      hostname: str | None = None):
    """A started :class:`~realvlg.sim.fr3_world.FR3World` with ``board`` on the table, the robot at the
    observation pose, on a free loopback address unless ``hostname`` is given. Stop it after use."""
    from realvlg.sim.common import CameraConfig
    from realvlg.sim.fr3_world import FR3World, FR3WorldConfig, free_loopback_address

    tmp = pathlib.Path(tempfile.mkdtemp(prefix="realvlg-board-"))
    try:
        config = FR3WorldConfig(hostname=hostname or free_loopback_address(), camera=CameraConfig(width, height),
                             scene_extras=(board_extra(board, tmp / "board.png"),))
        return FR3World((), config).start()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)   # the compiled model holds the texture


def sweep_world(world, count: int = 12, progress: bool = True) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Move the world's robot (franky over franky-sim, from wherever it stands — the observation
    pose after start) through :func:`~realvlg.calibration.sweep.orbit_poses` about the board
    centre; returns the wrist-camera images and the robot's reported poses base←ee."""
    from realvlg.robots.franka import FrankaConfig, FrankaExecutor

    executor = FrankaExecutor(FrankaConfig(address=world.hostname))
    executor.connect()
    try:
        return sweep_robot(executor, lambda: world.render().color, (*SIM_BOARD_CENTRE, world.config.table_top), count,
                           settle=lambda: world.wait(0.3), progress=progress)
    finally:
        executor.disconnect()


def collect_sim_folder(folder: str | pathlib.Path, *, count: int = 12, width: int = 640, height: int = 480,
                       board: BoardSpec = SIM_BOARD, progress: bool = True) -> pathlib.Path:
    """Start a world with the board, sweep ``count`` poses, save the folder; returns samples.yaml's path."""
    world = start_board_world(board, width, height)
    try:
        images, measured = sweep_world(world, count, progress)
        return save_folder(folder, board, world.config.camera.intrinsics(), images, measured)
    finally:
        world.stop()


def mount_error(result: Transform, truth: Transform) -> tuple[float, float]:
    """(translation error [m], rotation error [rad]) between two ee←camera transforms."""
    if (result.parent, result.child) != (truth.parent, truth.child):
        raise InvalidInputError(f"frames differ: {result.parent}←{result.child} vs {truth.parent}←{truth.child}")
    dt = float(np.linalg.norm(result.translation - truth.translation))
    dr = float((truth.rotation.inv() * result.rotation).magnitude())
    return dt, dr


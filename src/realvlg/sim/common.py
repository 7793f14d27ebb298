"""What both simulated worlds (FR3 + Franka hand, UR10e + Shadow Hand) share: an object placement,
the paper's success check, the wrist camera model and the labelled RGB-D render.

Objects are MJCF bodies named ``OBJECT_PREFIX + name`` whose geoms are named
``OBJECT_PREFIX + name + "/" + index`` (see :meth:`realvlg.objects.ObjectSpec.mjcf_body`).
A render returns an :class:`~realvlg.observation.RGBDFrame`: RGB (uint8), metric depth in the
REP-103 optical frame (float32 m, 0 outside ``[near, far]``), the base←optical camera pose and
:class:`~realvlg.observation.SceneLabels` (object and part index per pixel, −1 elsewhere).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import mujoco
import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.frames import COLOR_OPTICAL_FRAME
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.transforms import Transform
from realvlg.objects import OBJECTS
from realvlg.observation import RGBDFrame, SceneLabels

OBJECT_PREFIX = "obj/"
D435I_FX_1280 = 910.0  # px at 1280×720


@dataclass(frozen=True)
class Placement:
    """One object on the table: its name in :data:`~realvlg.objects.OBJECTS`, the position of
    its footprint centre ``x, y`` in the base frame [m] and its ``yaw`` about z [rad]."""

    name: str
    x: float
    y: float
    yaw: float = 0.0


def placements_by_name(placements: Sequence[Placement], object_names: Sequence[str]) -> dict[str, Placement]:
    """``placements`` by object name; refuses objects the world was not built with."""
    wanted = {p.name: p for p in placements}
    unknown = set(wanted) - set(object_names)
    if unknown:
        raise InvalidInputError(f"this world has no {', '.join(sorted(unknown))}; build it with every object "
                                f"a reset may use ({', '.join(object_names)})")
    return wanted


@dataclass(frozen=True)
class GraspCheck:
    """The paper's success test: lifted ≥ ``min_lift`` above where it rested and still held."""

    lifted: bool
    held: bool
    height_gain: float

    @property
    def success(self) -> bool:
        return self.lifted and self.held

    @property
    def summary(self) -> str:
        if self.success:
            return "lifted and held"
        return f"not lifted (gain {self.height_gain * 100:.1f} cm)" if not self.lifted else "lifted but dropped"


@dataclass(frozen=True)
class CameraConfig:
    """A simulated wrist camera: resolution, mount (the FR3 hand frame; the UR10e world mounts its
    camera on the flange, see its module), clip range and focal length."""

    width: int = 1280
    height: int = 720
    mount_position: tuple[float, float, float] = (0.065, 0.0, 0.04)
    near: float = 0.03
    far: float = 4.0
    fx_1280: float = D435I_FX_1280  # focal length [px] at 1280 wide; it scales with the width

    @property
    def focal(self) -> float:
        return self.fx_1280 * self.width / 1280

    def intrinsics(self) -> CameraIntrinsics:
        return CameraIntrinsics(self.width, self.height, self.focal, self.focal,
                                (self.width - 1) / 2, (self.height - 1) / 2)

    @property
    def fovy_deg(self) -> float:
        return float(np.degrees(2 * np.arctan(self.height / 2 / self.focal)))


class SceneLabeller:
    """Per-geom object and part indices of a compiled model, for the labels of a render."""

    def __init__(self, model: mujoco.MjModel, object_names: Sequence[str]):
        self.object_names = tuple(object_names)
        self.geom_object = np.full(model.ngeom, -1, dtype=np.int16)
        self.geom_part = np.full(model.ngeom, -1, dtype=np.int16)
        labels = []
        for i, name in enumerate(self.object_names):
            body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, OBJECT_PREFIX + name)
            self.geom_object[model.geom_bodyid == body] = i
            for part, geoms in OBJECTS[name].parts.items():
                for k in geoms:
                    self.geom_part[mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_GEOM,
                                                     f"{OBJECT_PREFIX}{name}/{k}")] = len(labels)
                labels.append((name, part))
        self.part_names = tuple(labels)

    def part_geoms(self, name: str, part: str) -> np.ndarray:
        """Indices of the geoms that make up ``part`` of object ``name``."""
        return np.flatnonzero(self.geom_part == self.part_names.index((name, part)))

    def labels(self, segmentation: np.ndarray) -> SceneLabels:
        """Object and part labels of a MuJoCo segmentation render (H, W, 2: id, object type)."""
        geom = np.where(segmentation[..., 1] == int(mujoco.mjtObj.mjOBJ_GEOM), segmentation[..., 0], -1)
        valid, safe = geom >= 0, np.maximum(geom, 0)
        return SceneLabels(np.where(valid, self.geom_object[safe], -1).astype(np.int16),
                           np.where(valid, self.geom_part[safe], -1).astype(np.int16),
                           self.object_names, self.part_names)


def render_frame(renderer: mujoco.Renderer, data: mujoco.MjData, camera_id: int, camera: CameraConfig,
                 labeller: SceneLabeller, base_from_camera: np.ndarray, base_frame: str,
                 shadows: bool = True) -> RGBDFrame:
    """RGB, depth and labels of ``camera_id`` in state ``data``; ``base_from_camera`` is the 4x4
    base←optical pose of the same state. ``shadows=False`` skips the shadow map of the RGB pass
    (most of the CPU render time); depth and labels never need it."""
    flag = mujoco.mjtRndFlag.mjRND_SHADOW
    renderer.scene.flags[flag] = shadows
    renderer.update_scene(data, camera=camera_id)
    rgb = renderer.render().copy()
    renderer.scene.flags[flag] = False
    renderer.enable_depth_rendering()
    renderer.update_scene(data, camera=camera_id)
    depth = renderer.render().astype(np.float32)
    renderer.disable_depth_rendering()
    renderer.enable_segmentation_rendering()
    renderer.update_scene(data, camera=camera_id)
    segmentation = renderer.render()
    renderer.disable_segmentation_rendering()
    depth[(depth < camera.near) | (depth > camera.far)] = 0.0
    return RGBDFrame(rgb, depth, camera.intrinsics(), float(data.time), frame_id=COLOR_OPTICAL_FRAME,
                     base_from_camera=Transform(base_frame, COLOR_OPTICAL_FRAME, base_from_camera),
                     labels=labeller.labels(segmentation))

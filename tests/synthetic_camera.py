"""Synthetic RealSense recordings: a D435i-like rig, a plane-and-box scene, a software device.

A test helper (``from synthetic_camera import …`` in the tests; ``bench/camera_read.py`` puts the
repository root on its path), also handy for trying ``realvlg camera-check`` without a camera. Nothing here is a
stand-in for the camera code: :class:`SoftwareDeviceRecording` drives librealsense's own
``rs.software_device`` and ``rs.recorder`` to write a ``.db3`` that the RealSense backend plays back,
and :func:`render_depth` ray-casts the scene analytically so the tests know the exact answer.

Frames: the depth frame is the software device's depth sensor frame (REP-103 optical axes);
``rotation``/``translation`` map depth-frame points into the colour frame
(``p_color = R @ p_depth + t``), as ``rs.extrinsics`` from depth to colour does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyrealsense2 as rs
from scipy.spatial.transform import Rotation

from realvlg.geometry.camera import CameraIntrinsics


@dataclass(frozen=True)
class StereoRig:
    """Depth and colour intrinsics, depth→colour extrinsics and the depth unit of one device."""

    depth: CameraIntrinsics
    color: CameraIntrinsics
    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    depth_scale: float = 0.001


def d435i_rig(color_size: tuple[int, int] = (1280, 720), depth_size: tuple[int, int] = (1280, 720)) -> StereoRig:
    """Typical D435i factory values at 1280×720 (scaled for other sizes): colour fx ≈ 909 px
    (69° HFOV), depth fx ≈ 644 px (≈ 89° HFOV), colour imager 14.9 mm to the right of the depth
    origin and rotated by a few tenths of a degree."""
    color = CameraIntrinsics(1280, 720, 909.15, 908.48, 650.31, 367.64)
    depth = CameraIntrinsics(1280, 720, 643.90, 643.90, 637.92, 358.61)
    rotation = Rotation.from_rotvec(np.deg2rad([0.12, -0.25, 0.08])).as_matrix()
    return StereoRig(depth=depth.scaled(*depth_size), color=color.scaled(*color_size), rotation=rotation,
                     translation=np.array([0.0149, 0.0002, 0.0003]))


@dataclass(frozen=True)
class PlaneBoxScene:
    """A tilted table plane ``n·p = d`` and a box whose top face is the rectangle ``x_range × y_range``
    at depth ``box_top_z`` (its sides are not modelled), all in the depth camera frame, metres.
    ``hole`` = depth pixels ``(u0, v0, u1, v1)`` (exclusive ends) reported invalid, like an IR shadow."""

    normal: tuple[float, float, float] = (0.0, -0.25, 1.0)
    offset: float = 0.62
    box_top_z: float = 0.48
    x_range: tuple[float, float] = (-0.08, 0.06)
    y_range: tuple[float, float] = (-0.05, 0.07)
    hole: tuple[int, int, int, int] | None = (300, 150, 380, 210)


def render_depth(scene: PlaneBoxScene, intr: CameraIntrinsics, rotation: np.ndarray | None = None,
                 translation: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Ray-cast ``scene`` from a camera whose frame is ``p_cam = R @ p_depth + t``.

    Returns ``(z, on_box)``: for each pixel of ``intr``, the z of the hit point in the *depth* frame
    (what ``rs.align`` writes into the aligned image, float64 metres, 0 where nothing is hit) and
    whether the hit is on the box top. With the identity pose (the default) this is the depth image.
    """
    u, v = np.meshgrid(np.arange(intr.width), np.arange(intr.height))
    rays_cam = np.stack([(u - intr.cx) / intr.fx, (v - intr.cy) / intr.fy, np.ones_like(u, float)], axis=-1)
    R = np.eye(3) if rotation is None else np.asarray(rotation, float)
    t = np.zeros(3) if translation is None else np.asarray(translation, float)
    rays = rays_cam @ R  # R^T r per pixel: ray directions in the depth frame
    origin = -R.T @ t
    n = np.asarray(scene.normal, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        s_plane = (scene.offset - n @ origin) / (rays @ n)
        s_box = (scene.box_top_z - origin[2]) / rays[..., 2]
    hit_box = origin[:2] + s_box[..., None] * rays[..., :2]
    on_box = ((hit_box[..., 0] >= scene.x_range[0]) & (hit_box[..., 0] <= scene.x_range[1])
              & (hit_box[..., 1] >= scene.y_range[0]) & (hit_box[..., 1] <= scene.y_range[1])
              & (s_box > 0) & ((s_box < s_plane) | ~(s_plane > 0)))
    s = np.where(on_box, s_box, np.where(s_plane > 0, s_plane, 0.0))
    z = np.where(s > 0, origin[2] + s * rays[..., 2], 0.0)
    return z, on_box


def depth_image(scene: PlaneBoxScene, rig: StereoRig) -> np.ndarray:
    """The Z16 depth image (raw units of ``rig.depth_scale``) the depth sensor sees, hole = 0."""
    z, _ = render_depth(scene, rig.depth)
    raw = np.round(z / rig.depth_scale).astype(np.uint16)
    if scene.hole is not None:
        u0, v0, u1, v1 = scene.hole
        raw[v0:v1, u0:u1] = 0
    return raw


def color_image(scene: PlaneBoxScene, rig: StereoRig) -> np.ndarray:
    """An RGB8 image of the scene from the colour camera: a 32-px checkerboard on the table and an
    orange box top."""
    _, on_box = render_depth(scene, rig.color, rig.rotation, rig.translation)
    u, v = np.meshgrid(np.arange(rig.color.width), np.arange(rig.color.height))
    checker = ((u // 32 + v // 32) % 2).astype(np.uint8)
    rgb = np.stack([60 + 120 * checker, 90 + 100 * checker, 70 + 60 * checker], axis=-1).astype(np.uint8)
    rgb[on_box] = (230, 120, 30)
    return rgb


def with_frame_index(rgb: np.ndarray, index: int) -> np.ndarray:
    """A copy of ``rgb`` with ``index`` written into the top-left 16×16 block (R = index % 256,
    G = index // 256 % 256, B = 200) so a reader can tell which frame it got."""
    out = rgb.copy()
    out[:16, :16] = (index % 256, index // 256 % 256, 200)
    return out


def _video_stream(kind: rs.stream, uid: int, intr: CameraIntrinsics, fps: int, fmt: rs.format,
                  bpp: int) -> rs.video_stream:
    ri = rs.intrinsics()
    ri.width, ri.height, ri.fx, ri.fy, ri.ppx, ri.ppy = intr.width, intr.height, intr.fx, intr.fy, intr.cx, intr.cy
    ri.model, ri.coeffs = rs.distortion.brown_conrady, list(intr.distortion)
    vs = rs.video_stream()
    vs.type, vs.index, vs.uid = kind, 0, uid
    vs.width, vs.height, vs.fps, vs.bpp, vs.fmt, vs.intrinsics = intr.width, intr.height, fps, bpp, fmt, ri
    return vs


class SoftwareDeviceRecording:
    """Record frames of a librealsense ``software_device`` to a ``.db3`` file with ``rs.recorder``.

    ``with SoftwareDeviceRecording(path, rig) as rec: rec.write(i, depth_raw, rgb, t_s)``.
    ``streams`` picks the sensors (``"depth"``, ``"color"``); the device reports itself as a
    D435I with ``serial``. Playback pacing follows the wall-clock time of each ``write``.
    """

    def __init__(self, path: str | os.PathLike, rig: StereoRig, fps: int = 30,
                 streams: tuple[str, ...] = ("depth", "color"), serial: str = "000000000000") -> None:
        path = Path(path)
        if path.suffix != ".db3":
            raise ValueError(f"librealsense records to a '.db3' file name, got {path}")
        self.path, self.rig = path, rig
        self._dev = rs.software_device()
        self._dev.register_info(rs.camera_info.name, "Intel RealSense D435I")
        self._dev.register_info(rs.camera_info.serial_number, serial)
        self._sensors: dict[str, tuple[rs.software_sensor, rs.stream_profile, int]] = {}
        if "depth" in streams:
            sensor = self._dev.add_sensor("Stereo Module")
            profile = sensor.add_video_stream(_video_stream(rs.stream.depth, 0, rig.depth, fps, rs.format.z16, 2))
            sensor.add_read_only_option(rs.option.depth_units, rig.depth_scale)
            self._sensors["depth"] = (sensor, profile, 2)
        if "color" in streams:
            sensor = self._dev.add_sensor("RGB Camera")
            profile = sensor.add_video_stream(_video_stream(rs.stream.color, 1, rig.color, fps, rs.format.rgb8, 3))
            self._sensors["color"] = (sensor, profile, 3)
        if len(self._sensors) == 2:
            ext = rs.extrinsics()
            ext.rotation = np.asarray(rig.rotation, float).flatten(order="F").tolist()  # column-major
            ext.translation = np.asarray(rig.translation, float).tolist()
            self._sensors["depth"][1].register_extrinsics_to(self._sensors["color"][1], ext)
        self._recorder = rs.recorder(str(path), self._dev)
        for sensor, profile, _ in self._sensors.values():
            sensor.open(profile)
            sensor.start(lambda frame: None)

    def write(self, index: int, depth: np.ndarray | None, color: np.ndarray | None, timestamp: float) -> None:
        """Inject one frame per stream: ``depth`` Z16 (H, W) uint16, ``color`` RGB8 (H, W, 3) uint8,
        ``timestamp`` in seconds (device hardware clock)."""
        for name, pixels in (("depth", depth), ("color", color)):
            if pixels is None or name not in self._sensors:
                continue
            sensor, profile, bpp = self._sensors[name]
            frame = rs.software_video_frame()
            frame.pixels = np.ascontiguousarray(pixels).tobytes()
            frame.bpp, frame.stride = bpp, pixels.shape[1] * bpp
            frame.timestamp, frame.domain = timestamp * 1000.0, rs.timestamp_domain.hardware_clock
            frame.frame_number, frame.profile = index, profile.as_video_stream_profile()
            sensor.on_video_frame(frame)

    def close(self) -> None:
        if self._recorder is None:
            return
        for sensor, _, _ in self._sensors.values():
            sensor.stop()
            sensor.close()
        self._recorder = None  # the recorder writes the file out when released
        self._dev = None
        self._sensors = {}

    def __enter__(self) -> "SoftwareDeviceRecording":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def record_scene(path: str | os.PathLike, frames: int = 10, rig: StereoRig | None = None,
                 scene: PlaneBoxScene | None = None, fps: int = 30,
                 streams: tuple[str, ...] = ("depth", "color")) -> StereoRig:
    """Record ``frames`` frames of ``scene`` (default: the plane and box) to ``path`` (.db3)."""
    rig = rig or d435i_rig()
    scene = scene or PlaneBoxScene()
    depth, color = depth_image(scene, rig), color_image(scene, rig)
    with SoftwareDeviceRecording(path, rig, fps=fps, streams=streams) as rec:
        for i in range(frames):
            rec.write(i, depth, with_frame_index(color, i), 10.0 + i / fps)
    return rig

"""Depth images ↔ 3D points for a pinhole camera (REP-103 optical frame), vectorised.

Depth representation
--------------------
Raw sensor depth is ``uint16`` (or another integer type) in sensor units; ``depth_scale`` [m per
unit] turns it into metres (RealSense and GraspNet: 0.001). Float depth is already in metres and
``depth_scale`` does not apply to it. A pixel is *invalid* when its value is 0, negative, NaN or
±inf. In every float array realvlg hands out, invalid depth is **0.0** (never NaN), so
``depth > 0`` is the validity mask (:func:`valid_depth_mask` computes it for raw input too).
Organised point clouds follow the same rule: invalid pixels are (0, 0, 0).

Pixel convention: ``u`` = column (x, right), ``v`` = row (y, down), (0, 0) = centre of the
top-left pixel. A pixel (u, v) with depth z (along the optical axis, metres) back-projects to
``z · K⁻¹ [u, v, 1]ᵀ`` (the paper's eq. 15); a point (X, Y, Z) with Z > 0 projects to
``(fx X/Z + cx, fy Y/Z + cy)``.

Speed: back-projection multiplies depth by per-intrinsics ray grids ``(u - cx)/fx`` and
``(v - cy)/fy`` that are computed once per :class:`CameraIntrinsics` and cached (float32). For the
unorganised cloud, raw integer depth of the valid pixels is multiplied by rays pre-scaled with
``depth_scale`` (no separate metre-conversion pass), and pixels are gathered by boolean
compression of flat arrays, numpy's fastest gather.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics

DEFAULT_DEPTH_SCALE = 0.001  # m per unit: RealSense Z16 and GraspNet PNGs are millimetres


def as_depth_image(depth: Any, intrinsics: CameraIntrinsics | None = None) -> np.ndarray:
    """``depth`` as a 2-D integer or float array (no copy), checked against ``intrinsics``' size."""
    depth = np.asarray(depth)
    if depth.ndim != 2:
        raise InvalidInputError(f"a depth image must be 2-D (H, W), got shape {depth.shape}")
    if not (np.issubdtype(depth.dtype, np.integer) or np.issubdtype(depth.dtype, np.floating)):
        raise InvalidInputError(f"depth must hold integers or floats, got dtype {depth.dtype}")
    if intrinsics is not None and depth.shape != (intrinsics.height, intrinsics.width):
        raise InvalidInputError(
            f"depth image is {depth.shape[1]}x{depth.shape[0]} but the intrinsics are for "
            f"{intrinsics.width}x{intrinsics.height}; use intrinsics.scaled() or align depth first")
    return depth


def _check_rectified(intrinsics: CameraIntrinsics) -> None:
    if not intrinsics.is_rectified:
        raise InvalidInputError(
            f"back-projection needs a rectified image, but the intrinsics carry distortion "
            f"{intrinsics.distortion}; rectify (or align to the RealSense colour stream) first")


def _check_scale(depth_scale: float) -> float:
    scale = float(depth_scale)
    if not np.isfinite(scale) or scale <= 0:
        raise InvalidInputError(f"depth scale must be a positive number of metres per unit, got {depth_scale}")
    return scale


def depth_to_metres(depth: Any, depth_scale: float = DEFAULT_DEPTH_SCALE) -> np.ndarray:
    """Depth image → float32 metres with invalid pixels set to 0.0.

    Integer images are multiplied by ``depth_scale`` [m/unit]; float images are taken as metres.
    0, negative, NaN and ±inf become 0.0.
    """
    depth = as_depth_image(depth)
    if np.issubdtype(depth.dtype, np.integer):
        out = depth.astype(np.float32)
        out *= np.float32(_check_scale(depth_scale))
        if np.issubdtype(depth.dtype, np.signedinteger):
            out[out < 0] = 0.0
        return out
    out = depth.astype(np.float32, copy=True)
    out[~(out > 0) | ~np.isfinite(out)] = 0.0  # ~(x > 0) also catches NaN
    return out


def valid_depth_mask(depth: Any) -> np.ndarray:
    """Boolean mask of valid pixels (finite and > 0) of a raw or metric depth image."""
    depth = np.asarray(depth)
    if np.issubdtype(depth.dtype, np.floating):
        return (depth > 0) & np.isfinite(depth)
    return depth > 0


@lru_cache(maxsize=16)
def ray_grid(intrinsics: CameraIntrinsics, depth_scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Cached float32 rays ``(x_ray (W,), y_ray (H,))`` = ``((u - cx)/fx, (v - cy)/fy) · depth_scale``.

    A pixel (u, v) with raw depth d back-projects to ``(d·x_ray[u], d·y_ray[v], d·depth_scale)``.
    The arrays are shared between callers: read-only.
    """
    _check_rectified(intrinsics)
    x = ((np.arange(intrinsics.width) - intrinsics.cx) / intrinsics.fx * depth_scale).astype(np.float32)
    y = ((np.arange(intrinsics.height) - intrinsics.cy) / intrinsics.fy * depth_scale).astype(np.float32)
    x.flags.writeable = False
    y.flags.writeable = False
    return x, y


@lru_cache(maxsize=16)
def _flat_rays(intrinsics: CameraIntrinsics, depth_scale: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel rays flattened to (H·W,) float32 each, for compressing with a validity mask."""
    x, y = ray_grid(intrinsics, depth_scale)
    shape = (intrinsics.height, intrinsics.width)
    flat_x = np.broadcast_to(x[None, :], shape).ravel()  # ravel of a broadcast view copies
    flat_y = np.broadcast_to(y[:, None], shape).ravel()
    flat_x.flags.writeable = False
    flat_y.flags.writeable = False
    return flat_x, flat_y


def _scale_for(depth: np.ndarray, depth_scale: float) -> float:
    return _check_scale(depth_scale) if np.issubdtype(depth.dtype, np.integer) else 1.0


def backproject_image(depth: Any, intrinsics: CameraIntrinsics,
                      depth_scale: float = DEFAULT_DEPTH_SCALE) -> np.ndarray:
    """Organised point cloud, shape (H, W, 3) float32, metres, camera optical frame.

    Invalid pixels are (0, 0, 0); ``points[..., 2] > 0`` is the validity mask.
    """
    depth = as_depth_image(depth, intrinsics)
    x, y = ray_grid(intrinsics)
    out = np.empty(depth.shape + (3,), np.float32)
    z = depth_to_metres(depth, depth_scale)
    np.multiply(z, x[None, :], out=out[..., 0])
    np.multiply(z, y[:, None], out=out[..., 1])
    out[..., 2] = z
    return out


@dataclass(frozen=True, eq=False)
class PointCloud:
    """An unorganised cloud: ``points`` (N, 3) float32 metres in ``frame``, taken from the pixels
    where ``pixel_mask`` (H, W) is True, in row-major pixel order; optional ``colors`` (N, 3) in the
    colour image's dtype (uint8 0–255 or float 0–1)."""

    points: np.ndarray
    pixel_mask: np.ndarray
    colors: np.ndarray | None = None
    frame: str = "camera_color_optical_frame"

    def __len__(self) -> int:
        return len(self.points)

    @cached_property
    def pixels(self) -> np.ndarray:
        """(N,) flat pixel indices ``v * W + u`` of the points (computed on first use)."""
        return np.flatnonzero(self.pixel_mask)

    @property
    def uv(self) -> np.ndarray:
        """(N, 2) int pixel coordinates (u = column, v = row)."""
        v, u = np.divmod(self.pixels, self.pixel_mask.shape[1])
        return np.stack([u, v], axis=1)

    def to_open3d(self):
        """An ``open3d.geometry.PointCloud`` (float64, colours scaled to 0–1) for Open3D's ops."""
        import open3d as o3d

        cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(self.points.astype(np.float64)))
        if self.colors is not None:
            colors = self.colors.astype(np.float64)
            if np.issubdtype(self.colors.dtype, np.integer):
                colors /= 255.0
            cloud.colors = o3d.utility.Vector3dVector(colors)
        return cloud


def backproject_cloud(depth: Any, intrinsics: CameraIntrinsics, depth_scale: float = DEFAULT_DEPTH_SCALE,
                      mask: Any = None, colors: Any = None,
                      frame: str = "camera_color_optical_frame") -> PointCloud:
    """Point cloud of the valid pixels (optionally only those inside a boolean ``mask``), eq. 13–14.

    ``colors`` is an (H, W, 3) image registered to the depth (e.g. RealSense colour with aligned
    depth); its values at the kept pixels come along. Points are in row-major pixel order, as
    Open3D's ``create_from_depth_image`` gives them.
    """
    depth = as_depth_image(depth, intrinsics)
    scale = _scale_for(depth, depth_scale)
    keep = valid_depth_mask(depth)
    if mask is not None:
        mask = np.asarray(mask)
        if mask.shape != depth.shape:
            raise InvalidInputError(f"mask shape {mask.shape} differs from the depth image's {depth.shape}")
        keep &= mask.astype(bool, copy=False)
    flat_keep = keep.reshape(-1)
    # Boolean compression of flat 1-D arrays is numpy's fastest gather; rows of (N, 3) are not.
    d = depth.reshape(-1)[flat_keep].astype(np.float32, copy=False)
    ray_x, ray_y = _flat_rays(intrinsics, scale)
    points = np.empty((len(d), 3), np.float32)
    np.multiply(ray_x[flat_keep], d, out=points[:, 0])
    np.multiply(ray_y[flat_keep], d, out=points[:, 1])
    np.multiply(d, np.float32(scale), out=points[:, 2])
    picked = None
    if colors is not None:
        colors = np.asarray(colors)
        if colors.ndim != 3 or colors.shape[:2] != depth.shape or colors.shape[2] != 3:
            raise InvalidInputError(f"colour image must be (H, W, 3) matching depth {depth.shape}, got {colors.shape}")
        picked = np.empty((len(d), 3), colors.dtype)
        for channel in range(3):
            picked[:, channel] = colors[..., channel][keep]
    return PointCloud(points, keep, picked, frame)


def mask_to_cloud(depth: Any, mask: Any, intrinsics: CameraIntrinsics, depth_scale: float = DEFAULT_DEPTH_SCALE,
                  colors: Any = None, frame: str = "camera_color_optical_frame") -> PointCloud:
    """Object point cloud of a binary mask (the paper's eq. 13–14, D_obj = D ⊗ M, P = π⁻¹(D_obj, K)).

    Raises :class:`InvalidInputError` when the mask is empty.
    """
    mask = np.asarray(mask, dtype=bool)
    if not mask.any():
        raise InvalidInputError("the object mask is empty")
    return backproject_cloud(depth, intrinsics, depth_scale, mask=mask, colors=colors, frame=frame)


def backproject_pixels(u: Any, v: Any, z: Any, intrinsics: CameraIntrinsics) -> np.ndarray:
    """Points (N, 3) float64 [m] of pixels ``(u, v)`` (sub-pixel allowed) at depths ``z`` [m].

    All ``z`` must be finite and > 0 (sample them with :func:`sample_depth` and filter first).
    """
    _check_rectified(intrinsics)
    u, v, z = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (u, v, z)))
    if not (np.isfinite(u).all() and np.isfinite(v).all()):
        raise InvalidInputError("pixel coordinates must be finite")
    if not (np.isfinite(z) & (z > 0)).all():
        raise InvalidInputError("back-projection needs finite, positive depth for every pixel")
    return np.stack([(u - intrinsics.cx) / intrinsics.fx * z, (v - intrinsics.cy) / intrinsics.fy * z, z], axis=-1)


def project_points(points: Any, intrinsics: CameraIntrinsics) -> np.ndarray:
    """Pixels (N, 2) float64 ``(u, v)`` of points (N, 3) [m] in the optical frame; every Z must be
    finite and > 0 (in front of the camera). Pixels may fall outside the image: check with
    ``intrinsics.contains``."""
    _check_rectified(intrinsics)
    p = np.asarray(points, dtype=float)
    if p.shape[-1] != 3:
        raise InvalidInputError(f"points must have shape (..., 3), got {p.shape}")
    if not np.isfinite(p).all() or not (p[..., 2] > 0).all():
        raise InvalidInputError("projection needs finite points in front of the camera (Z > 0)")
    return np.stack([intrinsics.fx * p[..., 0] / p[..., 2] + intrinsics.cx,
                     intrinsics.fy * p[..., 1] / p[..., 2] + intrinsics.cy], axis=-1)


def sample_depth(depth: Any, u: Any, v: Any, depth_scale: float = DEFAULT_DEPTH_SCALE) -> np.ndarray:
    """Depth [m] (float64) at the nearest pixel of each ``(u, v)``; 0.0 where the pixel is invalid
    or off the image. Only the sampled pixels are converted, not the whole image."""
    depth = as_depth_image(depth)
    h, w = depth.shape
    col = np.rint(np.asarray(u, dtype=float))
    row = np.rint(np.asarray(v, dtype=float))
    inside = (col >= 0) & (col < w) & (row >= 0) & (row < h)  # NaN compares False: off the image
    out = np.zeros(np.broadcast(col, row).shape)
    raw = depth[row[inside].astype(np.intp), col[inside].astype(np.intp)]
    out[inside] = np.where(valid_depth_mask(raw), raw, 0) * _scale_for(depth, depth_scale)
    return out


def backproject_sampled(depth: Any, u: Any, v: Any, intrinsics: CameraIntrinsics,
                        depth_scale: float = DEFAULT_DEPTH_SCALE) -> tuple[np.ndarray, np.ndarray]:
    """Points (N, 3) float64 of pixels ``(u, v)`` with depth sampled from ``depth`` (nearest
    pixel), and their validity (N,). Rows without valid depth (or off the image) are (0, 0, 0)."""
    depth = as_depth_image(depth, intrinsics)
    u, v = np.broadcast_arrays(np.asarray(u, dtype=float).ravel(), np.asarray(v, dtype=float).ravel())
    z = sample_depth(depth, u, v, depth_scale)
    valid = z > 0
    points = np.zeros((len(z), 3))
    points[valid] = backproject_pixels(u[valid], v[valid], z[valid], intrinsics)
    return points, valid

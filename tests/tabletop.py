"""An analytic RGB-D tabletop for tests: cuboids on a table, seen by a pinhole camera looking
straight down (optical z = down). Depth is exact (ray–plane intersection of each top face);
side faces are not drawn."""

from dataclasses import dataclass

import numpy as np

from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.camera import CameraIntrinsics

INTRINSICS = CameraIntrinsics(320, 240, 300.0, 300.0, 159.5, 119.5)
TABLE_DEPTH = 0.60


@dataclass(frozen=True)
class Cuboid:
    x: float          # centre in the camera frame [m]
    y: float
    length: float     # along yaw [m]
    width: float      # across yaw [m]
    height: float     # above the table [m]
    yaw: float = 0.0  # rad, about the optical axis
    color: tuple = (200, 40, 40)


def render(objects, intrinsics=INTRINSICS, table_depth=TABLE_DEPTH):
    """(color uint8 HxWx3, depth float32 HxW metres, masks list of bool HxW)."""
    u, v = np.meshgrid(np.arange(intrinsics.width), np.arange(intrinsics.height))
    rx, ry = (u - intrinsics.cx) / intrinsics.fx, (v - intrinsics.cy) / intrinsics.fy
    depth = np.full(u.shape, table_depth, np.float32)
    color = np.full(u.shape + (3,), 120, np.uint8)
    masks = []
    for obj in objects:
        z = table_depth - obj.height
        px, py = rx * z - obj.x, ry * z - obj.y
        c, s = np.cos(obj.yaw), np.sin(obj.yaw)
        along, across = c * px + s * py, -s * px + c * py
        mask = (np.abs(along) <= obj.length / 2) & (np.abs(across) <= obj.width / 2) & (z < depth)
        depth[mask] = z
        color[mask] = obj.color
        masks.append(mask)
    return color, depth, masks


def box_around(mask, margin=12):
    """The box around a mask's pixels, grown by ``margin`` px (a detector's loose box)."""
    ys, xs = np.nonzero(mask)
    return BoundingBox(xs.min() - margin, ys.min() - margin, xs.max() + margin, ys.max() + margin)

"""Annotated images for people: a lifted grasp drawn over the colour (or depth) image."""

from __future__ import annotations

import cv2
import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import Grasp6D
from realvlg.geometry.projection import project_points

APPROACH_ARROW_M = 0.06  # drawn from this far behind the grasp centre along the approach


def depth_to_bgr(depth_m: np.ndarray) -> np.ndarray:
    """A colour-mapped view of metric depth (near = warm), invalid pixels black."""
    valid = depth_m > 0
    out = np.zeros(depth_m.shape + (3,), np.uint8)
    if valid.any():
        lo, hi = np.percentile(depth_m[valid], (1, 99))
        scaled = np.clip((depth_m - lo) / max(hi - lo, 1e-6), 0, 1)
        out = cv2.applyColorMap(((1 - scaled) * 255).astype(np.uint8), cv2.COLORMAP_TURBO)
        out[~valid] = 0
    return out


def draw_grasp(image_bgr: np.ndarray, grasp: Grasp6D, intrinsics: CameraIntrinsics,
               contacts_px: np.ndarray | None = None) -> np.ndarray:
    """A copy of ``image_bgr`` with ``grasp`` (in the camera optical frame) drawn on it: the
    fingertips' closing line (green), the approach arrow (blue, from 6 cm behind the centre), the
    2D contacts it came from (red) and the width and depth as text."""
    if image_bgr.shape[:2] != (intrinsics.height, intrinsics.width):
        raise InvalidInputError(f"image is {image_bgr.shape[1]}x{image_bgr.shape[0]}, intrinsics are for "
                                f"{intrinsics.width}x{intrinsics.height}")
    out = np.ascontiguousarray(image_bgr.copy())
    half = grasp.closing * grasp.width / 2
    points = np.stack([grasp.position - half, grasp.position + half, grasp.position,
                       grasp.position - APPROACH_ARROW_M * grasp.approach])
    tip1, tip2, centre, palm = (tuple(int(round(c)) for c in p) for p in project_points(points, intrinsics))
    thickness = max(1, intrinsics.width // 400)
    cv2.line(out, tip1, tip2, (0, 200, 0), thickness + 1, cv2.LINE_AA)
    cv2.arrowedLine(out, palm, centre, (255, 80, 0), thickness + 1, cv2.LINE_AA, tipLength=0.25)
    for tip in (tip1, tip2):
        cv2.circle(out, tip, 3 * thickness, (0, 200, 0), -1, cv2.LINE_AA)
    if contacts_px is not None:
        for x, y in np.asarray(contacts_px, dtype=float):
            cv2.circle(out, (int(round(x)), int(round(y))), 4 * thickness, (0, 0, 255), thickness, cv2.LINE_AA)
    label = f"w {grasp.width * 100:.1f} cm  z {grasp.position[2]:.3f} m"
    for colour, weight in (((0, 0, 0), thickness + 2), ((255, 255, 255), thickness)):  # outlined text
        cv2.putText(out, label, (tip2[0] + 8, tip2[1] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness + 0.2,
                    colour, weight, cv2.LINE_AA)
    return out

"""Annotated images of a grounding answer and the grasp derived from it.

:func:`draw_grounding` draws on a copy of an RGB image: the mask (tinted), the box, the rectangle
grasp (jaw sides thick, opening sides thin), the contact pair, the instruction and the verdict;
:func:`draw_grasp_projection` adds a 6-DoF grasp projected into the image (centre, closing axis
and fingertips). :func:`save_png` writes RGB arrays as PNG.
"""

from __future__ import annotations

import pathlib

import cv2
import numpy as np

from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import Grasp6D
from realvlg.geometry.projection import project_points
from realvlg.grounding.backend import GroundingResult

GREEN, RED, YELLOW, CYAN, MAGENTA = (40, 220, 60), (230, 40, 40), (250, 210, 0), (0, 200, 230), (230, 0, 200)


def _pt(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _caption(image: np.ndarray, lines: list[str]) -> None:
    scale = max(0.4, image.shape[1] / 1600)
    y = int(22 * scale / 0.5)
    for line in lines:
        cv2.putText(image, line, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(image, line, (8, y), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA)
        y += int(20 * scale / 0.5)


def draw_grounding(image: np.ndarray, result: GroundingResult | None, instruction: str = "",
                   message: str = "") -> np.ndarray:
    """A copy of ``image`` (RGB uint8 HxWx3) with ``result`` drawn on it and a caption."""
    out = np.ascontiguousarray(image, dtype=np.uint8).copy()
    thickness = max(1, out.shape[1] // 400)
    caption = [f'"{instruction}"'] if instruction else []
    if result is not None and result.valid:
        if result.mask is not None:
            m = np.asarray(result.mask, bool)
            out[m] = (0.55 * out[m] + 0.45 * np.array(MAGENTA)).astype(np.uint8)
        if result.box is not None:
            b = result.box
            cv2.rectangle(out, _pt((b.x_min, b.y_min)), _pt((b.x_max, b.y_max)), GREEN, thickness, cv2.LINE_AA)
        if result.rect is not None:
            c = result.rect.corners()
            for i, colour, t in ((0, YELLOW, thickness), (1, RED, 2 * thickness),
                                 (2, YELLOW, thickness), (3, RED, 2 * thickness)):
                cv2.line(out, _pt(c[i]), _pt(c[(i + 1) % 4]), colour, t, cv2.LINE_AA)
        if result.contact is not None:
            p1, p2 = result.contact.points
            cv2.line(out, _pt(p1), _pt(p2), CYAN, thickness, cv2.LINE_AA)
            for p in (p1, p2):
                cv2.circle(out, _pt(p), 3 * thickness + 2, RED, -1, cv2.LINE_AA)
        caption.append(f"{result.task} by {result.backend or 'backend'}"
                       + (f", agreement {result.agreement:.2f}" if result.samples > 1 else ""))
    elif result is not None:
        caption.append(f"invalid answer ({result.reason.value}): {result.message[:90]}")
    if message:
        caption.append(message[:110])
    _caption(out, caption)
    return out


def draw_grasp_projection(image: np.ndarray, grasp: Grasp6D, intrinsics: CameraIntrinsics,
                          finger_length: float = 0.05) -> np.ndarray:
    """A copy of ``image`` with a camera-frame 6-DoF grasp drawn as a projected gripper: the two
    fingers (from the fingertips back along the approach) and the closing line."""
    out = np.ascontiguousarray(image, dtype=np.uint8).copy()
    half = grasp.closing * grasp.width / 2
    tips = [grasp.position - half, grasp.position + half]
    backs = [t - grasp.approach * finger_length for t in tips]
    pts = np.array(tips + backs)
    if not (pts[:, 2] > 1e-3).all():
        return out  # behind the camera: nothing sensible to draw
    uv = project_points(pts, intrinsics)
    thickness = max(1, out.shape[1] // 320)
    cv2.line(out, _pt(uv[0]), _pt(uv[1]), GREEN, thickness, cv2.LINE_AA)
    for tip, back in ((0, 2), (1, 3)):
        cv2.line(out, _pt(uv[tip]), _pt(uv[back]), GREEN, 2 * thickness, cv2.LINE_AA)
    cv2.line(out, _pt(uv[2]), _pt(uv[3]), GREEN, thickness, cv2.LINE_AA)
    return out


def save_png(image: np.ndarray, path: str | pathlib.Path) -> pathlib.Path:
    """Write an RGB uint8 image as PNG (parents created)."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")
    return path

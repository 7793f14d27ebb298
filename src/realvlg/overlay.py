"""Annotated images of a grounding answer and the grasp derived from it.

:func:`draw_grounding` draws on a copy of an RGB image: the mask (tinted), the box, the rectangle
grasp (jaw sides thick, opening sides thin), the contact pair, the instruction and the verdict;
:func:`draw_grasp` adds a 6-DoF grasp projected into the image (fingertips, approach arrow, the
2D contacts it came from); :func:`depth_to_rgb` colour-maps metric depth; :func:`save_image` writes
RGB arrays to PNG/JPEG files.
"""

from __future__ import annotations

import pathlib

import cv2
import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import Grasp6D
from realvlg.geometry.projection import project_points
from realvlg.grounding.backend import GroundingResult

GREEN, RED, YELLOW, CYAN, MAGENTA, BLUE = (40, 220, 60), (230, 40, 40), (250, 210, 0), (0, 200, 230), (230, 0, 200), (0, 80, 255)


# OpenCV's Hershey fonts draw ASCII only ("7°" came out "7??"): the symbols our messages use, spelled out
_ASCII = str.maketrans({"°": " deg", "←": "<-", "→": "->", "—": "-", "–": "-", "…": "...", "×": "x", "≥": ">=",
                        "≤": "<=", "·": ".", "±": "+/-", "µ": "u"})


def hershey_text(text: str) -> str:
    """``text`` as cv2.putText can draw it: the symbols above spelled out, other non-ASCII as '?'."""
    return text.translate(_ASCII).encode("ascii", "replace").decode("ascii")


def _pt(p) -> tuple[int, int]:
    return int(round(float(p[0]))), int(round(float(p[1])))


def _caption(image: np.ndarray, lines: list[str]) -> None:
    scale = max(0.4, image.shape[1] / 1600)
    y = int(22 * scale / 0.5)
    for line in map(hershey_text, lines):
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


APPROACH_ARROW_M = 0.06  # the approach arrow starts this far behind the grasp centre


def depth_to_rgb(depth_m: np.ndarray) -> np.ndarray:
    """A colour-mapped view of metric depth (near = warm), invalid pixels black."""
    valid = depth_m > 0
    out = np.zeros(depth_m.shape + (3,), np.uint8)
    if valid.any():
        lo, hi = np.percentile(depth_m[valid], (1, 99))
        scaled = np.clip((depth_m - lo) / max(hi - lo, 1e-6), 0, 1)
        out = cv2.applyColorMap(((1 - scaled) * 255).astype(np.uint8), cv2.COLORMAP_TURBO)[..., ::-1].copy()
        out[~valid] = 0
    return out


def draw_grasp(image: np.ndarray, grasp: Grasp6D, intrinsics: CameraIntrinsics,
               contacts_px: np.ndarray | None = None) -> np.ndarray:
    """A copy of ``image`` (RGB) with a camera-frame 6-DoF grasp drawn on it: the fingertips'
    closing line (green), the approach arrow (blue, from 6 cm behind the centre), the 2D contacts it
    came from (red circles) and its width and depth as text. A grasp behind the camera is not drawn."""
    if image.shape[:2] != (intrinsics.height, intrinsics.width):
        raise InvalidInputError(f"image is {image.shape[1]}x{image.shape[0]}, intrinsics are for "
                                f"{intrinsics.width}x{intrinsics.height}")
    out = np.ascontiguousarray(image, dtype=np.uint8).copy()
    half = grasp.closing * grasp.width / 2
    points = np.stack([grasp.position - half, grasp.position + half, grasp.position,
                       grasp.position - APPROACH_ARROW_M * grasp.approach])
    if not (points[:, 2] > 1e-3).all():
        return out
    tip1, tip2, centre, palm = (_pt(p) for p in project_points(points, intrinsics))
    thickness = max(1, intrinsics.width // 400)
    cv2.line(out, tip1, tip2, GREEN, thickness + 1, cv2.LINE_AA)
    cv2.arrowedLine(out, palm, centre, BLUE, thickness + 1, cv2.LINE_AA, tipLength=0.25)
    for tip in (tip1, tip2):
        cv2.circle(out, tip, 3 * thickness, GREEN, -1, cv2.LINE_AA)
    if contacts_px is not None:
        for p in np.asarray(contacts_px, dtype=float):
            cv2.circle(out, _pt(p), 4 * thickness, RED, thickness, cv2.LINE_AA)
    label = f"w {grasp.width * 100:.1f} cm  z {grasp.position[2]:.3f} m"
    for colour, weight in (((0, 0, 0), thickness + 2), ((255, 255, 255), thickness)):  # outlined text
        cv2.putText(out, label, (tip2[0] + 8, tip2[1] - 8), cv2.FONT_HERSHEY_SIMPLEX, 0.4 * thickness + 0.2,
                    colour, weight, cv2.LINE_AA)
    return out


def save_image(image: np.ndarray, path: str | pathlib.Path) -> pathlib.Path:
    """Write an RGB uint8 image (format from the suffix: .png, .jpg, …; parents created);
    raises OSError when it cannot be written."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        written = cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))
    except cv2.error as exc:
        raise OSError(f"could not write {path}: {exc.err}") from None
    if not written:
        raise OSError(f"could not write {path}")
    return path

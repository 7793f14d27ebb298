"""The one camera-intrinsics type of realvlg (pinhole, plumb_bob / Brown-Conrady distortion)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from realvlg.errors import InvalidInputError

DISTORTION_MODELS = ("plumb_bob", "brown_conrady")   # the same 5-coefficient model

@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of one image stream.

    ``fx, fy`` are focal lengths and ``cx, cy`` the principal point, all in pixels, with (0, 0) the
    centre of the top-left pixel. ``distortion`` holds plumb_bob coefficients (k1, k2, p1, p2, k3);
    realvlg's back-projection assumes a rectified image (RealSense colour and aligned depth are) and
    refuses non-zero distortion where it matters.
    """

    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: tuple[float, ...] = field(default=(0.0, 0.0, 0.0, 0.0, 0.0))

    def __post_init__(self) -> None:
        values = (self.fx, self.fy, self.cx, self.cy, *self.distortion)
        if not all(math.isfinite(float(v)) for v in values):
            raise InvalidInputError(f"camera intrinsics must be finite numbers, got {self}")
        if self.width <= 0 or self.height <= 0:
            raise InvalidInputError(f"image size must be positive, got {self.width}x{self.height}")
        if self.fx <= 0 or self.fy <= 0:
            raise InvalidInputError(f"focal lengths must be positive, got fx={self.fx}, fy={self.fy}")

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def from_matrix(cls, K: Any, width: int, height: int, distortion: Any = None) -> "CameraIntrinsics":
        """From a 3x3 camera matrix ``K`` (row-major, as in ``CameraInfo.k`` or OpenCV)."""
        K = np.asarray(K, dtype=float).reshape(3, 3)
        if abs(K[0, 1]) > 1e-9 or np.any(np.abs(K[2] - (0.0, 0.0, 1.0)) > 1e-9) or abs(K[1, 0]) > 1e-9:
            raise InvalidInputError(f"not a pinhole camera matrix (skew or bad last row): {K.tolist()}")
        dist = tuple(float(d) for d in distortion) if distortion is not None and len(distortion) else (0.0,) * 5
        return cls(int(width), int(height), float(K[0, 0]), float(K[1, 1]), float(K[0, 2]), float(K[1, 2]), dist)

    @classmethod
    def from_camera_info(cls, msg: Any) -> "CameraIntrinsics":
        """From a ``sensor_msgs/CameraInfo`` of any binding (duck-typed: ``k``, ``d``,
        ``distortion_model``, ``width``, ``height``). Accepts plumb_bob / brown_conrady with 5 (or
        no) coefficients; refuses an unfilled message (zero size or all-zero K)."""
        d = list(msg.d)
        if d and msg.distortion_model not in DISTORTION_MODELS:
            raise InvalidInputError(f"unsupported distortion model {msg.distortion_model!r} with {len(d)} "
                                    f"coefficients; realvlg reads {', '.join(DISTORTION_MODELS)}")
        if d and len(d) != 5:
            raise InvalidInputError(f"{msg.distortion_model} needs 5 distortion coefficients, got {len(d)}")
        if msg.width == 0 or msg.height == 0 or not any(msg.k):
            raise InvalidInputError("CameraInfo is not filled in (zero size or all-zero K): camera not calibrated?")
        return cls.from_matrix(list(msg.k), msg.width, msg.height, d)

    @classmethod
    def from_realsense(cls, intr: Any) -> "CameraIntrinsics":
        """From ``pyrealsense2.intrinsics`` (``fx, fy, ppx, ppy, width, height, coeffs``)."""
        return cls(int(intr.width), int(intr.height), float(intr.fx), float(intr.fy),
                   float(intr.ppx), float(intr.ppy), tuple(float(c) for c in intr.coeffs))

    @classmethod
    def from_dict(cls, d: dict) -> "CameraIntrinsics":
        """From ``{width, height, fx, fy, cx, cy[, distortion]}`` (the YAML layout of ``to_dict``)."""
        try:
            return cls(int(d["width"]), int(d["height"]), float(d["fx"]), float(d["fy"]),
                       float(d["cx"]), float(d["cy"]),
                       tuple(float(v) for v in d.get("distortion") or (0.0,) * 5))
        except KeyError as exc:
            raise InvalidInputError(f"intrinsics need width, height, fx, fy, cx, cy; missing {exc}") from None

    # -- views ---------------------------------------------------------------------------------
    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def is_rectified(self) -> bool:
        return not any(self.distortion)

    def to_dict(self) -> dict:
        return {"width": self.width, "height": self.height, "fx": self.fx, "fy": self.fy,
                "cx": self.cx, "cy": self.cy, "distortion": list(self.distortion)}

    def scaled(self, width: int, height: int) -> "CameraIntrinsics":
        """The same camera seen at another resolution (a plain resize of the whole image)."""
        sx, sy = width / self.width, height / self.height
        # Pixel centres: u' + 0.5 = (u + 0.5) * s.
        return CameraIntrinsics(width, height, self.fx * sx, self.fy * sy,
                                (self.cx + 0.5) * sx - 0.5, (self.cy + 0.5) * sy - 0.5, self.distortion)

    def contains(self, u: Any, v: Any) -> np.ndarray:
        """Whether pixel coordinates lie on the image (within half a pixel of the border centres)."""
        u, v = np.asarray(u, dtype=float), np.asarray(v, dtype=float)
        return (u >= -0.5) & (u <= self.width - 0.5) & (v >= -0.5) & (v <= self.height - 0.5)

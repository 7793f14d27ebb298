"""The grasp types of realvlg: one per concept.

* :class:`RectGrasp` — a rectangle grasp on an image (the paper's (x, y, θ, w)).
* :class:`ContactPair` — two finger contact points on an image.
* :class:`Grasp6D` — a parallel-jaw grasp pose in 3D.

Image conventions: x (column) right, y (row) down, pixels. A rectangle's ``theta`` [rad] is
``atan2(dy, dx)`` of its opening direction (the direction the fingers close along) in image axes
and is meaningful modulo π; ``width`` [px] is the opening, the side along ``theta``; ``jaw`` [px]
the finger size, the side across it (40 px by default, as the official RealVLG-R1 code draws it).
Corner order: corner0→corner1 runs along the opening direction, corner1→corner2 along the jaw,
so the opening width is the distance between the midpoints of edges 0–3 and 1–2 — the layout of
RealVLG-11B / Cornell ground-truth polygons.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError

DEFAULT_JAW_PX = 40.0
IOU_GRID_PX = 1e-6


def _finite(name: str, *values: float) -> None:
    if not all(math.isfinite(float(v)) for v in values):
        raise InvalidInputError(f"{name} needs finite numbers, got {values}")


def wrap_angle_pi(theta):
    """Map an angle (or array) [rad] to [-π/2, π/2): the representative of θ modulo π."""
    return (np.asarray(theta, dtype=float) + math.pi / 2) % math.pi - math.pi / 2


def angle_diff_pi(a, b):
    """Absolute difference [rad] of two line directions, modulo π, in [0, π/2]."""
    return np.abs(wrap_angle_pi(np.asarray(a, dtype=float) - np.asarray(b, dtype=float)))


@dataclass(frozen=True)
class RectGrasp:
    """Rectangle grasp: centre ``x, y`` [px], opening direction ``theta`` [rad], opening
    ``width`` [px], finger size ``jaw`` [px]. See the module docstring for the conventions."""

    x: float
    y: float
    theta: float
    width: float
    jaw: float = DEFAULT_JAW_PX

    def __post_init__(self) -> None:
        _finite("RectGrasp", self.x, self.y, self.theta, self.width, self.jaw)
        if self.width < 0 or self.jaw < 0:
            raise InvalidInputError(f"grasp width and jaw must be non-negative, got {self.width}, {self.jaw}")

    @property
    def center(self) -> np.ndarray:
        return np.array([self.x, self.y])

    @property
    def direction(self) -> np.ndarray:
        """Unit opening direction in image axes."""
        return np.array([math.cos(self.theta), math.sin(self.theta)])

    @classmethod
    def from_degrees(cls, x: float, y: float, theta_deg: float, width: float,
                     jaw: float = DEFAULT_JAW_PX) -> "RectGrasp":
        """From the paper's answer (x, y, θ in degrees, w)."""
        return cls(float(x), float(y), math.radians(float(theta_deg)), float(width), float(jaw))

    def corners(self) -> np.ndarray:
        """The 4 corners, shape (4, 2), in the order of the module docstring."""
        d = self.direction * (self.width / 2)
        n = np.array([-self.direction[1], self.direction[0]]) * (self.jaw / 2)
        c = self.center
        return np.stack([c - d - n, c + d - n, c + d + n, c - d + n])

    @classmethod
    def from_corners(cls, corners) -> "RectGrasp":
        """From 4 corners (4x2 or a flat [x0, y0, …, x3, y3]) with corner0→corner1 the opening."""
        p = np.asarray(corners, dtype=float).reshape(4, 2)
        _finite("rectangle corners", *p.ravel())
        opening = (p[1] + p[2]) / 2 - (p[0] + p[3]) / 2
        across = (p[2] + p[3]) / 2 - (p[0] + p[1]) / 2
        return cls(float(p[:, 0].mean()), float(p[:, 1].mean()),
                   math.atan2(opening[1], opening[0]), float(np.hypot(*opening)), float(np.hypot(*across)))

    def contacts(self) -> "ContactPair":
        """The two ends of the opening segment (where the fingers touch a fully-filling object)."""
        d = self.direction * (self.width / 2)
        return ContactPair(*(self.center - d), *(self.center + d))

    def polygon(self) -> shapely.Polygon:
        return shapely.Polygon(self.corners())

    def iou(self, other: "RectGrasp") -> float:
        """Exact intersection-over-union of the two rotated rectangles."""
        return float(rect_iou(self.corners()[None], other.corners()[None])[0])

    def is_equivalent(self, other: "RectGrasp", tol: float = 1e-6) -> bool:
        """Same rectangle up to θ ↔ θ + π."""
        return (abs(self.x - other.x) < tol and abs(self.y - other.y) < tol
                and abs(self.width - other.width) < tol and abs(self.jaw - other.jaw) < tol
                and float(angle_diff_pi(self.theta, other.theta)) < tol)


@dataclass(frozen=True)
class ContactPair:
    """Two finger contact points (x1, y1), (x2, y2) [px] on an image."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        _finite("ContactPair", self.x1, self.y1, self.x2, self.y2)

    @property
    def points(self) -> np.ndarray:
        return np.array([[self.x1, self.y1], [self.x2, self.y2]])

    @property
    def length(self) -> float:
        return float(math.hypot(self.x2 - self.x1, self.y2 - self.y1))

    def to_rect(self, jaw: float = DEFAULT_JAW_PX) -> RectGrasp:
        """The rectangle whose opening segment is this pair, with a fixed jaw size [px]."""
        if self.length == 0:
            raise InvalidInputError("a contact pair with both points equal has no closing direction")
        return RectGrasp((self.x1 + self.x2) / 2, (self.y1 + self.y2) / 2,
                         math.atan2(self.y2 - self.y1, self.x2 - self.x1), self.length, jaw)


def rect_iou(corners_a, corners_b) -> np.ndarray:
    """Exact IoU of rotated rectangles (or any convex quadrilaterals), pairwise.

    ``corners_a`` and ``corners_b`` have shape (N, 4, 2) (broadcastable); returns shape (N,).
    Degenerate (zero-area) pairs give 0.

    The intersection uses GEOS's snap-rounding overlay on a 1e-6 px grid (inputs snapped to it too): with floating-point
    overlay, rectangles whose edges nearly coincide (the same grasp written with θ and θ + π)
    can come back as an empty intersection.
    """
    a = shapely.set_precision(shapely.polygons(np.asarray(corners_a, dtype=float)), IOU_GRID_PX)
    b = shapely.set_precision(shapely.polygons(np.asarray(corners_b, dtype=float)), IOU_GRID_PX)
    inter = shapely.area(shapely.intersection(a, b, grid_size=IOU_GRID_PX))
    union = shapely.area(a) + shapely.area(b) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.clip(np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0), 0.0, 1.0)


@dataclass(frozen=True)
class Grasp6D:
    """A parallel-jaw grasp pose.

    ``position`` [m] is the grasp centre (midway between the fingertips' contact points) in
    ``frame``; ``rotation`` maps gripper axes to ``frame``: its matrix columns are x = y × z,
    y = closing direction, z = approach direction. ``width`` [m] is the opening between the
    contacts. ``score`` is backend-defined (higher is better).
    """

    position: np.ndarray
    rotation: Rotation
    width: float
    frame: str = "camera_color_optical_frame"
    score: float = 1.0
    extras: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        position = np.asarray(self.position, dtype=float).reshape(3)
        object.__setattr__(self, "position", position)
        _finite("Grasp6D", *position, self.width, *self.rotation.as_quat())

    @classmethod
    def from_axes(cls, position, approach, closing, width: float, **kw) -> "Grasp6D":
        """From an approach and a closing direction; ``closing`` is orthogonalised against
        ``approach`` (Gram–Schmidt) so the frame is right-handed and orthonormal."""
        z = np.asarray(approach, dtype=float)
        z = z / np.linalg.norm(z)
        y = np.asarray(closing, dtype=float)
        y = y - z * float(y @ z)
        norm = np.linalg.norm(y)
        if not np.isfinite(norm) or norm < 1e-9:
            raise InvalidInputError("closing direction is parallel to the approach direction")
        y = y / norm
        return cls(position, Rotation.from_matrix(np.column_stack([np.cross(y, z), y, z])), float(width), **kw)

    @property
    def matrix(self) -> np.ndarray:
        return self.rotation.as_matrix()

    @property
    def approach(self) -> np.ndarray:
        return self.matrix[:, 2]

    @property
    def closing(self) -> np.ndarray:
        return self.matrix[:, 1]

    @property
    def quaternion_xyzw(self) -> np.ndarray:
        return self.rotation.as_quat(canonical=True)  # w >= 0; scipy's order is (x, y, z, w)

    def homogeneous(self) -> np.ndarray:
        """4x4 transform frame←gripper."""
        T = np.eye(4)
        T[:3, :3] = self.matrix
        T[:3, 3] = self.position
        return T

    def transformed(self, T_target_frame: np.ndarray, target_frame: str) -> "Grasp6D":
        """This grasp expressed in ``target_frame``, given the 4x4 transform target←``frame``."""
        T = np.asarray(T_target_frame, dtype=float) @ self.homogeneous()
        return Grasp6D(T[:3, 3], Rotation.from_matrix(T[:3, :3]), self.width, target_frame, self.score, self.extras)

    def as_dict(self) -> dict:
        return {"frame": self.frame, "position": self.position.tolist(),
                "quaternion": self.quaternion_xyzw.tolist(), "width": self.width,
                "approach": self.approach.tolist(), "closing": self.closing.tolist(), "score": self.score}


def to_graspnet_rotation(R: np.ndarray) -> np.ndarray:
    """realvlg gripper rotation (z = approach, y = closing) → graspnetAPI's (x = approach,
    y = closing, z = x × y). Columns [z, y, -x]."""
    R = np.asarray(R, dtype=float)
    return np.stack([R[..., 2], R[..., 1], -R[..., 0]], axis=-1)


def from_graspnet_rotation(R: np.ndarray) -> np.ndarray:
    """Inverse of :func:`to_graspnet_rotation`."""
    R = np.asarray(R, dtype=float)
    return np.stack([-R[..., 2], R[..., 1], R[..., 0]], axis=-1)

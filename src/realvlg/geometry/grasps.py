"""The grasp types of realvlg: one per concept.

* :class:`RectGrasp` — a rectangle grasp on an image (the paper's (x, y, θ, w)).
* :class:`ContactPair` — two finger contact points on an image.
* :class:`Grasp6D` — a parallel-jaw grasp pose in 3D.
* :class:`DexGrasp` — a dexterous (Shadow Hand) grasp: palm pose and 22 finger joints.

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
from tqdm import tqdm

from realvlg.errors import InvalidInputError
from realvlg.shadow_hand import SHADOW_JOINTS

DEFAULT_JAW_PX = 40.0
DEX_VECTOR_SIZE = 3 + 6 + len(SHADOW_JOINTS)
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


def is_convex_quad(corners) -> np.ndarray:
    """Whether each quadrilateral (N, 4, 2) is strictly convex (either orientation, no zero-length
    edge, no three collinear corners)."""
    p = np.asarray(corners, dtype=float).reshape(-1, 4, 2)
    e = np.roll(p, -1, axis=1) - p
    turn = e[:, :, 0] * np.roll(e, -1, axis=1)[:, :, 1] - e[:, :, 1] * np.roll(e, -1, axis=1)[:, :, 0]
    return np.all(turn > 0, axis=1) | np.all(turn < 0, axis=1)


def convex_quad_iou(corners_a, corners_b, chunk: int = 2048) -> np.ndarray:
    """Exact IoU of CONVEX quadrilaterals, pairwise, in vectorised numpy: the same numbers as
    :func:`rect_iou` (to floating-point rounding) at a fraction of the cost, for benchmark-sized
    batches. ``corners_a``, ``corners_b`` (N, 4, 2), either orientation; returns (N,).

    The intersection of two convex polygons is the convex hull of the corners of each inside the
    other and of the edge–edge crossings; those (at most 24) points are ordered by angle about
    their mean and summed with the shoelace formula. Callers check convexity
    (:func:`is_convex_quad`); zero-area inputs give 0.
    """
    a = np.asarray(corners_a, dtype=float).reshape(-1, 4, 2)
    b = np.asarray(corners_b, dtype=float).reshape(-1, 4, 2)
    a, b = np.broadcast_arrays(a, b)
    out = np.empty(a.shape[0])
    for s in range(0, a.shape[0], chunk):
        out[s:s + chunk] = _convex_iou_chunk(a[s:s + chunk], b[s:s + chunk])
    return out


def _signed_area(p: np.ndarray) -> np.ndarray:
    q = np.roll(p, -1, axis=-2)
    return 0.5 * np.sum(p[..., 0] * q[..., 1] - p[..., 1] * q[..., 0], axis=-1)


def _convex_iou_chunk(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    origin = a.mean(axis=1, keepdims=True)  # work near the origin for precision
    a, b = a - origin, b - origin
    area_a, area_b = _signed_area(a), _signed_area(b)
    a = np.where((area_a < 0)[:, None, None], a[:, ::-1], a)  # counter-clockwise (in y-up terms)
    b = np.where((area_b < 0)[:, None, None], b[:, ::-1], b)
    area_a, area_b = np.abs(area_a), np.abs(area_b)
    scale = np.maximum(np.abs(a).max(axis=(1, 2)), np.abs(b).max(axis=(1, 2))) + 1.0
    tol = (1e-9 * scale * scale)[:, None, None]

    def inside(points, poly):  # (M, P, 2) in convex CCW poly (M, 4, 2), boundary included
        e = np.roll(poly, -1, axis=1) - poly
        d = points[:, :, None, :] - poly[:, None, :, :]
        cross = e[:, None, :, 0] * d[..., 1] - e[:, None, :, 1] * d[..., 0]
        return np.all(cross >= -tol, axis=2)

    ra = np.roll(a, -1, axis=1) - a  # edges of a (M, 4, 2)
    rb = np.roll(b, -1, axis=1) - b
    denom = ra[:, :, None, 0] * rb[:, None, :, 1] - ra[:, :, None, 1] * rb[:, None, :, 0]  # (M, 4, 4)
    qp = b[:, None, :, :] - a[:, :, None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = (qp[..., 0] * rb[:, None, :, 1] - qp[..., 1] * rb[:, None, :, 0]) / denom
        u = (qp[..., 0] * ra[:, :, None, 1] - qp[..., 1] * ra[:, :, None, 0]) / denom
    eps = 1e-12
    cross_ok = (denom != 0) & (t >= -eps) & (t <= 1 + eps) & (u >= -eps) & (u <= 1 + eps)
    crossing = a[:, :, None, :] + np.where(cross_ok, t, 0.0)[..., None] * ra[:, :, None, :]

    pts = np.concatenate([a, b, crossing.reshape(-1, 16, 2)], axis=1)  # (M, 24, 2)
    ok = np.concatenate([inside(a, b), inside(b, a), cross_ok.reshape(-1, 16)], axis=1)
    count = ok.sum(axis=1)
    centre = np.where(ok[..., None], pts, 0).sum(axis=1) / np.maximum(count, 1)[:, None]
    rel = pts - centre[:, None, :]
    angle = np.where(ok, np.arctan2(rel[..., 1], rel[..., 0]), np.inf)
    order = np.argsort(angle, axis=1)
    rel = np.take_along_axis(rel, order[..., None], axis=1)
    idx = np.arange(24)[None, :]
    nxt = np.where(idx + 1 < count[:, None], idx + 1, 0)
    rel_next = np.take_along_axis(rel, nxt[..., None], axis=1)
    term = rel[..., 0] * rel_next[..., 1] - rel[..., 1] * rel_next[..., 0]
    inter = 0.5 * np.where(idx < count[:, None], term, 0).sum(axis=1)
    inter = np.where(count >= 3, np.abs(inter), 0.0)
    union = area_a + area_b - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def rect_corners(x, y, theta, width, jaw=DEFAULT_JAW_PX) -> np.ndarray:
    """Corners of many rectangles at once, shape (N, 4, 2), in :meth:`RectGrasp.corners` order.

    ``x, y`` [px] centres, ``theta`` [rad] opening directions, ``width`` [px] openings, ``jaw``
    [px] finger sizes; all broadcast against each other. No validation: a negative width gives the
    mirrored rectangle, a zero width a degenerate one (its IoU with anything is 0).
    """
    x, y, theta, width, jaw = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, y, theta, width, jaw)))
    c, s = np.cos(theta), np.sin(theta)
    d = np.stack([c, s], axis=-1) * (width / 2)[..., None]
    n = np.stack([-s, c], axis=-1) * (jaw / 2)[..., None]
    centre = np.stack([x, y], axis=-1)
    return np.stack([centre - d - n, centre + d - n, centre + d + n, centre - d + n], axis=-2)


def contact_corners(points, jaw=DEFAULT_JAW_PX) -> np.ndarray:
    """Rectangles of many contact pairs at once: ``points`` (N, 4) as [x1, y1, x2, y2] → (N, 4, 2),
    the batched :meth:`ContactPair.to_rect` (opening segment = the pair, finger size ``jaw`` [px])."""
    p = np.asarray(points, dtype=float).reshape(-1, 4)
    dx, dy = p[:, 2] - p[:, 0], p[:, 3] - p[:, 1]
    return rect_corners((p[:, 0] + p[:, 2]) / 2, (p[:, 1] + p[:, 3]) / 2, np.arctan2(dy, dx), np.hypot(dx, dy), jaw)


def opening_angle(corners) -> np.ndarray:
    """Opening direction θ [rad] of rectangles given as corners (..., 4, 2): ``atan2`` of the
    vector from the midpoint of edge 0–3 to the midpoint of edge 1–2 (as :meth:`RectGrasp.from_corners`)."""
    p = np.asarray(corners, dtype=float)
    v = (p[..., 1, :] + p[..., 2, :] - p[..., 0, :] - p[..., 3, :]) / 2
    return np.arctan2(v[..., 1], v[..., 0])


def rasterised_rect_iou(corners_a, corners_b) -> np.ndarray:
    """GR-ConvNet-style IoU of quadrilaterals, pairwise: both are rasterised on the integer pixel
    grid (a pixel counts when its centre lies inside or on the polygon, the rule of
    ``skimage.draw.polygon`` that GR-ConvNet uses) and the pixel counts are compared.

    ``corners_a``, ``corners_b``: (N, 4, 2) [px, (x, y)]; returns (N,). Coarser than :func:`rect_iou`
    (pixel quantisation), offered to compare with numbers reported by GR-ConvNet-style code.
    Pairs that cover no pixel give 0. Identical to GR-ConvNet's ``GraspRectangle.iou`` (without its
    angle gate) on 500 random float and integer pairs in a one-off comparison with scikit-image,
    which is not a dependency. A per-pair loop (≈ 0.3 ms a pair): for comparisons, not for speed.
    """
    a, b = np.broadcast_arrays(np.asarray(corners_a, dtype=float), np.asarray(corners_b, dtype=float))
    out = np.zeros(a.shape[0])
    lo = np.ceil(np.minimum(a.min(axis=1), b.min(axis=1))).astype(int)
    hi = np.floor(np.maximum(a.max(axis=1), b.max(axis=1))).astype(int)
    pairs = tqdm(range(a.shape[0]), desc="raster IoU", unit="pair", disable=a.shape[0] < 20_000)
    for i in pairs:  # each pair has its own canvas; the pixel tests are vectorised
        xs = np.arange(lo[i, 0], hi[i, 0] + 1)
        ys = np.arange(lo[i, 1], hi[i, 1] + 1)
        if xs.size == 0 or ys.size == 0:
            continue
        px, py = np.meshgrid(xs, ys)
        in_a, in_b = _inside_convex(a[i], px, py), _inside_convex(b[i], px, py)
        union = np.count_nonzero(in_a | in_b)
        out[i] = np.count_nonzero(in_a & in_b) / union if union else 0.0
    return out


def _inside_convex(quad: np.ndarray, px: np.ndarray, py: np.ndarray) -> np.ndarray:
    """Points on or inside a convex quadrilateral (either orientation)."""
    nxt = np.roll(quad, -1, axis=0)
    cross = ((nxt[:, 0] - quad[:, 0])[:, None, None] * (py - quad[:, 1, None, None])
             - (nxt[:, 1] - quad[:, 1])[:, None, None] * (px - quad[:, 0, None, None]))
    tol = 1e-9 * (1 + np.abs(quad).max()) ** 2
    return np.all(cross >= -tol, axis=0) | np.all(cross <= tol, axis=0)


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


# -- dexterous grasps ---------------------------------------------------------------------------
def rotation_to_6d(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices → (..., 6): the first two columns."""
    m = np.asarray(matrix, dtype=float)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def rotation_from_6d(vector: np.ndarray) -> np.ndarray:
    """(..., 6) → (..., 3, 3) rotation matrices by Gram–Schmidt (columns a, b → x, y, z = x × y)."""
    v = np.asarray(vector, dtype=float)
    a, b = v[..., :3], v[..., 3:6]
    x = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b - (x * b).sum(-1, keepdims=True) * x
    y = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


@dataclass(frozen=True)
class DexGrasp:
    """A Shadow Hand grasp. Metres, radians. ``position`` and ``rotation`` are the pose of the
    hand's **palm frame** (the MJCF's ``robot0:palm`` body: fingers along +z, palm facing −y) in
    the frame named ``frame`` (an object frame, the camera's optical frame or the robot base);
    ``joints`` the 22 finger joints in :data:`~realvlg.shadow_hand.SHADOW_JOINTS` order;
    ``extras`` carries scores, part and caption.

    The network's vector (:meth:`to_vector`, length :data:`DEX_VECTOR_SIZE` = 31): translation
    (3), the rotation in the continuous 6-D representation of Zhou et al. 2019 (the first two
    columns of the matrix, 6), the joint angles (22); :meth:`from_vector` maps any 6-D vector
    back to a rotation by Gram–Schmidt."""

    position: np.ndarray
    rotation: Rotation
    joints: np.ndarray
    frame: str = "object"
    extras: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        position = np.asarray(self.position, dtype=float).reshape(-1)
        joints = np.asarray(self.joints, dtype=float).reshape(-1)
        if position.shape != (3,) or not np.isfinite(position).all():
            raise InvalidInputError(f"a grasp position is 3 finite numbers, got {self.position!r}")
        if joints.shape != (len(SHADOW_JOINTS),) or not np.isfinite(joints).all():
            raise InvalidInputError(f"a Shadow Hand grasp has {len(SHADOW_JOINTS)} finite joint angles, "
                                    f"got shape {joints.shape}")
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "joints", joints)

    def homogeneous(self) -> np.ndarray:
        T = np.eye(4)
        T[:3, :3] = self.rotation.as_matrix()
        T[:3, 3] = self.position
        return T

    def transformed(self, T_new_old: np.ndarray, frame: str) -> "DexGrasp":
        """The same grasp expressed in another frame (``T_new_old``: new←old, 4x4)."""
        T = np.asarray(T_new_old, dtype=float) @ self.homogeneous()
        return DexGrasp(T[:3, 3], Rotation.from_matrix(T[:3, :3]), self.joints, frame, dict(self.extras))

    def to_vector(self) -> np.ndarray:
        return np.concatenate([self.position, rotation_to_6d(self.rotation.as_matrix()), self.joints])

    @classmethod
    def from_vector(cls, vector, frame: str = "object", extras: dict | None = None) -> "DexGrasp":
        v = np.asarray(vector, dtype=float).reshape(-1)
        if v.shape != (DEX_VECTOR_SIZE,):
            raise InvalidInputError(f"a grasp vector has {DEX_VECTOR_SIZE} numbers, got {v.shape}")
        return cls(v[:3], Rotation.from_matrix(rotation_from_6d(v[3:9])), v[9:], frame, extras or {})

    def as_dict(self) -> dict:
        return {"frame": self.frame, "position": self.position.tolist(),
                "quaternion_xyzw": self.rotation.as_quat().tolist(),
                "joints": dict(zip(SHADOW_JOINTS, self.joints.tolist())), **self.extras}


Grasp = Grasp6D | DexGrasp
"""A robot-ready grasp: a parallel gripper's or a dexterous hand's, in a named frame."""

"""Rigid transforms between named frames, the calibration file format, camera → base, TCP offset.

A :class:`Transform` ``T`` with ``parent="a"`` and ``child="b"`` is the 4x4 matrix a←b: it maps
point coordinates expressed in ``b`` to coordinates in ``a`` (``p_a = T.apply(p_b)``), and it is
also the pose of frame ``b`` in frame ``a`` — the same convention as a ROS ``TransformStamped``
with ``header.frame_id = a`` and ``child_frame_id = b``. Composition chains frame names:
``(a←b) @ (b←c) = a←c``; a mismatch raises :class:`FrameMismatchError`. Quaternions are always
(x, y, z, w), via scipy, and returned canonical (w ≥ 0).

Camera → robot base:

* eye-in-hand: ``base←camera = base←ee · ee←camera`` where base←ee is the robot pose **at the
  time the image was captured** and ee←camera comes from ``calibration/`` (hand-eye
  calibration);
* fixed camera: ``base←camera`` is the calibration itself.

:func:`base_from_camera` does both and refuses an eye-in-hand calibration without a robot pose.

TCP: grasps (``Grasp6D`` and the ``Grasp`` service) are poses of the gripper TCP, the point
midway between the fingertips, with z = approach and y = closing. The Franka hand's TCP frame is
0.1034 m along the flange (``fr3_link8``) z axis and turned −45° about it (franka_description's
``fr3_hand_tcp``; libfranka's default ``F_T_EE`` with the hand). A robot API that commands the
flange needs ``base←flange = base←tcp · tcp←flange``: see :func:`flange_pose_from_tcp`.

Calibration YAML (one transform per file, see ``calibration/README.md``)::

    parent: fr3_hand_tcp              # the frame the transform is expressed in
    child: camera_color_optical_frame
    translation: [x, y, z]            # metres, child origin in parent
    quaternion: [x, y, z, w]          # child axes in parent; normalised if within 1e-3 of unit
    method: nominal | tsai | park | ... # optional metadata, kept on load and save
    date: "2026-11-23"
    samples: 0
    residuals: {translation_m: ..., rotation_rad: ...}
"""

from __future__ import annotations

import datetime
import pathlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import yaml
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError
from realvlg.frames import FR3_FLANGE_FRAME, FR3_HAND_TCP_OFFSET, FR3_HAND_YAW, FR3_TCP_FRAME
from realvlg.geometry.grasps import Grasp6D

QUATERNION_NORM_TOLERANCE = 1e-3   # |‖q‖ − 1| accepted (and normalised) in files and constructors
ROTATION_TOLERANCE = 1e-6          # max |RᵀR − I| accepted for a matrix's rotation block


REQUIRED_KEYS = ("parent", "child", "translation", "quaternion")


class FrameMismatchError(InvalidInputError):
    """Two transforms (or a transform and a grasp) whose frame names do not chain."""


def _as_frame(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"{what} frame must be a non-empty string, got {name!r}")
    return name


def _vector(values: Any, length: int, what: str) -> np.ndarray:
    try:
        v = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{what} must be {length} numbers, got {values!r}") from None
    if v.shape != (length,):
        raise InvalidInputError(f"{what} must be {length} numbers, got shape {v.shape}: {values!r}")
    if not np.all(np.isfinite(v)):
        raise InvalidInputError(f"{what} must be finite, got {v.tolist()}")
    return v


def unit_quaternion(q_xyzw: Any, tolerance: float = QUATERNION_NORM_TOLERANCE) -> np.ndarray:
    """``q_xyzw`` normalised; raises :class:`InvalidInputError` unless ``|‖q‖ − 1| ≤ tolerance``
    (a far-from-unit quaternion means a wrong file or a (w, x, y, z) mix-up, not rounding)."""
    q = _vector(q_xyzw, 4, "quaternion [x, y, z, w]")
    norm = float(np.linalg.norm(q))
    if abs(norm - 1.0) > tolerance:
        raise InvalidInputError(f"quaternion [x, y, z, w] = {q.tolist()} has norm {norm:.6g}, "
                                f"not 1 within {tolerance:g}")
    return q / norm


@dataclass(frozen=True, eq=False)
class Transform:
    """parent←child rigid transform (see the module docstring). ``matrix`` is 4x4, read-only."""

    parent: str
    child: str
    matrix: np.ndarray
    metadata: dict = field(default_factory=dict)   # calibration metadata (method, date, ...)

    def __post_init__(self) -> None:
        _as_frame(self.parent, "parent")
        _as_frame(self.child, "child")
        try:
            m = np.array(self.matrix, dtype=float)
        except (TypeError, ValueError):
            raise InvalidInputError(f"transform matrix must be 4x4 numbers, got {self.matrix!r}") from None
        if m.shape != (4, 4) or not np.all(np.isfinite(m)):
            raise InvalidInputError(f"transform matrix must be a finite 4x4, got shape {m.shape}")
        if np.abs(m[3] - (0.0, 0.0, 0.0, 1.0)).max() > 1e-9:
            raise InvalidInputError(f"transform matrix last row must be [0, 0, 0, 1], got {m[3].tolist()}")
        R = m[:3, :3]
        if np.abs(R.T @ R - np.eye(3)).max() > ROTATION_TOLERANCE or np.linalg.det(R) < 0:
            raise InvalidInputError(f"transform {self.parent}←{self.child}: rotation block is not a "
                                    f"proper rotation: {R.tolist()}")
        m.flags.writeable = False
        object.__setattr__(self, "matrix", m)
        object.__setattr__(self, "metadata", dict(self.metadata))

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def identity(cls, parent: str, child: str) -> "Transform":
        return cls(parent, child, np.eye(4))

    @classmethod
    def from_translation_rotation(cls, translation: Any, rotation: Rotation, parent: str,
                                  child: str, **metadata: Any) -> "Transform":
        m = np.eye(4)
        m[:3, :3] = rotation.as_matrix()
        m[:3, 3] = _vector(translation, 3, "translation [m]")
        return cls(parent, child, m, metadata)

    @classmethod
    def from_translation_quaternion(cls, translation: Any, q_xyzw: Any, parent: str, child: str,
                                    **metadata: Any) -> "Transform":
        """From a translation [m] (child origin in parent) and a quaternion (x, y, z, w) of the
        child axes in parent; the quaternion is normalised if within the tolerance of unit."""
        return cls.from_translation_rotation(translation, Rotation.from_quat(unit_quaternion(q_xyzw)),
                                             parent, child, **metadata)

    @classmethod
    def from_grasp(cls, grasp: Grasp6D, child: str = "grasp") -> "Transform":
        """The grasp pose as ``grasp.frame``←``child`` (the gripper TCP frame)."""
        return cls(grasp.frame, child, grasp.homogeneous())

    # -- views ---------------------------------------------------------------------------------
    @property
    def translation(self) -> np.ndarray:
        return self.matrix[:3, 3].copy()

    @property
    def rotation(self) -> Rotation:
        return Rotation.from_matrix(self.matrix[:3, :3])

    @property
    def quaternion_xyzw(self) -> np.ndarray:
        return self.rotation.as_quat(canonical=True)

    def __repr__(self) -> str:
        t = np.round(self.translation, 6).tolist()
        q = np.round(self.quaternion_xyzw, 6).tolist()
        return f"Transform({self.parent}←{self.child}, translation={t}, quaternion_xyzw={q})"

    def isclose(self, other: "Transform", atol: float = 1e-9) -> bool:
        """Same frames and matrices equal within ``atol``."""
        return (self.parent == other.parent and self.child == other.child
                and bool(np.allclose(self.matrix, other.matrix, rtol=0.0, atol=atol)))

    # -- algebra -------------------------------------------------------------------------------
    def inverse(self) -> "Transform":
        """child←parent."""
        R, t = self.matrix[:3, :3], self.matrix[:3, 3]
        m = np.eye(4)
        m[:3, :3] = R.T
        m[:3, 3] = -R.T @ t
        return Transform(self.child, self.parent, m)

    def __matmul__(self, other: "Transform") -> "Transform":
        """(a←b) @ (b←c) = a←c; raises :class:`FrameMismatchError` unless ``self.child ==
        other.parent``."""
        if not isinstance(other, Transform):
            return NotImplemented
        if self.child != other.parent:
            raise FrameMismatchError(f"cannot compose {self.parent}←{self.child} with "
                                     f"{other.parent}←{other.child}: '{self.child}' ≠ '{other.parent}'")
        return Transform(self.parent, other.child, self.matrix @ other.matrix)

    def apply(self, points: Any) -> np.ndarray:
        """Points (..., 3) [m] in ``child`` → the same points in ``parent``."""
        p = np.asarray(points, dtype=float)
        if p.shape[-1:] != (3,):
            raise InvalidInputError(f"points must have shape (..., 3), got {p.shape}")
        return p @ self.matrix[:3, :3].T + self.matrix[:3, 3]

    def apply_to_grasp(self, grasp: Grasp6D) -> Grasp6D:
        """A grasp expressed in ``child`` → the same grasp expressed in ``parent``."""
        if grasp.frame != self.child:
            raise FrameMismatchError(f"grasp is in '{grasp.frame}', transform {self.parent}←{self.child} "
                                     f"expects '{self.child}'")
        return grasp.transformed(self.matrix, self.parent)

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The calibration-file layout (plain Python types), metadata after the pose keys."""
        d = {"parent": self.parent, "child": self.child,
             "translation": [float(v) for v in self.translation],
             "quaternion": [float(v) for v in self.quaternion_xyzw]}
        d.update({k: _plain(v) for k, v in self.metadata.items() if k not in REQUIRED_KEYS})
        return d

    @classmethod
    def from_dict(cls, d: Any, source: str = "transform") -> "Transform":
        """From the calibration-file layout; every other key is kept as metadata."""
        if not isinstance(d, dict):
            raise InvalidInputError(f"{source}: expected a mapping with keys {', '.join(REQUIRED_KEYS)}, "
                                    f"got {type(d).__name__}")
        missing = [k for k in REQUIRED_KEYS if k not in d]
        if missing:
            raise InvalidInputError(f"{source}: missing key(s) {', '.join(missing)} "
                                    f"(needs {', '.join(REQUIRED_KEYS)})")
        metadata = {k: _plain(v) for k, v in d.items() if k not in REQUIRED_KEYS}
        try:
            return cls.from_translation_quaternion(d["translation"], d["quaternion"],
                                                   _as_frame(d["parent"], "parent"),
                                                   _as_frame(d["child"], "child"), **metadata)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{source}: {exc}") from None


def _plain(value: Any) -> Any:
    """YAML-safe plain types: numpy → Python, dates → ISO strings (so load∘save is stable)."""
    if isinstance(value, np.ndarray):
        return _plain(value.tolist())
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def load_transform(path: str | pathlib.Path) -> Transform:
    """Read a calibration YAML (module docstring); metadata keys land in ``Transform.metadata``."""
    path = pathlib.Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InvalidInputError(f"cannot read transform file {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{path} is not valid YAML: {exc}") from None
    return Transform.from_dict(data, source=str(path))


def save_transform(transform: Transform, path: str | pathlib.Path, **metadata: Any) -> pathlib.Path:
    """Write ``transform`` as a calibration YAML; ``metadata`` (method, date, samples, residuals,
    ...) overrides the transform's own metadata key by key."""
    clash = [k for k in metadata if k in REQUIRED_KEYS]
    if clash:
        raise InvalidInputError(f"metadata cannot override the pose keys {clash}")
    merged = Transform(transform.parent, transform.child, transform.matrix,
                       {**transform.metadata, **metadata})
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(merged.to_dict(), sort_keys=False, default_flow_style=None))
    return path


def base_from_camera(calibration: Transform, base_frame: str,
                     base_from_ee: Transform | None = None) -> Transform:
    """base←camera for a fixed camera (``calibration`` is base←camera, no robot pose) or an
    eye-in-hand camera (``calibration`` is ee←camera, ``base_from_ee`` the robot pose at capture
    time). Raises :class:`FrameMismatchError` when the frames do not chain to ``base_frame``,
    e.g. an eye-in-hand calibration given without a robot pose."""
    if base_from_ee is None:
        if calibration.parent != base_frame:
            raise FrameMismatchError(
                f"calibration is {calibration.parent}←{calibration.child}, not {base_frame}←camera: an "
                f"eye-in-hand calibration needs the robot pose {base_frame}←{calibration.parent} at capture time")
        return calibration
    if base_from_ee.parent != base_frame:
        raise FrameMismatchError(f"robot pose is {base_from_ee.parent}←{base_from_ee.child}, "
                                 f"expected parent '{base_frame}'")
    return base_from_ee @ calibration


def franka_hand_tcp(flange_frame: str = FR3_FLANGE_FRAME, tcp_frame: str = FR3_TCP_FRAME,
                    offset_m: float = FR3_HAND_TCP_OFFSET,
                    yaw_rad: float = FR3_HAND_YAW) -> Transform:
    """flange←TCP of the Franka hand: ``offset_m`` along flange z, turned ``yaw_rad`` about it."""
    return Transform.from_translation_rotation([0.0, 0.0, offset_m], Rotation.from_rotvec([0.0, 0.0, yaw_rad]),
                                               flange_frame, tcp_frame)


def flange_pose_from_tcp(base_from_tcp: Transform, flange_from_tcp: Transform | None = None) -> Transform:
    """base←flange for a robot API that commands the flange, from a TCP pose, e.g. a grasp in the
    base frame: ``flange_pose_from_tcp(Transform.from_grasp(grasp, FR3_TCP_FRAME))``."""
    flange_from_tcp = flange_from_tcp or franka_hand_tcp()
    return base_from_tcp @ flange_from_tcp.inverse()


def tcp_pose_from_flange(base_from_flange: Transform, flange_from_tcp: Transform | None = None) -> Transform:
    """base←TCP from a flange pose (e.g. a robot state that reports the flange)."""
    return base_from_flange @ (flange_from_tcp or franka_hand_tcp())

"""Safety limits checked before any robot motion (pure functions, no robot needed).

franky-sim has no safety limits and a real FR3's reflexes only fire once something already went
wrong, so every grasp target passes these checks first:

* :class:`WorkspaceBox` — an axis-aligned box in the robot base frame [m] that the TCP positions
  of the grasp, the pre-grasp and the lift must lie in (``z_min`` keeps the fingertips off the
  table).
* :func:`check_approach` — the approach direction (gripper z, from the palm towards the object)
  must lie within ``max_angle`` [rad] of straight down (base −z); an approach pointing up is
  always refused.
* :func:`check_width` — the opening a grasp needs must fit the gripper (the Franka hand's stroke).

Each check raises :class:`~realvlg.errors.GraspRefusedError` with one sentence, or returns None.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from realvlg.errors import GraspRefusedError, InvalidInputError, UnreachableError
from realvlg.frames import FINGERTIP_BELOW_TCP, FRANKA_HAND_STROKE
from realvlg.geometry.grasps import Grasp6D

DOWN = np.array([0.0, 0.0, -1.0])


@dataclass(frozen=True)
class WorkspaceBox:
    """Axis-aligned box in the base frame [m]; the defaults suit an FR3 over a table at z = 0."""

    x: tuple[float, float] = (0.2, 0.8)
    y: tuple[float, float] = (-0.45, 0.45)
    z: tuple[float, float] = (round(FINGERTIP_BELOW_TCP + 0.0012, 4), 0.7)  # the fingertips 1.2 mm above the table

    def __post_init__(self) -> None:
        for axis, (lo, hi) in zip("xyz", (self.x, self.y, self.z)):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise InvalidInputError(f"workspace {axis} range must be finite with min < max, got ({lo}, {hi})")

    @property
    def lower(self) -> np.ndarray:
        return np.array([self.x[0], self.y[0], self.z[0]])

    @property
    def upper(self) -> np.ndarray:
        return np.array([self.x[1], self.y[1], self.z[1]])

    def contains(self, points) -> np.ndarray:
        """Whether each point (…, 3) lies in the box (bounds included)."""
        p = np.asarray(points, dtype=float)
        return np.all((p >= self.lower) & (p <= self.upper), axis=-1)

    def check(self, point, what: str = "grasp position") -> None:
        p = np.asarray(point, dtype=float).reshape(3)
        if not np.all(np.isfinite(p)):
            raise GraspRefusedError(f"{what} is not finite: {p.tolist()}")
        if not self.contains(p):
            outside = [f"{a}={v:.3f} not in [{lo:.3f}, {hi:.3f}]"
                       for a, v, lo, hi in zip("xyz", p, self.lower, self.upper) if not lo <= v <= hi]
            raise UnreachableError(f"{what} is outside the workspace box: {', '.join(outside)} (base frame, m)")


def approach_angle(approach) -> float:
    """Angle [rad] between an approach direction and straight down (base −z)."""
    a = np.asarray(approach, dtype=float).reshape(3)
    return float(math.acos(np.clip(a @ DOWN / np.linalg.norm(a), -1.0, 1.0)))


def check_approach(approach, max_angle: float = math.radians(60)) -> None:
    """Refuse approaches pointing up (positive base z) or more than ``max_angle`` from down."""
    a = np.asarray(approach, dtype=float).reshape(3)
    if not np.all(np.isfinite(a)) or np.linalg.norm(a) < 1e-9:
        raise GraspRefusedError(f"approach direction is not a finite non-zero vector: {a.tolist()}")
    angle = approach_angle(a)
    if a[2] > 0:
        raise GraspRefusedError(f"approach points up (z = {a[2] / np.linalg.norm(a):+.2f}, "
                                f"{math.degrees(angle):.0f}° from straight down): the hand would come from under the table")
    if angle > max_angle:
        raise GraspRefusedError(f"approach is {math.degrees(angle):.0f}° from straight down, "
                                f"more than the allowed {math.degrees(max_angle):.0f}°")


def check_width(width: float, max_width: float = FRANKA_HAND_STROKE) -> None:
    if not math.isfinite(width) or width < 0:
        raise GraspRefusedError(f"grasp width must be a non-negative number of metres, got {width}")
    if width > max_width:
        raise GraspRefusedError(f"grasp width {width * 100:.1f} cm exceeds the gripper's maximum opening "
                                f"{max_width * 100:.1f} cm")


@dataclass(frozen=True)
class GraspLimits:
    """All checks for one grasp: the workspace box, the approach cone, the gripper's opening."""

    workspace: WorkspaceBox = WorkspaceBox()
    max_approach_angle: float = math.radians(60)
    max_width: float = FRANKA_HAND_STROKE

    def check(self, grasp: Grasp6D, pre_grasp_offset: float = 0.0, lift_height: float = 0.0) -> None:
        """Check a grasp in the base frame, with the pre-grasp point ``pre_grasp_offset`` [m] back
        along the approach and the lift point ``lift_height`` [m] above the grasp."""
        check_width(grasp.width, self.max_width)
        check_approach(grasp.approach, self.max_approach_angle)
        self.workspace.check(grasp.position, "grasp position")
        self.workspace.check(grasp.position - pre_grasp_offset * grasp.approach, "pre-grasp position")
        self.workspace.check(grasp.position + (0.0, 0.0, lift_height), "lift position")


def load_limits(path) -> GraspLimits:
    """:class:`GraspLimits` from a YAML file (``config/limits_fr3.yaml``): ``workspace: {x: [min,
    max], y: …, z: …}`` [m, base frame], ``max_approach_angle`` [rad], ``max_width`` [m]. The grasp
    node's planner and the executor node read the same file, so what one plans the other accepts."""
    import pathlib

    import yaml

    data = yaml.safe_load(pathlib.Path(path).read_text()) or {}
    unknown = set(data) - {"workspace", "max_approach_angle", "max_width"}
    if unknown:
        raise InvalidInputError(f"{path}: unknown limits {sorted(unknown)}")
    defaults = GraspLimits()
    box = data.get("workspace", {})
    workspace = WorkspaceBox(**{axis: tuple(float(v) for v in box[axis]) for axis in "xyz" if axis in box})
    return GraspLimits(workspace, float(data.get("max_approach_angle", defaults.max_approach_angle)),
                       float(data.get("max_width", defaults.max_width)))

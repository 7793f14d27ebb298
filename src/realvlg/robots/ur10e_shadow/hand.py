"""Shadow Hand joint targets → a joint trajectory for the Shadow Robot driver (pure; no rclpy).

:class:`ShadowHandCommander` turns the 22 finger angles of a
:class:`~realvlg.geometry.grasps.DexGrasp` (:data:`~realvlg.shadow_hand.SHADOW_JOINTS` order) into a
:class:`HandTrajectory` — joint names, waypoints, times from start — after checking them against
the joint limits. The ROS adapter (:mod:`realvlg.ros.nodes.shadow_hand_node`) publishes it as a
``trajectory_msgs/JointTrajectory`` on the driver's controller topic (default
``/rh_trajectory_controller/command``).

Joint names. realvlg's names are gymnasium-robotics' MJCF names (distal joint = J0, e.g.
``FFJ0``–``FFJ3``, ``LFJ0``–``LFJ4``, ``THJ0``–``THJ4``). The Shadow Robot driver numbers from
the fingertip starting at 1 (``rh_FFJ1``–``rh_FFJ4``, ``rh_LFJ1``–``rh_LFJ5``, ``rh_THJ1``–``rh_THJ5``,
wrist ``rh_WRJ1``/``rh_WRJ2``), so ``naming="shadow_robot"`` (default) adds one to the index and
the ``prefix`` (``rh_`` right hand, ``lh_`` left); ``naming="mjcf"`` keeps realvlg's names (a
MuJoCo or other MJCF-based controller). The wrist joints are commanded to 0 when
``include_wrist`` is set: the arm's hand mount (:data:`~realvlg.frames.TOOL0_T_PALM`)
assumes a straight wrist.

Limits (:data:`~realvlg.shadow_hand.SHADOW_LIMITS`): the ranges of the gymnasium-robotics Shadow
Hand MJCF (``envs/assets/hand/robot.xml``, tested against the file). Targets outside them by more than
``limit_tolerance`` are refused (:class:`~realvlg.errors.GraspRefusedError`, nothing is
published); smaller excesses are clipped. Timing: with a known ``start`` configuration the
trajectory takes at least the time its largest joint move needs at ``max_velocity``, and never
less than ``min_duration``; intermediate waypoints (``waypoints``) interpolate linearly.
The coupled distal joints (J0 follows J1 through tendons in the MJCF; J1/J2 on the real hand)
are commanded like the others; the driver resolves the coupling.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.shadow_hand import SHADOW_JOINTS, SHADOW_LIMITS, WRIST_JOINTS

SHADOW_TRAJECTORY_TOPIC = "/rh_trajectory_controller/command"
NAMINGS = ("shadow_robot", "mjcf")


def driver_joint_name(name: str, prefix: str = "rh_", naming: str = "shadow_robot") -> str:
    """realvlg's (MJCF) joint name → the controller's: ``FFJ0`` → ``rh_FFJ1`` (shadow_robot)."""
    if naming not in NAMINGS:
        raise InvalidInputError(f"naming must be one of {NAMINGS}, got {naming!r}")
    if naming == "mjcf":
        return prefix + name
    return f"{prefix}{name[:-1]}{int(name[-1]) + 1}"


@dataclass(frozen=True)
class ShadowHandConfig:
    """Parameters of :class:`ShadowHandCommander` (module docstring)."""

    topic: str = SHADOW_TRAJECTORY_TOPIC
    prefix: str = "rh_"
    naming: str = "shadow_robot"
    include_wrist: bool = True
    max_velocity: float = 1.0        # rad/s, the largest joint's speed when the start is known
    min_duration: float = 1.0        # s
    waypoints: int = 1               # points per trajectory (the last is the target)
    limit_tolerance: float = 1e-3    # rad beyond a limit that is clipped rather than refused

    def __post_init__(self) -> None:
        if self.naming not in NAMINGS:
            raise InvalidInputError(f"naming must be one of {NAMINGS}, got {self.naming!r}")
        if not (self.max_velocity > 0 and self.min_duration > 0 and self.limit_tolerance >= 0):
            raise InvalidInputError("max_velocity and min_duration must be positive, limit_tolerance ≥ 0")
        if int(self.waypoints) < 1:
            raise InvalidInputError(f"waypoints must be ≥ 1, got {self.waypoints}")
        if not self.topic.startswith("/"):
            raise InvalidInputError(f"the controller topic must be absolute, got {self.topic!r}")


@dataclass(frozen=True)
class HandTrajectory:
    """``joint_names`` (J,), ``positions`` (P, J) rad, ``times`` (P,) s from the start, increasing."""

    joint_names: tuple[str, ...]
    positions: np.ndarray
    times: np.ndarray


class ShadowHandCommander:
    """Joint targets (SHADOW_JOINTS order) → :class:`HandTrajectory` for the driver's controller."""

    def __init__(self, config: ShadowHandConfig = ShadowHandConfig()) -> None:
        self.config = config
        self.joints = (WRIST_JOINTS if config.include_wrist else ()) + SHADOW_JOINTS
        self.joint_names = tuple(driver_joint_name(j, config.prefix, config.naming) for j in self.joints)
        self.lower = np.array([SHADOW_LIMITS[j][0] for j in self.joints])
        self.upper = np.array([SHADOW_LIMITS[j][1] for j in self.joints])

    def _full(self, fingers, what: str) -> np.ndarray:
        q = np.asarray(fingers, dtype=float).reshape(-1)
        if q.shape != (len(SHADOW_JOINTS),) or not np.isfinite(q).all():
            raise InvalidInputError(f"{what} must be {len(SHADOW_JOINTS)} finite finger angles "
                                    f"(SHADOW_JOINTS order), got shape {q.shape}")
        wrist = np.zeros(len(self.joints) - len(SHADOW_JOINTS))
        return np.concatenate([wrist, q])

    def checked(self, fingers, what: str = "hand target") -> np.ndarray:
        """All joints (wrist first when included) within the limits; raises GraspRefusedError."""
        q = self._full(fingers, what)
        tol = self.config.limit_tolerance
        bad = (q < self.lower - tol) | (q > self.upper + tol)
        if bad.any():
            listed = ", ".join(f"{self.joints[i]} = {q[i]:.3f} not in [{self.lower[i]:.3f}, {self.upper[i]:.3f}]"
                               for i in np.flatnonzero(bad))
            raise GraspRefusedError(f"{what} outside the Shadow Hand's joint limits: {listed} (rad)")
        return np.clip(q, self.lower, self.upper)

    def trajectory(self, fingers, start=None, duration: float | None = None) -> HandTrajectory:
        """A trajectory to the finger angles ``fingers`` (22,). ``start`` (22,): the current finger
        angles, when known (sets the duration from ``max_velocity`` and the waypoints' path);
        ``duration`` [s] overrides the computed one but must not be shorter."""
        cfg = self.config
        target = self.checked(fingers)
        needed = cfg.min_duration
        if start is not None:
            begin = np.clip(self._full(start, "start"), self.lower, self.upper)
            needed = max(needed, float(np.abs(target - begin).max()) / cfg.max_velocity)
        if duration is not None:
            if not (math.isfinite(duration) and duration >= needed):
                raise GraspRefusedError(f"a hand motion of {duration} s is too fast: it needs at least "
                                        f"{needed:.2f} s at {cfg.max_velocity} rad/s")
            needed = float(duration)
        if start is None:   # one point: the controller interpolates from where the hand is
            return HandTrajectory(self.joint_names, target[None], np.array([needed]))
        fractions = np.arange(1, int(cfg.waypoints) + 1) / int(cfg.waypoints)
        return HandTrajectory(self.joint_names, begin + fractions[:, None] * (target - begin), fractions * needed)

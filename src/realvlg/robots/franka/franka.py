"""Franka FR3 + Franka hand executor on franky (the real robot, or franky-sim over the same
libfranka protocol).

Grasp sequence (:meth:`FrankaExecutor.grasp`)::

    check limits (no motion on refusal) → home → open to width + margin → pre-grasp
    (``pre_grasp_offset`` back along the approach) → approach (slow) → close with force
    → lift (``lift_height`` straight up) → holding? (finger gap > ``min_held_width``) → result

TCP convention. franky's default end-effector frame on an FR3 with the Franka hand is the hand's
TCP: the flange rotated −45° about its z and moved 0.1034 m along it, midway between the
fingertip pads; its z axis points from the palm out between the fingers (the approach) and the
fingers close along its y axis. That is exactly realvlg's gripper frame, so a base-frame
``Grasp6D`` *is* the ``O_T_EE`` target (:data:`EE_FROM_GRASP` is the identity; the tests measure
it against the simulated fingertips). The hand is symmetric under a half-turn about the
approach; :func:`ee_target` picks the one of the two equivalent targets whose x axis is closer to
the current hand's, which keeps joint 7 away from its limits.

Errors. A ``franky.ControlException`` (a reflex or a motion the controller rejects) during a
motion triggers ``recover_from_errors()`` and one retry of that motion at ``retry_dynamics_scale``
× the dynamics; a second failure ends the grasp with the reason. A lost connection ends it too.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.geometry.grasps import Grasp6D
from realvlg.robots.executor import Executor, GraspResult, RobotConnectionError, RobotUnreachableError
from realvlg.robots.franka.config_franka import FrankaConfig

EE_FROM_GRASP = np.eye(4)  # franky's Franka-hand TCP frame == realvlg's gripper frame
_HALF_TURN_Z = Rotation.from_euler("z", math.pi)


def ee_target(grasp: Grasp6D, current_ee_rotation: np.ndarray) -> np.ndarray:
    """base←ee 4x4 target for a base-frame grasp: the grasp pose (see the module docstring), or
    its half-turn about the approach when that keeps the hand's x axis closer to the current one."""
    R = grasp.rotation
    if R.as_matrix()[:, 0] @ np.asarray(current_ee_rotation)[:, 0] < 0:
        R = R * _HALF_TURN_Z
    T = np.eye(4)
    T[:3, :3] = R.as_matrix()
    T[:3, 3] = grasp.position
    return T @ EE_FROM_GRASP


class _MotionFailed(Exception):
    pass


class FrankaExecutor(Executor):
    """franky ``Robot`` + ``Gripper``; see the module docstring for the sequence and conventions."""

    grasp_type = Grasp6D

    def __init__(self, config: FrankaConfig = FrankaConfig()):
        self.config = config
        self.base_frame = config.base_frame
        self._robot = None
        self._gripper = None
        self._connection = 0  # bumped by disconnect()
        self._bound = threading.local()  # the connection a motion in this thread began on

    # -- connection ---------------------------------------------------------------------------
    def connect(self) -> None:
        import franky

        cfg = self.config
        rt = franky.RealtimeConfig.Enforce if cfg.realtime == "enforce" else franky.RealtimeConfig.Ignore
        try:
            self._robot = franky.Robot(cfg.address, realtime_config=rt)
            self._gripper = franky.Gripper(cfg.address)
        except franky.Exception as exc:
            self._robot = self._gripper = None
            raise RobotUnreachableError(f"cannot reach the Franka robot at {cfg.address}: {exc}") from exc
        self._robot.relative_dynamics_factor = cfg.relative_dynamics_factor

    def reconnect(self) -> None:
        """A new libfranka connection (the old one is dead after a network loss: franky's
        ``recover_from_errors`` cannot reach the robot over it), then ``recover_from_errors()``
        to clear a reflex the loss left (libfranka's communication_constraints_violation)."""
        import franky

        self.disconnect()
        self.connect()
        try:
            self._robot.recover_from_errors()
        except franky.Exception as exc:
            raise RobotUnreachableError(f"reconnected but could not recover from the robot's errors: {exc}") from exc

    def disconnect(self) -> None:
        """Drop the connection (franky closes the sockets when the objects go). A motion begun on it
        that is still blocked in the client library commands nothing more once it returns."""
        self._robot = self._gripper = None
        self._connection += 1

    @contextlib.contextmanager
    def _on_current_connection(self):
        """Bind the motions of this thread to the connection of now (outermost call only)."""
        outer = getattr(self._bound, "connection", None)
        if outer is None:
            self._bound.connection = self._connection
        try:
            yield
        finally:
            if outer is None:
                self._bound.connection = None

    def _require(self):
        bound = getattr(self._bound, "connection", None)
        if bound is not None and bound != self._connection:
            raise RobotConnectionError("the connection this motion began on was dropped (robot link lost); "
                                       "it commands nothing more")
        if self._robot is None:
            raise RobotConnectionError("the executor is not connected (call connect())")
        return self._robot, self._gripper

    # -- state ----------------------------------------------------------------------------------
    def current_pose(self) -> np.ndarray:
        """base←ee from the measured joint positions (forward kinematics of the robot model).
        franky-sim reports its commanded pose as ``O_T_EE``, so the measured ``q`` is the one
        source that agrees on the simulator and the real robot."""
        import franky

        robot, _ = self._require()
        try:
            return np.array(robot.model.pose(franky.Frame.EndEffector, robot.state).matrix)
        except franky.Exception as exc:
            raise RobotConnectionError(f"cannot read the robot state: {exc}") from exc

    def joint_positions(self) -> np.ndarray:
        robot, _ = self._require()
        return np.array(robot.current_joint_state.position)

    def joint_state(self) -> dict[str, float]:
        """The seven arm joints and each finger at half the gripper width (franka_description's names)."""
        from realvlg.robots.franka.description import joint_state

        return joint_state(self.joint_positions(), self.gripper_width())

    def gripper_width(self) -> float:
        _, gripper = self._require()
        return float(gripper.width)

    def is_holding(self) -> bool:
        return self.gripper_width() >= self.config.min_held_width

    # -- motions --------------------------------------------------------------------------------
    def _move(self, make_motion: Callable[[float], object], what: str, factor: float, retries: list[int],
              target: np.ndarray | None = None) -> None:
        """Run a motion; on a control error (a reflex, or no trajectory profile) recover and retry
        once at reduced dynamics."""
        import franky

        first = ""
        for attempt in range(2):
            robot, _ = self._require()  # each attempt: a motion abandoned on a lost link stops here
            try:
                robot.move(make_motion(factor * (self.config.retry_dynamics_scale if attempt else 1.0)))
            except franky.NetworkException as exc:
                raise RobotConnectionError(f"lost the connection to the robot during {what}: {exc}") from exc
            except (franky.ControlException, RuntimeError) as exc:  # RuntimeError: franky's trajectory
                detail = " ".join(str(exc).split())                # generator (Ruckig) found no profile
                if attempt:
                    again = "the same again" if detail == first else detail
                    raise _MotionFailed(f"{what} failed twice with a control error: {first}; after "
                                        f"recovering: {again}") from exc
                first = detail
                retries[0] += 1
                self._require()[0].recover_from_errors()
                continue
            if target is not None:
                self._wait_reached(target, what)
            return

    def _pose_error(self, target: np.ndarray) -> tuple[float, float]:
        """(position error [m], rotation error [rad]) of the measured ee pose against ``target``."""
        T = self.current_pose()
        dR = Rotation.from_matrix(T[:3, :3].T @ target[:3, :3])
        return float(np.linalg.norm(T[:3, 3] - target[:3, 3])), float(dR.magnitude())

    def _wait_reached(self, target: np.ndarray, what: str) -> None:
        """The trajectory has ended; give the joint controllers ``settle_time`` to bring the
        measured pose within tolerance, else fail with the remaining error."""
        cfg = self.config
        deadline = time.monotonic() + cfg.settle_time
        while True:
            dp, da = self._pose_error(target)
            if (dp <= cfg.position_tolerance and da <= cfg.rotation_tolerance) or time.monotonic() > deadline:
                break
            time.sleep(0.01)
        if dp > cfg.position_tolerance or da > cfg.rotation_tolerance:
            raise _MotionFailed(f"{what} ended {dp * 100:.1f} cm / {math.degrees(da):.0f}° from its target "
                                "(blocked by a collision or out of reach)")

    def _cartesian(self, T: np.ndarray, what: str, factor: float, retries: list[int]) -> None:
        import franky

        affine = franky.Affine(T[:3, 3], Rotation.from_matrix(T[:3, :3]).as_quat())
        self._move(lambda f: franky.CartesianMotion(affine, franky.ReferenceType.Absolute, f),
                   what, factor, retries, target=T)

    def home(self, _retries: list[int] | None = None) -> None:
        import franky

        try:
            with self._on_current_connection():
                self._move(lambda f: franky.JointMotion(franky.JointState(list(self.config.home_q)),
                                                        franky.ReferenceType.Absolute, f), "home", 1.0,
                           [0] if _retries is None else _retries)
        except _MotionFailed as exc:
            if _retries is not None:
                raise
            raise RobotConnectionError(str(exc)) from exc

    def move_to(self, T_base_ee: np.ndarray) -> None:
        """Move the ee (TCP) to a base-frame pose inside the workspace box; raises
        :class:`~realvlg.errors.GraspRefusedError` (no motion) outside it."""
        T = np.asarray(T_base_ee, dtype=float)
        self.config.workspace.check(T[:3, 3], "target position")
        try:
            with self._on_current_connection():
                self._cartesian(T, "move", 1.0, [0])
        except _MotionFailed as exc:
            raise RobotConnectionError(str(exc)) from exc

    def open(self) -> None:
        with self._on_current_connection():
            self._require()[1].move(self.config.max_width, self.config.grasp_speed)

    # -- grasp ----------------------------------------------------------------------------------
    def check(self, grasp: Grasp6D) -> None:
        """Type, frame, width, approach cone and the workspace box for the grasp, the pre-grasp and
        the lift point (:class:`~realvlg.robots.limits.GraspLimits`); no motion."""
        self.require(grasp)
        self.config.limits.check(grasp, self.config.pre_grasp_offset, self.config.lift_height)

    def grasp(self, grasp: Grasp6D) -> GraspResult:
        self.check(grasp)
        with self._on_current_connection():
            return self._grasp(grasp)

    def _grasp(self, grasp: Grasp6D) -> GraspResult:
        import franky

        cfg = self.config
        self._require()
        width, target_grasp = grasp.width, grasp

        retries, timings, stage = [0], {}, "home"
        t0 = t = time.perf_counter()
        try:
            self.home(retries)
            self._require()[1].move(min(width + cfg.open_margin, cfg.max_width), cfg.grasp_speed)
            timings["home"] = time.perf_counter() - t

            T_grasp = ee_target(target_grasp, self.current_pose()[:3, :3])
            T_pre = T_grasp.copy()
            T_pre[:3, 3] -= cfg.pre_grasp_offset * T_grasp[:3, 2]
            T_lift = T_grasp.copy()
            T_lift[2, 3] += cfg.lift_height

            for stage, T, factor in (("pre_grasp", T_pre, 1.0), ("approach", T_grasp, cfg.approach_dynamics_factor)):
                t = time.perf_counter()
                self._cartesian(T, stage, factor, retries)
                timings[stage] = time.perf_counter() - t

            stage, t = "grasp", time.perf_counter()
            self._require()[1].grasp(cfg.grasp_width, cfg.grasp_speed, cfg.grasp_force, cfg.epsilon_inner,
                                     cfg.epsilon_outer)
            timings[stage] = time.perf_counter() - t

            stage, t = "lift", time.perf_counter()
            self._cartesian(T_lift, stage, cfg.approach_dynamics_factor, retries)
            timings[stage] = time.perf_counter() - t

            stage = "check"
            held_width = self.gripper_width()
            timings["total"] = time.perf_counter() - t0
            if held_width < cfg.min_held_width:
                return GraspResult(False, f"the gripper closed on nothing (gap {held_width * 1000:.1f} mm)",
                                   stage, retries[0], held_width, timings, holding=False)
            return GraspResult(True, "", "done", retries[0], held_width, timings, holding=True)
        except _MotionFailed as exc:
            return GraspResult(False, str(exc), stage, retries[0], self._safe_width(), timings)
        except (franky.CommandException, franky.GripperException) as exc:
            return GraspResult(False, f"{stage}: the robot rejected a command: {exc}", stage, retries[0],
                               self._safe_width(), timings, fault=True)
        except franky.NetworkException as exc:
            raise RobotConnectionError(f"lost the connection to the robot during {stage}: {exc}") from exc

    def _safe_width(self) -> float:
        try:
            return self.gripper_width()
        except Exception:  # the width is informative only; the reason already says what failed
            return float("nan")

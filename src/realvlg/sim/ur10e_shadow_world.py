"""The simulated UR10e + Shadow Hand: the robot of :mod:`realvlg.robots.ur10e_shadow.model` (arm from
its DH table, gymnasium-robotics' Shadow Hand on the flange, the D415-like wrist camera), a table and
realvlg's objects, all in MuJoCo — and :class:`SimBackend`, the world below the grasp stages that the
real robot shares (:class:`~realvlg.robots.ur10e_shadow.ur10e_shadow.UR10eShadowExecutor`).

Frames (metres, radians, REP-103): **base** = MuJoCo world = the UR10e's DH base (z up, x towards
the table); the robot's frames as :mod:`realvlg.robots.ur10e_shadow.model` states them. The table
top is the plane z = ``UR10eShadowWorldConfig.table_top`` (0: the robot is mounted at table height)
and spans ``table_extent``; the floor is 0.75 m below it.

Camera: intrinsics 1280×720 with fx = fy = 1005 px (65° × 39.4° field of view, the D415 data
sheet's depth FOV), principal point at the centre, scaled with the resolution. :meth:`render`
returns an :class:`~realvlg.observation.RGBDFrame` with the camera pose and the object and part
labels of every pixel (the simulator's ground truth, what a part segmenter gives a real robot).

Observation pose: :meth:`UR10eShadowWorld.observation_q` points the camera at ``view_target`` from
``view_distance`` at a 45° look-down (the paper's real setup), solved by IK at start-up.

Objects: :data:`~realvlg.objects.OBJECTS`' MJCF bodies (``obj/<name>``, geoms
``obj/<name>/<i>`` with parts from ``ObjectSpec.parts``); scenes come from
:func:`~realvlg.sim.scenes.generate_scene` moved by ``scene_offset`` in front of the UR10e
(:func:`ur10e_scene`). Objects of the world that a :meth:`~UR10eShadowWorld.reset` leaves out wait on
the floor beside the table, out of view.

Physics: stepped in-process (``mj_step``, 2 ms, implicit-fast integrator, elliptic friction cones);
no real-time thread. Not thread-safe: one caller at a time.
"""

from __future__ import annotations

import dataclasses
import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass

import mujoco
import numpy as np

from realvlg.errors import InvalidInputError, SimError
from realvlg.frames import UR_BASE_FRAME
from realvlg.objects import OBJECTS, TABLE_CLEARANCE
from realvlg.observation import RGBDFrame
from realvlg.robots.ur10e_shadow import UR10eShadowConfig, UR10eShadowExecutor
from realvlg.robots.ur10e_shadow.kinematics import UR10E_Q_MAX, UR10E_Q_MIN, solve_ik
from realvlg.robots.ur10e_shadow.model import (
    ARM_JOINTS,
    T_FLANGE_CAMERA,
    RobotModel,
    _fmt,
    add_table,
    robot_mjcf,
)
from realvlg.robots.ur10e_shadow.stages import Backend
from realvlg.shadow_hand import MJCF_PREFIX, SHADOW_JOINTS
from realvlg.sim.common import (
    OBJECT_PREFIX,
    CameraConfig,
    GraspCheck,
    Placement,
    SceneLabeller,
    placements_by_name,
    render_frame,
)

D415_FX_1280 = 1005.0  # px at 1280×720: 65° horizontal field of view
# MuJoCo cameras look along −z with y up; the optical frame looks along +z with y down.
_MJ_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])


# -- configuration -----------------------------------------------------------------------------
@dataclass(frozen=True)
class D415CameraConfig(CameraConfig):
    """The D415-like wrist camera: the FR3 simulation's camera type with a D415's focal length and
    near clip (its ``mount_position`` is unused here: the mount is :data:`T_FLANGE_CAMERA`)."""

    near: float = 0.05
    fx_1280: float = D415_FX_1280


@dataclass(frozen=True)
class UR10eShadowWorldConfig:
    camera: D415CameraConfig = D415CameraConfig()
    table_top: float = 0.0
    table_extent: tuple[float, float, float, float] = (0.3, 1.3, -0.7, 0.7)  # x_min, x_max, y_min, y_max
    scene_offset: tuple[float, float] = (0.4, 0.0)  # added to generate_scene's placements (FR3 region)
    view_target: tuple[float, float] = (0.86, 0.0)  # where the observation pose looks (table point)
    view_distance: float = 0.6  # camera → view_target [m]
    # The observation pose is the IK solution nearest to this (elbow up, wrist over the table).
    home_q: tuple[float, ...] = (0.6, -0.8, -2.5, -1.9, -1.1, -0.6)
    timestep: float = 0.002


@dataclass(frozen=True)
class MoveResult:
    """Outcome of a joint move: ``reached`` the target within ``tolerance`` or why not."""

    reached: bool
    reason: str = ""
    error: float = 0.0  # max |q − target| at the end [rad]


def ur10e_scene(setting: str, seed: int, objects=None,
                config: UR10eShadowWorldConfig = UR10eShadowWorldConfig()) -> tuple[Placement, ...]:
    """:func:`~realvlg.sim.scenes.generate_scene`'s placements moved by ``config.scene_offset``
    in front of the UR10e (same seeds, same layouts)."""
    from realvlg.sim.scenes import generate_scene

    dx, dy = config.scene_offset
    return tuple(Placement(p.name, p.x + dx, p.y + dy, p.yaw) for p in generate_scene(setting, seed, objects).placements)


# -- MJCF ----------------------------------------------------------------------------------------
def _scene_mjcf(config: UR10eShadowWorldConfig, object_names: Sequence[str]) -> str:
    cam = config.camera
    root, worldbody = robot_mjcf(cam.fovy_deg, (cam.width, cam.height), config.timestep)
    t = config.table_top
    ET.SubElement(worldbody, "light", name="sun", directional="true", pos="0.5 0 3", dir="0 0.3 -1",
                  diffuse="0.8 0.8 0.8", ambient="0.3 0.3 0.3", castshadow="true")
    ET.SubElement(worldbody, "geom", name="floor", type="plane", pos=f"0 0 {t - 0.75}", size="4 4 0.1",
                  rgba="0.55 0.55 0.55 1")
    add_table(worldbody, t, config.table_extent)
    x0, x1, y0, y1 = config.table_extent
    for sx, sy in ((x0 + 0.05, y0 + 0.05), (x0 + 0.05, y1 - 0.05), (x1 - 0.05, y0 + 0.05), (x1 - 0.05, y1 - 0.05)):
        ET.SubElement(worldbody, "geom", type="box", pos=_fmt((sx, sy, t - 0.4)), size="0.03 0.03 0.36",
                      rgba="0.5 0.4 0.3 1", contype="0", conaffinity="0")
    ET.SubElement(worldbody, "geom", name="pedestal", type="cylinder", fromto=_fmt((0, 0, t - 0.75, 0, 0, -0.001)),
                  size="0.1", rgba="0.3 0.3 0.32 1", contype="0", conaffinity="0")
    asset = root.find("asset")
    for i, name in enumerate(object_names):
        spec = OBJECTS[name]
        asset.extend(spec.mjcf_assets())
        worldbody.append(spec.mjcf_body(OBJECT_PREFIX + name, _park_position(i, config), 0.0))
    return ET.tostring(root, encoding="unicode")


def _park_position(slot: int, config: UR10eShadowWorldConfig) -> tuple[float, float, float]:
    """Where an object not in the current scene waits: on the floor beside the table."""
    return (0.3 + 0.15 * slot, config.table_extent[2] - 0.4, config.table_top - 0.75 + TABLE_CLEARANCE)


def _pose(pos, mat) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = np.asarray(mat).reshape(3, 3)
    T[:3, 3] = pos
    return T


# -- the world -----------------------------------------------------------------------------------
class UR10eShadowWorld:
    """UR10e + Shadow Hand in a table-top scene (module docstring). ``objects``: every object a
    later :meth:`reset` may place (default: those of ``placements``)."""

    def __init__(self, placements: Sequence[Placement] = (), config: UR10eShadowWorldConfig = UR10eShadowWorldConfig(),
                 objects: Sequence[str] | None = None):
        names = list(objects) if objects is not None else [p.name for p in placements]
        unknown = [n for n in names if n not in OBJECTS]
        if unknown:
            raise InvalidInputError(f"unknown objects {unknown}; known: {', '.join(OBJECTS)}")
        if len(set(names)) != len(names):
            raise InvalidInputError(f"each object may appear once in a scene, got {names}")
        self.config = config
        self.object_names = tuple(names)
        self.model = mujoco.MjModel.from_xml_string(_scene_mjcf(config, names))
        self.data = mujoco.MjData(self.model)
        self._index()
        self._renderer: mujoco.Renderer | None = None
        self._observation_q: np.ndarray | None = None
        self._rest_z: dict[str, float] = {}
        self.active: tuple[str, ...] = ()
        self.reset(placements)

    # -- indices --------------------------------------------------------------------------------
    def _index(self) -> None:
        m = self.model
        self.robot = robot = RobotModel(m)
        self._arm_qpos, self._hand_qpos, self._hand_dof = robot.arm_qpos, robot.hand_qpos, robot.hand_dof
        self._arm_act = np.array([mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_ACTUATOR, f"A_{j}") for j in ARM_JOINTS])
        self._hand_act = np.array([i for i in range(m.nu) if m.actuator(i).name.startswith(MJCF_PREFIX)])
        act_joint = [m.joint(m.actuator_trnid[i, 0]).name[len(MJCF_PREFIX):] for i in self._hand_act]
        self._hand_act_joint = np.array([SHADOW_JOINTS.index(j) for j in act_joint])
        # J1 actuators also set the coupled J0 (tendon: 0.00705·J0 ≈ 0.00805·J1).
        self._hand_act_coupled = np.array([SHADOW_JOINTS.index(j[:-1] + "0") if j.endswith("J1") and j[:2] != "TH"
                                           else -1 for j in act_joint])
        self._bodies = {n: mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, OBJECT_PREFIX + n) for n in self.object_names}
        self.labeller = SceneLabeller(m, self.object_names)
        self.hand_ctrl_range = m.actuator_ctrlrange[self._hand_act]

    # -- state ----------------------------------------------------------------------------------
    @property
    def time(self) -> float:
        return float(self.data.time)

    def arm_q(self) -> np.ndarray:
        return self.data.qpos[self._arm_qpos].copy()

    def hand_q(self) -> np.ndarray:
        """The 22 finger joints (:data:`SHADOW_JOINTS` order)."""
        return self.data.qpos[self._hand_qpos].copy()

    def palm_pose(self) -> np.ndarray:
        """base←robot0:palm (the :class:`DexGrasp` frame)."""
        return _pose(self.data.xpos[self.robot.palm], self.data.xmat[self.robot.palm])

    def flange_pose(self) -> np.ndarray:
        """base←tool0."""
        return _pose(self.data.xpos[self.robot.tool0], self.data.xmat[self.robot.tool0])

    def camera_pose(self) -> np.ndarray:
        """base←camera optical frame."""
        d = self.data
        return _pose(d.cam_xpos[self.robot.camera], d.cam_xmat[self.robot.camera].reshape(3, 3) @ _MJ_TO_OPTICAL)

    def object_pose(self, name: str) -> np.ndarray:
        """base←object (footprint centre, z up)."""
        if name not in self._bodies:
            raise InvalidInputError(f"no object {name!r} in this world ({', '.join(self.object_names)})")
        b = self._bodies[name]
        return _pose(self.data.xpos[b], self.data.xmat[b])

    def object_height(self, name: str) -> float:
        """Height of the object's centre of mass [m] (what :meth:`lift_check` measures: unlike
        the footprint origin it does not change when a round object rolls)."""
        self.object_pose(name)
        return float(self.data.xipos[self._bodies[name], 2])

    def object_poses(self) -> dict[str, np.ndarray]:
        return {n: self.object_pose(n) for n in self.active}

    def contacts(self, name: str) -> tuple[bool, bool]:
        """Whether object ``name`` touches the hand, the table."""
        m, d = self.model, self.data
        c = d.contact[: d.ncon]
        b1, b2 = m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2]
        mine = (b1 == self._bodies[name]) | (b2 == self._bodies[name])
        other = np.where(b1 == self._bodies[name], c.geom2, c.geom1)[mine]
        return bool(self.robot.hand_geom[other].any()), bool(np.any(other == self.robot.table))

    # -- scenes ---------------------------------------------------------------------------------
    def reset(self, placements: Sequence[Placement] = (), settle: float = 0.3) -> None:
        """A new scene: arm at the observation pose, hand open, the objects of ``placements`` on the
        table at rest, every other object of the world parked on the floor; ``settle`` seconds of
        physics, then the objects' resting heights are recorded for :meth:`lift_check`."""
        wanted = placements_by_name(placements, self.object_names)
        m, d = self.model, self.data
        mujoco.mj_resetData(m, d)
        q = self.observation_q()
        d.qpos[self._arm_qpos] = q
        d.ctrl[self._arm_act] = q
        d.ctrl[self._hand_act] = np.clip(0.0, *self.hand_ctrl_range.T)
        for i, name in enumerate(self.object_names):
            joint = m.body_jntadr[self._bodies[name]]
            a = m.jnt_qposadr[joint]
            if name in wanted:
                p = wanted[name]
                d.qpos[a:a + 3] = (p.x, p.y, self.config.table_top + TABLE_CLEARANCE)
                d.qpos[a + 3:a + 7] = (math.cos(p.yaw / 2), 0.0, 0.0, math.sin(p.yaw / 2))
            else:
                d.qpos[a:a + 3] = _park_position(i, self.config)
                d.qpos[a + 3:a + 7] = (1.0, 0.0, 0.0, 0.0)
        self.active = tuple(wanted)
        mujoco.mj_forward(m, d)
        self.step(settle)
        self._rest_z = {n: self.object_height(n) for n in self.active}

    def observation_q(self) -> np.ndarray:
        """Arm joints that show the table (module docstring); solved once by IK."""
        if self._observation_q is None:
            cfg = self.config
            target = np.array([*cfg.view_target, cfg.table_top])
            forward = np.array([math.cos(math.pi / 4), 0.0, -math.sin(math.pi / 4)])
            T_cam = np.eye(4)
            x = np.array([0.0, -1.0, 0.0])  # image right = base −y
            T_cam[:3, :3] = np.column_stack([x, np.cross(forward, x), forward])
            T_cam[:3, 3] = target - cfg.view_distance * forward
            ik = solve_ik(T_cam @ np.linalg.inv(T_FLANGE_CAMERA), np.asarray(cfg.home_q))
            if not ik.reachable:
                raise SimError(f"no observation pose reaches view_target {cfg.view_target} from "
                                  f"{cfg.view_distance} m")
            self._observation_q = ik.q
        return self._observation_q.copy()

    # -- physics --------------------------------------------------------------------------------
    def step(self, seconds: float) -> None:
        for _ in range(max(1, round(seconds / self.model.opt.timestep))):
            mujoco.mj_step(self.model, self.data)

    def move_arm(self, q_target: Sequence[float], duration: float = 2.0, tolerance: float = 0.01,
                 settle: float = 0.5, stop_on_table_contact: bool = True) -> MoveResult:
        """Move the arm to ``q_target`` [rad] along a minimum-jerk joint path over ``duration``
        seconds (position targets every physics step), then allow up to ``settle`` seconds to
        come within ``tolerance``. Stops and holds where it is if the robot hits the table."""
        q1 = np.asarray(q_target, dtype=float).reshape(-1)
        if q1.shape != (6,) or not np.isfinite(q1).all():
            raise InvalidInputError(f"the UR10e takes 6 finite joint angles, got {q_target!r}")
        if np.any(q1 < UR10E_Q_MIN) or np.any(q1 > UR10E_Q_MAX):
            raise InvalidInputError(f"joint target {q1.round(3).tolist()} outside the UR10e's ±2π range")
        d, dt = self.data, self.model.opt.timestep
        q0 = d.ctrl[self._arm_act].copy()
        n = max(1, round(duration / dt))
        for k in range(1, n + round(settle / dt) + 1):
            s = min(k / n, 1.0)
            d.ctrl[self._arm_act] = q0 + (10 * s**3 - 15 * s**4 + 6 * s**5) * (q1 - q0)
            mujoco.mj_step(self.model, d)
            if stop_on_table_contact and self.robot.robot_table_contact(self.data):
                d.ctrl[self._arm_act] = d.qpos[self._arm_qpos]
                return MoveResult(False, "the robot hit the table", float(np.abs(self.arm_q() - q1).max()))
            if k >= n and np.abs(self.arm_q() - q1).max() < tolerance:
                return MoveResult(True, "", float(np.abs(self.arm_q() - q1).max()))
        error = float(np.abs(self.arm_q() - q1).max())
        return MoveResult(False, f"did not reach the target within {settle} s (error {error:.3f} rad)", error)

    def hand_ctrl(self, joints22: Sequence[float]) -> np.ndarray:
        """22 finger joint angles → the 20 actuator targets (a coupled J1 actuator gets the J1
        angle most consistent with both J1 and J0), clipped to the actuators' ranges."""
        j = np.asarray(joints22, dtype=float).reshape(-1)
        if j.shape != (len(SHADOW_JOINTS),) or not np.isfinite(j).all():
            raise InvalidInputError(f"the Shadow Hand takes {len(SHADOW_JOINTS)} finite joint angles, got shape {j.shape}")
        ratio = 0.00805 / 0.00705
        target = j[self._hand_act_joint]
        coupled = self._hand_act_coupled >= 0
        target[coupled] = (target[coupled] + ratio * j[self._hand_act_coupled[coupled]]) / (1 + ratio**2)
        return np.clip(target, *self.hand_ctrl_range.T)

    def set_hand(self, joints22: Sequence[float], duration: float = 1.0) -> np.ndarray:
        """Drive the fingers to ``joints22`` (:data:`SHADOW_JOINTS` order) linearly over
        ``duration`` seconds while the arm holds; returns the finger joints reached."""
        target = self.hand_ctrl(joints22)
        d = self.data
        start = d.ctrl[self._hand_act].copy()
        n = max(1, round(duration / self.model.opt.timestep))
        for k in range(1, n + 1):
            d.ctrl[self._hand_act] = start + k / n * (target - start)
            mujoco.mj_step(self.model, d)
        return self.hand_q()

    def lift_check(self, name: str, lift: float = 0.03, hold: float = 1.0) -> GraspCheck:
        """The paper's Suc for object ``name`` (call it after lifting): the object's centre of mass
        must be at least ``lift`` above its resting height now and after ``hold`` seconds with the robot still,
        touching the hand and not the table at the end."""
        if name not in self.active:
            raise InvalidInputError(f"no object {name!r} in this scene ({', '.join(self.active)})")
        gain0 = self.object_height(name) - self._rest_z[name]
        self.step(hold)
        gain = self.object_height(name) - self._rest_z[name]
        hand, table = self.contacts(name)
        return GraspCheck(lifted=min(gain0, gain) >= lift, held=hand and not table, height_gain=gain)

    # -- camera ---------------------------------------------------------------------------------
    def render(self) -> RGBDFrame:
        """RGB, metric depth, the camera pose and the object and part labels from the wrist camera."""
        cam = self.config.camera
        if self._renderer is None:
            self._renderer = mujoco.Renderer(self.model, cam.height, cam.width)
        return render_frame(self._renderer, self.data, self.robot.camera, cam, self.labeller, self.camera_pose(),
                            UR_BASE_FRAME)

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    def __enter__(self) -> UR10eShadowWorld:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class SimBackend(Backend):
    """The simulated world below the UR10e + Shadow Hand grasp stages: joint moves follow the
    waypoints along minimum-jerk joint paths (stopping when the robot hits the table), the hand is
    position-servoed, holding = an object touches the hand and not the table."""

    def __init__(self, world: UR10eShadowWorld):
        self.world = world

    def arm_q(self) -> np.ndarray:
        return self.world.arm_q()

    def hand_q(self) -> np.ndarray:
        return self.world.hand_q()

    def move_joints(self, path: np.ndarray, duration: float) -> str:
        return self._follow(np.atleast_2d(path), duration, True)

    def move_line(self, path: np.ndarray, flange_target: np.ndarray, duration: float, stop_on_table: bool) -> str:
        return self._follow(path, duration, stop_on_table)

    def _follow(self, path: np.ndarray, duration: float, stop_on_table: bool) -> str:
        for i, q in enumerate(path):
            last = i == len(path) - 1
            result = self.world.move_arm(q, duration / len(path), tolerance=0.02 if last else np.inf,
                                         settle=0.5 if last else 0.0, stop_on_table_contact=stop_on_table)
            if not result.reached:
                return result.reason
        return ""

    def set_hand(self, fingers: np.ndarray, duration: float) -> None:
        self.world.set_hand(fingers, duration)

    def wait(self, seconds: float) -> None:
        self.world.step(seconds)

    def holding(self) -> bool:
        return any(hand and not table for hand, table in map(self.world.contacts, self.world.active))


def sim_executor(world: UR10eShadowWorld, config: UR10eShadowConfig = UR10eShadowConfig()) -> UR10eShadowExecutor:
    """The UR10e + Shadow Hand executor on ``world``: ``config`` with the world's table and
    observation pose (the executor's home), the grasp stages on :class:`SimBackend`."""
    config = dataclasses.replace(config, table_top=world.config.table_top, table_extent=world.config.table_extent,
                                 home_q=tuple(world.observation_q().tolist()))
    return UR10eShadowExecutor(config, SimBackend(world))

"""The simulated world: franky-sim's MuJoCo FR3 + Franka hand, a table, the test objects and an
eye-in-hand RGB-D camera, serving the real libfranka protocol on a loopback address.

Frames (all metres, radians):

* **base** = MuJoCo world: the FR3's ``fr3_link0`` at the origin, z up, x forward. The table top
  is the plane z = ``FR3WorldConfig.table_top`` (0: the robot stands on the table, as it is
  mounted in the lab); the floor is 0.75 m below.
* **ee** = franky's end-effector (``O_T_EE``), the Franka hand's TCP: 0.1034 m along the flange
  z axis, rotated −45° about it; z = approach, y = finger closing direction — the same axes as
  realvlg's :class:`~realvlg.geometry.grasps.Grasp6D`.
* **camera** = REP-103 optical frame of the wrist camera (x right, y down, z forward), rigidly
  mounted on the hand body ``robot0_hand`` (whose frame is the flange rotated −45°, i.e. the ee
  frame 0.1034 m back along z). ``CameraConfig.mount_position`` is the optical centre in the hand
  frame, default (0.065, 0, 0.04): 6.5 cm off the fingers' plane along hand x, 4 cm past the
  flange; the optical axis is parallel to the approach (hand +z), image x = hand +y and image
  y = hand −x, so the fingers lie below the image, outside the field of view.
* Intrinsics are D435i colour-like: 1280×720, fx = fy = 910 px, principal point at the image
  centre ((W−1)/2, (H−1)/2), no distortion. Lower resolutions keep the 70.2° horizontal field
  of view (fx = fy = 910·W/1280), so a 4:3 image sees a little more vertically than 16:9.

The physics runs in franky-sim's 1 kHz thread (real time); :meth:`FR3World.render` copies the
MuJoCo state under a lock between two physics steps (:meth:`FR3World.snapshot`) and renders RGB,
metric z-depth and the object and part labels from the copy into an
:class:`~realvlg.observation.RGBDFrame`; the camera pose in it and :meth:`FR3World.object_poses` of
the same copy belong to the same instant.
"""

from __future__ import annotations

import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Callable, Sequence

import mujoco
import numpy as np

from realvlg.errors import InvalidInputError, SimError
from realvlg.frames import FR3_BASE_FRAME, FR3_HAND_TCP_OFFSET, FRANKA_HAND_STROKE
from realvlg.objects import OBJECTS, TABLE_CLEARANCE
from realvlg.observation import RGBDFrame
from realvlg.robots.franka.config_franka import FR3_HOME_Q
from realvlg.sim.common import (
    OBJECT_PREFIX,
    CameraConfig,
    GraspCheck,
    Placement,
    SceneLabeller,
    placements_by_name,
    render_frame,
)

HAND_BODY = "robot0_hand"
FINGER_BODIES = ("robot0_left_finger", "robot0_right_finger")
CAMERA_NAME = "wrist_camera"
# Observation pose = the executor's home (FR3_HOME_Q) and, for reference, the ee and camera poses they give
# with the default camera mount (base frame; the tests check both against the simulator). The ee
# is at (0.40, 0, 0.472) pointing straight down with hand x along base +x, so the camera (6.5 cm
# along hand +x) looks down on the table around x = 0.465 from 0.535 m; image right = base −y,
# image down = base −x.
OBSERVATION_EE = np.array([[1.0, 0.0, 0.0, 0.400], [0.0, -1.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.472], [0, 0, 0, 1]])
OBSERVATION_CAMERA = np.array([[0.0, -1.0, 0.0, 0.465], [-1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.535], [0, 0, 0, 1]])


MAX_HOLD_S = 5.0  # s: the longest hold a grasp check waits (simulated time; the criterion holds 2 s)
PARK_X = -0.28  # behind the robot base, out of the wrist camera's view from any observation pose


def park_placement(name: str) -> Placement:
    """Where an object of the world waits while it is not part of the scene (see FR3World.reset):
    on the table behind the robot, one slot per object."""
    slot = list(OBJECTS).index(name)
    return Placement(name, PARK_X, -0.63 + 0.14 * slot, 0.0)


@dataclass(frozen=True)
class FR3WorldConfig:
    hostname: str = "127.0.0.1"
    camera: CameraConfig = CameraConfig()
    table_top: float = 0.0
    table_extent: tuple[float, float, float, float] = (-0.35, 1.0, -0.7, 0.7)  # x_min, x_max, y_min, y_max
    initial_q: tuple[float, ...] = FR3_HOME_Q
    realtime: float = 1.0  # physics speed as a multiple of wall-clock time (franky expects 1)
    # The FCI's command watchdog: a motion that gets no command for this long [s, simulated] is
    # aborted as a reflex (the real FCI: 20 missed 1 kHz packets; lenient here, no real-time
    # kernel). franky-sim has none: a client frozen for seconds mid-motion drove the arm past its
    # joint limits and every later plan failed (docs/reliability.md).
    command_timeout: float = 2.0   # pauses up to 3 s only slowed motions (measured); 6–7 s broke them
    # Extra MJCF built after the table and objects, each called as f(mujoco_root, worldbody)
    # (e.g. realvlg.calibration.sim's calibration board).
    scene_extras: tuple[Callable[[ET.Element, ET.Element], None], ...] = ()


def free_loopback_address(seed: int | None = None, tries: int = 200) -> str:
    """A 127.x.y.z address whose libfranka ports (1337 robot, 1338 gripper) are free, so several
    simulated robots (tests, helpers) can run side by side on one machine."""
    import socket

    rng = np.random.default_rng(seed)
    for _ in range(tries):
        host = "127.{}.{}.{}".format(*rng.integers(1, 255, size=3))
        socks = []
        try:
            for port in (1337, 1338):
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                socks.append(s)
                s.bind((host, port))
            return host
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise SimError(f"no free loopback address for ports 1337/1338 after {tries} tries")


def _pose(pos, mat) -> np.ndarray:
    T = np.eye(4)
    T[:3, :3] = np.asarray(mat).reshape(3, 3)
    T[:3, 3] = pos
    return T


# MuJoCo cameras look along −z with y up; the optical frame looks along +z with y down.
_MJ_TO_OPTICAL = np.diag([1.0, -1.0, -1.0])


class FR3World:
    """franky-sim's FR3 in a table-top scene. ``start()`` builds the MJCF, binds the libfranka
    robot server (port 1337) and gripper server (1338) to ``config.hostname`` and runs the
    physics thread; connect with ``franky.Robot(world.hostname, RealtimeConfig.Ignore)``.
    A different loopback address per world (127.x.y.z) lets several worlds run side by side."""

    def __init__(self, placements: Sequence[Placement] = (), config: FR3WorldConfig = FR3WorldConfig()):
        names = [p.name for p in placements]
        unknown = [n for n in names if n not in OBJECTS]
        if unknown:
            raise InvalidInputError(f"unknown objects {unknown}; known: {', '.join(OBJECTS)}")
        if len(set(names)) != len(names):
            raise InvalidInputError(f"each object may appear once in a scene, got {names}")
        self.placements = tuple(placements)
        self.active = self.object_names  # the objects of the current scene (see reset)
        self.config = config
        self._sim = None
        self._server = None
        self._lock = threading.Lock()
        self._renderers: dict[tuple[int, int], mujoco.Renderer] = {}
        self._rest_z: dict[str, float] = {}
        self._reflex_at: float | None = None
        self.reflexes_injected = 0
        self._silent_s = 0.0   # simulated time the running motion has gone without a command
        self.commands_timed_out = 0

    # -- life cycle --------------------------------------------------------------------------
    @property
    def hostname(self) -> str:
        return self.config.hostname

    @property
    def model(self) -> mujoco.MjModel:
        return self._require().model

    @property
    def object_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.placements)

    def build(self) -> "FR3World":
        """Build the MuJoCo model and data without serving the robot or running the physics:
        enough for :meth:`pose` + :meth:`render` (offline rendering, e.g. the data generator)."""
        sim = self._make_simulator()
        sim.start()
        self._sim = sim
        self._index_model()
        return self

    def _make_simulator(self):
        from franky_sim.mujoco_simulator import MujocoSimulator

        if self._sim is not None:
            raise SimError("the world is already started (or built)")
        sim = MujocoSimulator()
        sim.add_robot(initial_q=self.config.initial_q)
        self._build_scene(sim)
        sim.init()
        return sim

    def start(self, settle_s: float = 0.3) -> "FR3World":
        from franky_sim import SimulationServer

        sim = self._make_simulator()
        server = SimulationServer(sim, hostname_candidates=[self.config.hostname])
        try:
            server.init()
        except OSError as exc:
            raise SimError(f"cannot serve the simulated robot on {self.config.hostname}:1337/1338 "
                           f"(another simulator there?): {exc}") from exc
        self._sim, self._server = sim, server
        self._index_model()
        sim.register_pre_step_callback(lambda _: self._lock.acquire())
        sim.register_pre_step_callback(self._maybe_reflex)
        sim.register_pre_step_callback(self._watch_commands)
        sim.register_post_step_callback(lambda _: self._lock.release())
        server.run_async(realtime=self.config.realtime)
        if settle_s > 0:
            self.wait(settle_s)
        self._rest_z = {n: float(T[2, 3]) for n, T in self.object_poses().items()}
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
        for r in self._renderers.values():
            r.close()
        self._renderers.clear()
        if self._sim is not None and not self._sim.is_cleaned_up:
            self._sim.cleanup()
        self._sim = self._server = None

    def __enter__(self) -> "FR3World":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _require(self):
        if self._sim is None:
            raise SimError("the world is not started (call start())")
        return self._sim

    # -- scene --------------------------------------------------------------------------------
    def _build_scene(self, sim) -> None:
        cfg, cam = self.config, self.config.camera
        # Elliptic friction cones with a high impratio stop held objects from creeping out of the
        # fingers (MuJoCo's soft contacts otherwise let them slip slowly under a squeeze).
        option = sim.scene.find("option")
        option.set("cone", "elliptic")
        option.set("impratio", "10")
        visual = sim.scene.find("visual")
        # franky-sim asks for 8× multisampling and 4096² shadow maps; on a CPU (llvmpipe) that
        # costs most of the render time. 2× and 2048² look the same at camera resolution.
        visual.find("quality").attrib.update(shadowsize="2048", offsamples="2")
        ET.SubElement(visual, "global", offwidth=str(max(cam.width, 1280)), offheight=str(max(cam.height, 720)))
        ET.SubElement(visual, "map", znear="0.005", zfar="5")  # × model extent
        for g in sim.worldbody.iter("geom"):
            if g.get("name") == "ground":
                g.set("pos", f"0 0 {cfg.table_top - 0.75}")
        x0, x1, y0, y1 = cfg.table_extent
        ET.SubElement(sim.worldbody, "geom", name="table", type="box",
                      pos=f"{(x0 + x1) / 2} {(y0 + y1) / 2} {cfg.table_top - 0.02}",
                      size=f"{(x1 - x0) / 2} {(y1 - y0) / 2} 0.02", rgba="0.72 0.58 0.42 1",
                      friction="0.8 0.01 0.0001")
        for sx, sy in ((x0 + 0.05, y0 + 0.05), (x0 + 0.05, y1 - 0.05), (x1 - 0.05, y0 + 0.05), (x1 - 0.05, y1 - 0.05)):
            ET.SubElement(sim.worldbody, "geom", type="box", pos=f"{sx} {sy} {cfg.table_top - 0.4}",
                          size="0.03 0.03 0.36", rgba="0.5 0.4 0.3 1", contype="0", conaffinity="0")
        hand = next(b for b in sim.worldbody.iter("body") if b.get("name") == HAND_BODY)
        # MuJoCo camera axes in the hand frame: x = image right = hand +y, y = image up = hand +x.
        ET.SubElement(hand, "camera", name=CAMERA_NAME, pos=" ".join(map(str, cam.mount_position)),
                      xyaxes="0 1 0 1 0 0", fovy=f"{cam.fovy_deg:.6f}")
        asset = sim.scene.find("asset")
        for p in self.placements:
            spec = OBJECTS[p.name]
            for m in spec.mjcf_assets():
                asset.append(m)
            sim.worldbody.append(spec.mjcf_body(OBJECT_PREFIX + p.name,
                                                (p.x, p.y, cfg.table_top + TABLE_CLEARANCE), p.yaw))
        for add in cfg.scene_extras:
            add(sim.scene, sim.worldbody)

    def _index_model(self) -> None:
        m = self._sim.model
        self._cam_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_CAMERA, CAMERA_NAME)
        self._hand_id = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, HAND_BODY)
        self._finger_ids = [mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, b) for b in FINGER_BODIES]
        self._table_geom = mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_GEOM, "table")
        self._body_ids = {n: mujoco.mj_name2id(m, mujoco.mjtObj.mjOBJ_BODY, OBJECT_PREFIX + n)
                          for n in self.object_names}
        self.labeller = SceneLabeller(m, self.object_names)

    # -- fault injection ------------------------------------------------------------------------
    def inject_reflex(self, after_s: float = 0.0) -> None:
        """Fault injection for tests: the first robot motion running ``after_s`` simulated seconds
        from now is aborted the way a real FR3 reflex aborts it — the robot stops and holds, and
        the libfranka Move command answers ``kReflexAborted`` — so the client sees the same
        ``ControlException`` a real reflex gives (franky-sim raises none; the only other one here
        is the command watchdog, ``FR3WorldConfig.command_timeout``)."""
        self._reflex_at = self._require().data.time + after_s

    def _maybe_reflex(self, sim) -> None:
        if self._reflex_at is not None and sim.data.time >= self._reflex_at and self._abort_motion():
            self._reflex_at = None
            self.reflexes_injected += 1

    def _watch_commands(self, sim) -> None:
        """The FCI's command watchdog (``config.command_timeout``); runs each tick after the robot
        server took that tick's commands."""
        rs = self._server.robot_servers[0]
        got_command = rs._FrankaRobotServer__has_new_command   # franky-sim keeps it private
        silent = rs.current_motion_id and not got_command
        self._silent_s = self._silent_s + sim.model.opt.timestep if silent else 0.0
        if self._silent_s >= self.config.command_timeout and self._abort_motion():
            self._silent_s = 0.0
            self.commands_timed_out += 1

    def _abort_motion(self) -> bool:
        """Abort the running motion the way a real FR3 reflex does — the robot stops and holds,
        and the libfranka Move command answers ``kReflexAborted``, so the client sees the same
        ``ControlException``. False when no motion runs."""
        from franky_sim.franka_robot_protocol import MoveStatus, RobotCommand
        from franky_sim.franka_server import BaseCommand

        rs = self._server.robot_servers[0]
        motion_id = rs.current_motion_id
        if not motion_id:
            return False
        rs.stop_motion(send_preemption_signal=False)
        BaseCommand.send_response(rs._tcp_socket, RobotCommand.kMove, motion_id, MoveStatus.kReflexAborted)
        rs.reset_current_motion_id()
        return True

    # -- state --------------------------------------------------------------------------------
    def snapshot(self) -> mujoco.MjData:
        """A copy of the live MuJoCo state taken between two physics steps."""
        sim = self._require()
        copy = mujoco.MjData(sim.model)
        with self._lock:
            mujoco.mj_copyData(copy, sim.model, sim.data)
        return copy

    def wait(self, seconds: float) -> None:
        """Wait until ``seconds`` of simulated time have passed."""
        sim = self._require()
        t_end = sim.data.time + seconds
        while sim.data.time < t_end:
            time.sleep(0.005)

    def object_poses(self, data: mujoco.MjData | None = None) -> dict[str, np.ndarray]:
        """base←object 4x4 per object name."""
        d = data if data is not None else self.snapshot()
        return {n: _pose(d.xpos[b], d.xmat[b]) for n, b in self._body_ids.items()}

    def object_pose(self, name: str) -> np.ndarray:
        if name not in self._body_ids:
            raise InvalidInputError(f"no object {name!r} in this scene ({', '.join(self.object_names)})")
        return self.object_poses()[name]

    def object_speeds(self) -> dict[str, float]:
        """Linear speed [m/s] of each object (from the free joint's velocity)."""
        d = self.snapshot()
        m = self._sim.model
        return {n: float(np.linalg.norm(d.qvel[m.jnt_dofadr[m.body_jntadr[b]]:][:3]))
                for n, b in self._body_ids.items()}

    def camera_pose(self, data: mujoco.MjData | None = None) -> np.ndarray:
        """base←camera optical frame."""
        d = data if data is not None else self.snapshot()
        return _pose(d.cam_xpos[self._cam_id], d.cam_xmat[self._cam_id].reshape(3, 3) @ _MJ_TO_OPTICAL)

    def hand_pose(self, data: mujoco.MjData | None = None) -> np.ndarray:
        """base←hand body (flange rotated −45°; franky's ee is ``FR3_HAND_TCP_OFFSET`` further along z)."""
        d = data if data is not None else self.snapshot()
        return _pose(d.xpos[self._hand_id], d.xmat[self._hand_id])

    def ee_pose(self, data: mujoco.MjData | None = None) -> np.ndarray:
        """base←ee: franky's end effector, the Franka hand's TCP (``fr3_hand_tcp``)."""
        return self.hand_pose(data) @ _HAND_TO_EE

    def joint_positions(self) -> np.ndarray:
        robot = self._require().robots[0]
        d = self.snapshot()
        return d.qpos[robot._qpos_addrs].copy()

    def finger_contacts(self, name: str, data: mujoco.MjData | None = None) -> tuple[bool, bool, bool]:
        """Whether object ``name`` touches the left finger, the right finger, the table."""
        d = data if data is not None else self.snapshot()
        m = self._sim.model
        body = self._body_ids[name]
        c = d.contact[: d.ncon]
        b1, b2 = m.geom_bodyid[c.geom1], m.geom_bodyid[c.geom2]
        mine = (b1 == body) | (b2 == body)
        other_body = np.where(b1 == body, b2, b1)[mine]
        other_geom = np.where(b1 == body, c.geom2, c.geom1)[mine]
        return (bool(np.any(other_body == self._finger_ids[0])), bool(np.any(other_body == self._finger_ids[1])),
                bool(np.any(other_geom == self._table_geom)))

    def check_grasp(self, name: str, min_lift: float = 0.05, hold_s: float = 2.0) -> GraspCheck:
        """The paper's success criterion: wait ``hold_s`` of simulated time, then the object must
        be ≥ ``min_lift`` above where it rested after spawning, touch both fingers and not the table."""
        if name not in self._body_ids:
            raise InvalidInputError(f"no object {name!r} in this scene ({', '.join(self.object_names)})")
        if not (0.0 < min_lift <= 1.0 and 0.0 <= hold_s <= MAX_HOLD_S):   # also NaN
            raise InvalidInputError(f"min_lift must be in (0, 1] m and hold_s in [0, {MAX_HOLD_S:g}] s, "
                                    f"got {min_lift} m and {hold_s} s")
        self.wait(hold_s)
        d = self.snapshot()
        gain = float(self.object_poses(d)[name][2, 3] - self._rest_z[name])
        left, right, table = self.finger_contacts(name, d)
        return GraspCheck(lifted=gain >= min_lift, held=left and right and not table, height_gain=gain)

    # -- scenes --------------------------------------------------------------------------------
    def reset(self, placements: Sequence[Placement], settle_s: float = 0.5) -> None:
        """Put a new scene on the table without restarting the simulator (the libfranka server and
        its clients stay connected): the objects of ``placements`` go where they say, at rest;
        every other object of this world goes to its :func:`park_placement`, out of the camera's
        view. The robot is not moved: home it first (the executor), so nothing is held."""
        self._place(placements)
        if settle_s > 0:
            self.wait(settle_s)
        self._rest_z = {n: float(T[2, 3]) for n, T in self.object_poses().items()}

    def pose(self, placements: Sequence[Placement], q: Sequence[float], finger_width: float = FRANKA_HAND_STROKE) -> None:
        """Offline posing for a :meth:`build`-only world (no physics thread): the objects as in
        :meth:`reset` and the arm at joint positions ``q`` [rad] with the fingers ``finger_width``
        [m] apart, without simulating — the next :meth:`render` shows exactly this state."""
        if self._server is not None:
            raise SimError("pose() is for offline worlds; a started world moves its robot through franky")
        robot = self._require().robots[0]
        d = self._sim.data
        d.qpos[robot._qpos_addrs] = np.asarray(q, dtype=float)
        d.qpos[robot._finger_qpos_addrs] = finger_width / 2
        self._place(placements)

    def _place(self, placements: Sequence[Placement]) -> None:
        sim = self._require()
        wanted = placements_by_name(placements, self.object_names)
        m, d = sim.model, sim.data
        with self._lock:
            for name in self.object_names:
                p = wanted.get(name) or park_placement(name)
                joint = m.body_jntadr[self._body_ids[name]]
                q, v = m.jnt_qposadr[joint], m.jnt_dofadr[joint]
                d.qpos[q:q + 3] = (p.x, p.y, self.config.table_top + TABLE_CLEARANCE)
                d.qpos[q + 3:q + 7] = (np.cos(p.yaw / 2), 0.0, 0.0, np.sin(p.yaw / 2))
                d.qvel[v:v + 6] = 0.0
            mujoco.mj_forward(m, d)
        self.active = tuple(wanted)

    # -- camera ---------------------------------------------------------------------------------
    def render(self, data: mujoco.MjData | None = None) -> RGBDFrame:
        """RGB, depth, the camera pose and the object and part labels from the wrist camera at the
        configured resolution, of the state ``data`` (default: a fresh :meth:`snapshot`)."""
        cam = self.config.camera
        d = data if data is not None else self.snapshot()
        key = (cam.width, cam.height)
        if key not in self._renderers:
            self._renderers[key] = mujoco.Renderer(self._sim.model, cam.height, cam.width)
        return render_frame(self._renderers[key], d, self._cam_id, cam, self.labeller, self.camera_pose(d),
                            FR3_BASE_FRAME)

# franky's default end-effector (Franka hand TCP) in the hand body frame.
_HAND_TO_EE = np.eye(4)
_HAND_TO_EE[2, 3] = FR3_HAND_TCP_OFFSET

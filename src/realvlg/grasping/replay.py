"""Replay a recorded grasp attempt offline, ROS-free: the run folder's bag → capture → ground → lift,
and what changed against the recorded result — the way to debug a failed grasp and to compare
grounding models or strategies on real attempts.

:func:`load_run` reads a run folder (:mod:`realvlg.grasping.record`): the last captured frame of its
bag (colour, aligned depth, colour camera_info, with the ``base←camera`` pose the capture used),
the instruction, the request's reference image if any (passed to the backend again), the recorded
answer (the bag's ``realvlg_interfaces/Grounding``; the bag carries
its message definitions, so no installed interface is needed) and ``result.json``.
:func:`replay` plans again on that frame — with the recorded answer (:class:`RecordedBackend`: only
the lift and the coarse planner run again) or with any grounding backend — and
:class:`ReplayReport` says what changed: the answer (task, validity, box / contact / rectangle in
px), the grasp pose (position in mm, rotation in degrees, base frame) and the width (mm). The
executor's checks do not run: the replayed grasp is the planner's first candidate, and the report
says which candidate matches the recorded grasp (the attempt executes the first the robot accepts).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from realvlg.cameras.camera import EndOfRecordingError
from realvlg.cameras.messages import decode_color
from realvlg.cameras.replay import ReplayCamera, ReplayCameraConfig
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import Grasp6D
from realvlg.geometry.lift import LiftConfig
from realvlg.geometry.transforms import Transform
from realvlg.grasping.planner import STRATEGY_TASK, LiftPlanner, LiftPlannerConfig, PlanningError
from realvlg.grasping.record import CAMERA_POSE_TOPIC, GROUNDING_TOPIC, INSTRUCTION_TOPIC, REFERENCE_IMAGE_TOPIC
from realvlg.grounding.backend import (
    GroundingBackend,
    GroundingResult,
    InvalidGrounding,
    InvalidReason,
    grounding_from_fields,
)
from realvlg.observation import RGBDFrame
from realvlg.robots.limits import GraspLimits


@dataclass
class RecordedAttempt:
    """What a run folder holds of one attempt (its last try)."""

    run_dir: Path
    instruction: str
    frame: RGBDFrame                   # with base_from_camera when the bag has the capture's pose
    grounding: GroundingResult | None  # the recorded answer (None: the attempt got none)
    result: dict                       # result.json ({} when absent)
    reference: np.ndarray | None = None  # the request's photo of the object (RGB), when it had one

    @property
    def grasp(self) -> Grasp6D | None:
        """The recorded grasp (base frame), from result.json."""
        g = self.result.get("grasp") or {}
        if "quaternion" not in g:
            return None
        from scipy.spatial.transform import Rotation

        return Grasp6D(np.asarray(g["position"], float), Rotation.from_quat(g["quaternion"]), float(g["width"]),
                       frame=g["frame"], score=float(g.get("score", 1.0)))


def load_run(run_dir: str | Path) -> RecordedAttempt:
    """The recorded attempt of ``run_dir`` (raises InvalidInputError when it holds no captured frame)."""
    from rosbags.highlevel import AnyReader

    run_dir = Path(run_dir)
    bag = run_dir / "bag"
    result_path = run_dir / "result.json"
    result = json.loads(result_path.read_text()) if result_path.is_file() else {}
    if not (bag / "metadata.yaml").is_file():
        raise InvalidInputError(f"{run_dir} holds no bag (bag/metadata.yaml): the attempt captured no frame"
                                + (f" ({result.get('code')}: {result.get('message')})" if result else ""))
    frame = None
    with ReplayCamera(ReplayCameraConfig(path=bag)) as camera:
        try:
            while True:
                frame = camera.read()
        except EndOfRecordingError:
            pass
    if frame is None:
        raise InvalidInputError(f"the bag of {run_dir} holds no colour/depth pair")
    stamp_ns = round(frame.timestamp * 1e9)
    instruction, pose, grounding, reference = result.get("instruction", ""), None, None, None
    with AnyReader([bag]) as reader:  # the messages logged at the frame's stamp: its try's
        wanted = [c for c in reader.connections
                  if c.topic in (CAMERA_POSE_TOPIC, INSTRUCTION_TOPIC, GROUNDING_TOPIC, REFERENCE_IMAGE_TOPIC)]
        for connection, stamp, raw in reader.messages(connections=wanted):
            if stamp != stamp_ns:
                continue
            msg = reader.deserialize(raw, connection.msgtype)
            if connection.topic == CAMERA_POSE_TOPIC:
                pose = msg
            elif connection.topic == INSTRUCTION_TOPIC:
                instruction = msg.data
            elif connection.topic == REFERENCE_IMAGE_TOPIC:
                reference = decode_color(msg)
            else:
                grounding = grounding_from_fields(msg)
    if pose is not None:
        t, q = pose.transform.translation, pose.transform.rotation
        frame = dataclasses.replace(frame, base_from_camera=Transform.from_translation_quaternion(
            [t.x, t.y, t.z], [q.x, q.y, q.z, q.w], pose.header.frame_id, pose.child_frame_id))
    return RecordedAttempt(run_dir, instruction, frame, grounding, result, reference)


class RecordedBackend(GroundingBackend):
    """Answers with the recorded answer (its task only): a replay that re-runs the lift alone."""

    name = "recorded"

    def __init__(self, answer: GroundingResult):
        self.answer = answer
        self.tasks = (answer.task,)

    def ground(self, task, image, instruction, *, samples=1, depth=None, intrinsics=None,
               reference=None) -> GroundingResult:
        if task != self.answer.task:
            return InvalidGrounding(task, InvalidReason.EMPTY, f"the recording holds a {self.answer.task} answer only")
        return self.answer


@dataclass
class ReplayReport:
    """The recorded and the replayed answer and grasp, and the differences (:meth:`lines`)."""

    recorded: RecordedAttempt
    strategy: str
    grounding: GroundingResult | None = None
    grasp: Grasp6D | None = None
    candidates: list = field(default_factory=list)
    error: str = ""  # why the replay planned no grasp

    def grasp_change(self) -> dict | None:
        """Position [mm], rotation [deg] and width [mm] differences, replayed − recorded, and the
        index of the replayed candidate nearest the recorded grasp (None unless both exist)."""
        old, new = self.recorded.grasp, self.grasp
        if old is None or new is None:
            return None
        nearest = min(range(len(self.candidates)), key=lambda i: np.linalg.norm(
            self.candidates[i].position - old.position))
        return {"position_mm": float(np.linalg.norm(new.position - old.position) * 1000),
                "rotation_deg": float(np.degrees((new.rotation * old.rotation.inv()).magnitude())),
                "width_mm": float((new.width - old.width) * 1000), "nearest_candidate": nearest + 1}

    def as_dict(self) -> dict:
        rec = self.recorded
        return {"run_dir": str(rec.run_dir), "instruction": rec.instruction, "strategy": self.strategy,
                "recorded": {"code": rec.result.get("code"), "strategy": rec.result.get("strategy"),
                             "grasp": rec.result.get("grasp"),
                             "grounding": rec.grounding.as_dict() if rec.grounding is not None else None},
                "replayed": {"error": self.error, "candidates": len(self.candidates),
                             "grasp": self.grasp.as_dict() if self.grasp is not None else None,
                             "grounding": self.grounding.as_dict() if self.grounding is not None else None},
                "change": self.grasp_change()}

    def lines(self) -> list[str]:
        """The report for people: the answer, the pose and the width, recorded → replayed."""
        rec, out = self.recorded, [f"instruction: {self.recorded.instruction!r}  (strategy {self.strategy})"]
        out.append(f"answer:  {_answer(rec.grounding)}  →  {_answer(self.grounding)}")
        if self.grounding is not None and rec.grounding is not None and self.grounding.valid and rec.grounding.valid:
            for part in ("box", "contact", "rect"):
                a, b = getattr(rec.grounding, part), getattr(self.grounding, part)
                if a is not None and b is not None:
                    delta = np.abs(_pixels(b) - _pixels(a)).max()
                    out.append(f"         {part} moved by up to {delta:.1f} px")
        old = rec.grasp
        out.append(f"grasp:   {_grasp(old)}  →  {_grasp(self.grasp) if self.grasp is not None else self.error}")
        change = self.grasp_change()
        if change is not None:
            out.append(f"change:  position {change['position_mm']:.1f} mm, rotation {change['rotation_deg']:.1f}°, "
                       f"width {change['width_mm']:+.1f} mm; the recorded grasp is nearest replayed candidate "
                       f"{change['nearest_candidate']} of {len(self.candidates)}")
        out.append(f"recorded outcome: {rec.result.get('code')} — {rec.result.get('message', '')}")
        return out


def _pixels(part) -> np.ndarray:
    if hasattr(part, "as_array"):
        return np.asarray(part.as_array(), float)
    if hasattr(part, "points"):
        return np.asarray(part.points, float).ravel()
    return np.array([part.x, part.y, part.theta, part.width], float)


def _answer(g: GroundingResult | None) -> str:
    if g is None:
        return "none"
    if not g.valid:
        return f"{g.task} invalid ({g.reason.value}: {g.message})"
    return f"{g.task} from {g.backend or 'backend'}{f' {g.model}' if g.model else ''}"


def _grasp(g: Grasp6D | None) -> str:
    if g is None:
        return "none"
    x, y, z = g.position
    return f"({x:.3f}, {y:.3f}, {z:.3f}) m width {g.width * 1000:.1f} mm"


def node_parameters(path: str | Path) -> dict:
    """The ``ros__parameters`` of a node's YAML file (``config/grasp_node.yaml``), nested as written."""
    import yaml

    doc = yaml.safe_load(Path(path).read_text()) or {}
    for section in doc.values():
        if isinstance(section, dict) and "ros__parameters" in section:
            return section["ros__parameters"]
    raise InvalidInputError(f"{path} holds no ros__parameters")


def planner_config(params: dict, limits: GraspLimits) -> LiftPlannerConfig:
    """The grasp node's planner configuration from its parameters (``node_parameters``): the
    planner's own fields and ``lift.*`` as the node declares them, the lift's largest width and the
    coarse planner's checks from ``limits`` (the executor's)."""
    defaults = LiftPlannerConfig()
    lift_fields = {f.name for f in dataclasses.fields(LiftConfig)} - {"frame", "max_width"}
    lift = dataclasses.replace(defaults.lift, max_width=limits.max_width,
                               **{k: v for k, v in (params.get("lift") or {}).items() if k in lift_fields})
    own = {f.name for f in dataclasses.fields(LiftPlannerConfig)} - {"lift", "coarse", "auto_order"}
    return dataclasses.replace(defaults, lift=lift, coarse=dataclasses.replace(defaults.coarse, limits=limits),
                               **{k: v for k, v in params.items() if k in own})


def replay(recorded: RecordedAttempt, backend: GroundingBackend | None = None, strategy: str = "",
           config: LiftPlannerConfig = LiftPlannerConfig()) -> ReplayReport:
    """Ground (``backend``; None: the recorded answer) and lift again on the recorded frame.
    ``strategy``: "" = the recorded one (``auto`` when none was recorded)."""
    if recorded.frame.base_from_camera is None:
        raise InvalidInputError(f"the bag of {recorded.run_dir} holds no camera pose ({CAMERA_POSE_TOPIC})")
    if backend is None:
        if recorded.grounding is None:
            raise InvalidInputError(f"{recorded.run_dir} holds no recorded answer; replay with a grounding backend")
        backend = RecordedBackend(recorded.grounding)
    strategy = strategy or recorded.result.get("strategy") or "auto"
    if isinstance(backend, RecordedBackend):
        task = backend.answer.task
        if strategy == "auto":
            strategy = next(s for s, t in STRATEGY_TASK.items() if t == task)
        elif STRATEGY_TASK.get(strategy) != task:
            raise InvalidInputError(f"the recording holds a {task} answer; strategy {strategy} needs a "
                                    f"{STRATEGY_TASK.get(strategy)} answer: replay with a grounding backend")
    report = ReplayReport(recorded, strategy)
    planner = LiftPlanner(backend, config)
    try:
        extra = {"reference": recorded.reference} if recorded.reference is not None else {}
        plan = planner.plan(recorded.frame, recorded.instruction, strategy, **extra)
    except PlanningError as exc:
        report.grounding, report.error = exc.grounding, str(exc)
        return report
    report.grounding, report.candidates = plan.grounding, list(plan.candidates)
    report.grasp = plan.candidates[0] if plan.candidates else None
    report.error = "" if plan.candidates else "the planner proposed no grasp"
    return report

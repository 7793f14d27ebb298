"""One grasp attempt, robot-agnostic and ROS-free: what a ``/grasp`` request runs.

Stages: **capture** (an :class:`~realvlg.observation.RGBDFrame` with its camera pose) → **plan**
(a :class:`Planner`: ground + lift for the parallel gripper, DexVLG sampling + ranking for the
Shadow Hand; candidates best first) → **check** (the executor's limits and motion plan for each
candidate in turn, nothing moves; the first accepted one is chosen) → **execute** (unless a dry
run) → **record** (the run folder: overlay, ``result.json``, and whatever the caller's recorders add,
e.g. the ROS adapter's MCAP bag).

The run folder is written as the request goes, so that a process killed at any moment leaves what
it had: the folder and ``result.json`` (``"finished": false``, the instruction and the ``stage``
reached) at once, then after each of the stages in :data:`CHECKPOINTS` the recorders add that
stage's data (the ROS adapter commits it to the bag) and ``result.json`` is rewritten; the last
write holds the code and the sentence (``"finished": true``).

Rules a caller can rely on:

* **busy**: one attempt at a time; a request arriving while one runs gets :attr:`ResultCode.BUSY`
  at once and changes nothing.
* **no motion on refusal**: bad input, an instruction that names nothing, no plannable grasp and
  every candidate refused by the executor's checks all end before any motion.
* **codes**: each failure path has its own :class:`ResultCode` — a refused request
  (``INVALID_REQUEST``: empty instruction, unknown strategy, a reference image that cannot be decoded
  or that the grounding backend cannot take), an unusable answer (``INVALID_ANSWER``), no depth at
  the target (``NO_DEPTH``), no grasp on the object (``NO_GRASP``), every candidate out of the
  robot's reach (``UNREACHABLE``: workspace, IK — from the planner or the executor's checks) or
  refused by the other limits (``REFUSED_BY_LIMITS``), executed but nothing held (``NOTHING_HELD``)
  or a motion that failed (``EXECUTION_FAILED``).
* **reference**: an optional photo of the object (UniVG-R1's multi-image form) goes with the
  instruction to the planner's grounding backend (the instruction may then be empty); it is kept in
  the run folder (``reference.png``) and, by the ROS adapter, in the bag.
* **retry**: an executed grasp that fails without a robot fault ("closed on nothing", "not lifted",
  "blocked") is tried again — home, a fresh capture, a new plan — up to ``max_attempts`` tries in
  all; a refusal or a robot/communication fault is never retried. Every try is recorded in the
  request's one run folder (``overlay.png``, then ``overlay_try<n>.png``; one bag).
* **nothing escapes, nothing is lost**: every :class:`~realvlg.errors.RealVLGError` becomes an
  :class:`Outcome` with a code and a sentence; every request past the busy check leaves a run
  folder with ``result.json`` (also a bad request or a capture failure; the overlay and the bag
  when a frame was captured), written progressively (above).
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Protocol, Sequence

import numpy as np

from realvlg.errors import GraspRefusedError, InvalidInputError, RealVLGError, UnreachableError
from realvlg.geometry.grasps import Grasp
from realvlg.grasping.planner import Plan, PlanningError
from realvlg.grasping.record import RunFolder, write_record
from realvlg.grounding.backend import BackendError
from realvlg.grounding.vlm import check_image
from realvlg.observation import RGBDFrame
from realvlg.robots.executor import GraspResult

STAGES = ("capture", "ground", "lift", "transform", "plan", "check", "execute", "record")
# After each of these the recorders are called and result.json is rewritten ("request": the folder
# was made; "plan": an answer and candidates, or why not; "check": the grasp chosen).
CHECKPOINTS = ("request", "capture", "plan", "check", "execute", "record")


class ResultCode(enum.IntEnum):
    """Why an attempt ended: the ``code`` constants of ``Grasp.srv`` / ``Grasp.action`` (same names
    and numbers; a test keeps them equal)."""

    SUCCESS = 0                # grasped and lifted (or, dry run: planned and checked)
    BUSY = 1                   # another attempt is running
    INVALID_REQUEST = 2        # unknown strategy, empty instruction
    CAPTURE_FAILED = 3         # no synchronised frame or robot pose in time
    NOT_FOUND = 4              # the instruction names nothing in the scene
    NO_GRASP = 5               # grounding or planning gave no usable grasp
    REFUSED_BY_LIMITS = 6      # the executor's checks refused every candidate
    EXECUTION_FAILED = 7       # executed, nothing held after the last try
    ROBOT_ERROR = 8            # the robot or its link failed; the robot stopped
    GROUNDING_UNAVAILABLE = 9  # the grounding service is not running or did not answer
    ERROR = 10                 # anything else (the message says what)
    INVALID_ANSWER = 11        # the grounding answer is unparsable or unusable
    NO_DEPTH = 12              # no valid depth at the target
    UNREACHABLE = 13           # the robot cannot reach any candidate (workspace, IK)
    NOTHING_HELD = 14          # executed, the hand held nothing after the lift (last try)


class Planner(Protocol):
    name: str

    def strategies_for(self, strategy: str) -> list[str]:
        """The strategies a request's ``strategy`` runs (raises InvalidInputError if unknown)."""

    def plan(self, frame: RGBDFrame, instruction: str, strategy: str, reference: np.ndarray | None = None) -> Plan:
        """Candidates for ``instruction`` (and the object's photo ``reference``) on ``frame``;
        :class:`PlanningError` when there are none, InvalidInputError for a refused reference."""


class GraspExecutor(Protocol):
    """What the attempt needs of a robot: :class:`~realvlg.robots.executor.Executor` has it, and so
    does the ROS adapter's client of an executor node."""

    def check(self, grasp: Grasp) -> object:
        """Every check of :meth:`grasp`, no motion; raises GraspRefusedError."""

    def grasp(self, grasp: Grasp) -> GraspResult:
        """Check, grasp, lift; raises GraspRefusedError before any motion."""

    def home(self) -> None:
        """Back to the observation pose, hand open (before a retry's capture)."""


@dataclass
class Outcome:
    """What one request produced; filled stage by stage."""

    code: ResultCode = ResultCode.ERROR
    message: str = ""
    instruction: str = ""
    strategy: str = ""
    grasp: Grasp | None = None
    plan: Plan | None = None
    result: GraspResult | None = None
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # strategies fallen back from, candidates refused, retries
    tries: int = 0
    run_dir: str = ""
    stamp: float | None = None  # capture time of the frame the grasp was planned on [s]
    reference: np.ndarray | None = None  # the request's photo of the object (RGB uint8), if any
    stage: str = ""             # the last of CHECKPOINTS reached

    @property
    def success(self) -> bool:
        return self.code is ResultCode.SUCCESS

    @property
    def grounding(self):
        return self.plan.grounding if self.plan is not None else None


Recorder = Callable[[RunFolder, str, RGBDFrame, Outcome], None]  # (run, checkpoint, frame, outcome)
Feedback = Callable[[str, float, str], None]


@dataclass(frozen=True)
class AttemptConfig:
    run_root: str = "runs"
    max_attempts: int = 3  # tries of an executed grasp that failed without a robot fault
    max_checks: int = 16   # candidates checked by the executor before giving up

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_checks < 1:
            raise InvalidInputError(f"max_attempts and max_checks must be ≥ 1, got {self.max_attempts}, "
                                    f"{self.max_checks}")


def first_executable(candidates: Sequence[Grasp], executor: GraspExecutor) -> tuple[int, list[GraspRefusedError]]:
    """The index of the first of ``candidates`` (best first) that ``executor.check`` accepts (−1 when
    none does) and the refusals of those before it."""
    refusals = []
    for i, candidate in enumerate(candidates):
        try:
            executor.check(candidate)
            return i, refusals
        except GraspRefusedError as exc:
            refusals.append(exc)
    return -1, refusals


def refusal_summary(refusals: Sequence[Exception | str]) -> str:
    """Refusals counted by reason (the text before any parenthesised detail): "3× reason; 1× other"."""
    counts: dict[str, int] = {}
    for reason in refusals:
        key = str(reason).split(" (")[0]
        counts[key] = counts.get(key, 0) + 1
    return "; ".join(f"{n}× {why}" for why, n in counts.items())


class GraspAttempt:
    """Capture → plan → check → execute → record for one request at a time (module docstring).

    ``capture()`` returns the frame to plan on (the ROS adapter: the next synchronised frame;
    the simulated UR10e: home, then render); ``on_plan(frame, plan, grasp)`` is called with the
    chosen grasp before motion (visualisation); ``recorders`` add to the run folder at each
    checkpoint after a frame was captured (``recorder(run, stage, frame, outcome)``)."""

    def __init__(self, capture: Callable[[], RGBDFrame], planner: Planner, executor: GraspExecutor,
                 config: AttemptConfig = AttemptConfig(), on_plan: Callable[[RGBDFrame, Plan, Grasp], None] | None = None,
                 recorders: Sequence[Recorder] = ()):
        self.capture, self.planner, self.executor, self.config = capture, planner, executor, config
        self.on_plan = on_plan
        self.recorders = tuple(recorders)
        self._busy = threading.Lock()

    @property
    def busy(self) -> bool:
        return self._busy.locked()

    def run(self, instruction: str, strategy: str = "", dry_run: bool = False,
            feedback: Feedback = lambda stage, progress, message: None,
            reference: Callable[[], np.ndarray | None] | None = None) -> Outcome:
        """One request. ``reference`` decodes the request's photo of the object (None: none); it is
        called after the busy check, so an image it cannot decode (InvalidInputError) is answered
        ``INVALID_REQUEST`` and recorded like any other request."""
        if not self._busy.acquire(blocking=False):
            return Outcome(ResultCode.BUSY, "busy: another grasp request is running", instruction=instruction)
        out = Outcome(instruction=instruction)
        try:
            run = RunFolder(self.config.run_root, instruction or "empty")  # one per request, every try in it
        except OSError as exc:
            self._busy.release()
            return Outcome(ResultCode.ERROR, f"cannot make the run folder: {exc}", instruction=instruction)
        out.run_dir = str(run.path)
        try:
            self._checkpoint(run, "request", None, out)
            self._run(instruction, strategy, dry_run, feedback, out, run, reference)
        except RealVLGError as exc:
            out.code, out.message = ResultCode.ERROR, str(exc)
        finally:
            try:
                self._guarded(out, "recording", run.close)  # the bag's last files, before the final word
                write_record(run, None, out, finished=True)
            finally:
                self._busy.release()
        return out

    def _run(self, instruction: str, strategy: str, dry_run: bool, feedback: Feedback, out: Outcome,
             run: RunFolder, reference: Callable[[], np.ndarray | None] | None) -> None:
        try:
            self.planner.strategies_for(strategy)
            image = reference() if reference is not None else None
            out.reference = check_image(image) if image is not None else None
        except (InvalidInputError, PlanningError) as exc:
            out.code, out.message = ResultCode.INVALID_REQUEST, str(exc)
            return
        if not instruction.strip() and out.reference is None:
            out.code, out.message = ResultCode.INVALID_REQUEST, "the instruction is empty"
            return
        for attempt in range(1, self.config.max_attempts + 1):
            out.tries = attempt
            if attempt > 1:
                out.notes.append(f"try {attempt - 1}: {out.message}")
                feedback("retry", 0.0, f"try {attempt - 1} failed ({out.message}); trying again")
                try:
                    self._timed(out, "home", self.executor.home)
                except RealVLGError as exc:
                    out.code, out.message = ResultCode.ROBOT_ERROR, f"before try {attempt}: {exc}"
                    return
            if not self._try(instruction, strategy, dry_run, feedback, out, run) or out.success or dry_run:
                return

    def _timed(self, out: Outcome, stage: str, fn):
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            out.timings[stage] = out.timings.get(stage, 0.0) + time.perf_counter() - t0

    def _try(self, instruction: str, strategy: str, dry_run: bool, feedback: Feedback, out: Outcome,
             run: RunFolder) -> bool:
        """One capture → … → record pass; True when a retry may help (executed, nothing held)."""
        out.grasp = out.plan = out.result = None
        feedback("capture", 0.0, "capturing")
        try:
            frame = self._timed(out, "capture", self.capture)
        except RealVLGError as exc:
            out.code, out.message = ResultCode.CAPTURE_FAILED, str(exc)
            return False
        out.stamp = frame.timestamp
        self._timed(out, "record", lambda: self._checkpoint(run, "capture", frame, out))
        try:
            return self._plan_and_execute(frame, instruction, strategy, dry_run, feedback, out,
                                          lambda stage: self._timed(out, "record",
                                                                    lambda: self._checkpoint(run, stage, frame, out)))
        finally:
            feedback("record", 0.95, "recording")
            self._timed(out, "record", lambda: self._record(run, frame, out))

    def _plan_and_execute(self, frame, instruction, strategy, dry_run, feedback, out: Outcome,
                          checkpoint: Callable[[str], None]) -> bool:
        feedback("ground", 0.15, "grounding and planning")
        t0 = time.perf_counter()
        extra = {"reference": out.reference} if out.reference is not None else {}
        try:
            plan = self.planner.plan(frame, instruction, strategy or "auto", **extra)
        except PlanningError as exc:
            out.timings.update(exc.timings)
            out.plan = Plan("", [], exc.grounding, instruction)
            out.code = ResultCode.NOT_FOUND if exc.not_found else ResultCode[exc.failure]
            out.message = str(exc)
            checkpoint("plan")
            return False
        except GraspRefusedError as exc:
            out.timings["plan"] = time.perf_counter() - t0
            out.code = ResultCode.UNREACHABLE if isinstance(exc, UnreachableError) else ResultCode.NO_GRASP
            out.message = str(exc)
            return False
        except InvalidInputError as exc:  # e.g. a reference image the grounding backend cannot take
            out.timings["plan"] = time.perf_counter() - t0
            out.code, out.message = ResultCode.INVALID_REQUEST, str(exc)
            return False
        except BackendError as exc:  # the grounding service is down or silent
            out.timings["plan"] = time.perf_counter() - t0
            out.code, out.message = ResultCode.GROUNDING_UNAVAILABLE, str(exc)
            return False
        for stage, seconds in plan.timings.items():
            out.timings[stage] = out.timings.get(stage, 0.0) + seconds
        if not plan.timings:
            out.timings["plan"] = time.perf_counter() - t0
        out.plan, out.strategy = plan, plan.strategy
        out.notes.extend(plan.notes)
        checkpoint("plan")
        feedback("check", 0.5, f"checking {len(plan.candidates)} candidate(s)")
        try:
            grasp = self._timed(out, "check", lambda: self._first_accepted(plan, out))
        except RealVLGError as exc:  # the executor did not answer the check
            out.code, out.message = ResultCode.ROBOT_ERROR, f"the grasp could not be checked: {exc}"
            return False
        if grasp is None:
            return False
        out.grasp = grasp
        checkpoint("check")
        if self.on_plan is not None:
            self._guarded(out, "visualisation", lambda: self.on_plan(frame, plan, grasp))
        if dry_run:
            what = f"a grasp of {plan.target}" if plan.target else "a grasp"
            out.code, out.message = ResultCode.SUCCESS, f"dry run: planned and checked {what}; the robot did not move"
            return False
        feedback("execute", 0.6, "executing")
        try:
            result = self._timed(out, "execute", lambda: self.executor.grasp(grasp))
        except GraspRefusedError as exc:
            out.code = ResultCode.UNREACHABLE if isinstance(exc, UnreachableError) else ResultCode.REFUSED_BY_LIMITS
            out.message = f"the executor refused the grasp: {exc}"
            return False
        except RealVLGError as exc:  # the link or the robot failed (RobotConnectionError, ...)
            out.code, out.message = ResultCode.ROBOT_ERROR, str(exc)
            return False
        out.result = result
        checkpoint("execute")
        if result.success:
            out.code = ResultCode.SUCCESS
            out.message = ("grasped and lifted; the hand holds the object" if result.holding
                           else "grasped and lifted (the hand cannot tell whether it holds the object)"
                           if result.holding is None else "grasped and lifted")
            return False
        if result.fault:
            out.code, out.message = ResultCode.ROBOT_ERROR, result.reason
            return False
        out.code = ResultCode.NOTHING_HELD if result.holding is False else ResultCode.EXECUTION_FAILED
        out.message = result.reason or f"the grasp failed at {result.stage}"
        return True

    def _first_accepted(self, plan: Plan, out: Outcome) -> Grasp | None:
        candidates = plan.candidates[: self.config.max_checks]
        index, refusals = first_executable(candidates, self.executor)
        if index >= 0:
            if refusals:
                out.notes.append(f"candidate {index + 1} chosen; refused before it: " + refusal_summary(refusals))
            return candidates[index]
        unreachable = bool(refusals) and all(isinstance(r, UnreachableError) for r in refusals)
        out.code = (ResultCode.UNREACHABLE if unreachable else ResultCode.REFUSED_BY_LIMITS) if candidates \
            else ResultCode.NO_GRASP
        out.message = (f"the executor refused all {len(candidates)} candidate(s): {refusal_summary(refusals)}"
                       if candidates else "the planner proposed no grasp")
        return None

    def _checkpoint(self, run: RunFolder, stage: str, frame: RGBDFrame | None, out: Outcome,
                    overlay: bool = False) -> None:
        """``stage`` reached: the recorders add its data (when there is a frame), then ``result.json``
        (and the overlay of ``frame`` when ``overlay``)."""
        out.stage = stage
        if frame is not None:
            for recorder in self.recorders:  # first: result.json then says what a recorder could not write
                self._guarded(out, "recording", lambda: recorder(run, stage, frame, out))
        self._guarded(out, "recording", lambda: write_record(run, frame if overlay else None, out, finished=False))

    def _record(self, run: RunFolder, frame: RGBDFrame, out: Outcome) -> None:
        self._checkpoint(run, "record", frame, out, overlay=True)

    @staticmethod
    def _guarded(out: Outcome, what: str, fn) -> None:
        """Run an output step; its failure is noted in the outcome (once), never the attempt's end."""
        try:
            fn()
        except Exception as exc:  # a failed visualisation or recording must not lose the result
            note = f"{what} failed: {type(exc).__name__}: {exc}"
            if note not in out.notes:
                out.notes.append(note)

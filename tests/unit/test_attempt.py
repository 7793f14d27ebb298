"""The robot-agnostic grasp attempt: stage order, result codes, the busy rule, candidate choice by the
executor's checks, retries, and the run record — with a scripted planner and executor (test
doubles: the real ones are exercised through the ROS graph in tests/sim and tests/ros)."""

import json
import pathlib
import threading

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import Grasp6D
from realvlg.geometry.transforms import Transform
from realvlg.grasping.attempt import AttemptConfig, GraspAttempt, ResultCode
from realvlg.grasping.planner import Plan, PlanningError
from realvlg.grounding.backend import InvalidGrounding, InvalidReason
from realvlg.observation import RGBDFrame
from realvlg.robots.executor import GraspResult, RobotConnectionError

K = CameraIntrinsics(64, 48, 50.0, 50.0, 31.5, 23.5)
CAMERA = Transform.from_translation_rotation([0.5, 0.0, 0.6], Rotation.from_euler("x", np.pi), "fr3_link0",
                                             "camera_color_optical_frame")


def frame() -> RGBDFrame:
    return RGBDFrame(np.zeros((48, 64, 3), np.uint8), np.full((48, 64), 0.6, np.float32), K, 1.0,
                     base_from_camera=CAMERA)


def grasp(x: float) -> Grasp6D:
    return Grasp6D.from_axes((x, 0.0, 0.05), (0, 0, -1), (0, 1, 0), 0.03, frame="fr3_link0")


class ScriptedPlanner:  # TEST DOUBLE: fixed candidates (or a failure) per call
    name = "scripted"

    def __init__(self, *plans):
        self.plans, self.calls = list(plans), 0

    def strategies_for(self, strategy):
        if strategy not in ("", "auto", "scripted"):
            raise InvalidInputError(f"unknown strategy {strategy!r}")
        return ["scripted"]

    def plan(self, frame, instruction, strategy):
        self.calls += 1
        result = self.plans[min(self.calls, len(self.plans)) - 1]
        if isinstance(result, Exception):
            raise result
        return Plan("scripted", list(result), None, instruction)


class ScriptedExecutor:  # TEST DOUBLE: refuses x > 0.7, returns the scripted results in order
    def __init__(self, *results, gate=None):
        self.results, self.checked, self.executed, self.gate = list(results), [], [], gate
        self.homed = 0

    def home(self):
        self.homed += 1

    def check(self, g):
        self.checked.append(g.position[0])
        if g.position[0] > 0.7:
            raise GraspRefusedError("grasp position is outside the workspace box (x)")

    def grasp(self, g):
        if self.gate is not None:
            self.gate.wait(5)
        self.check(g)
        self.executed.append(g.position[0])
        result = self.results.pop(0)
        if isinstance(result, Exception):
            raise result
        return result


def attempt(tmp_path, planner, executor, **config):
    return GraspAttempt(frame, planner, executor, AttemptConfig(str(tmp_path), **config))


def record(out) -> dict:
    return json.loads((pathlib.Path(out.run_dir) / "result.json").read_text())


def test_the_first_candidate_the_executor_accepts_is_executed_and_recorded(tmp_path):
    executor = ScriptedExecutor(GraspResult(True, holding=True))
    out = attempt(tmp_path, ScriptedPlanner([grasp(0.9), grasp(0.8), grasp(0.5)]), executor).run("grasp the mug")
    assert out.code is ResultCode.SUCCESS and out.success and out.tries == 1
    assert executor.checked[:3] == [0.9, 0.8, 0.5] and executor.executed == [0.5]
    assert "candidate 3 chosen" in out.notes[0] and "2× grasp position is outside" in out.notes[0]
    saved = record(out)
    assert saved["code"] == "SUCCESS" and saved["grasp"]["position"][0] == pytest.approx(0.5)
    assert (tmp_path / out.run_dir / "overlay.png").is_file()
    assert [s for s in out.timings if s != "record"][:2] == ["capture", "plan"] and "execute" in out.timings
    assert "record" in out.timings  # every checkpoint's writes, summed


def test_refusals_not_found_and_bad_requests_never_move(tmp_path):
    executor = ScriptedExecutor()
    out = attempt(tmp_path, ScriptedPlanner([grasp(0.9), grasp(0.8)]), executor).run("grasp the mug")
    assert out.code is ResultCode.REFUSED_BY_LIMITS and "refused all 2 candidate(s)" in out.message
    not_found = PlanningError("nothing matches", InvalidGrounding("contact", InvalidReason.NOT_FOUND, "no giraffe"))
    out = attempt(tmp_path, ScriptedPlanner(not_found), executor).run("grasp the giraffe")
    assert out.code is ResultCode.NOT_FOUND and record(out)["code"] == "NOT_FOUND"
    out = attempt(tmp_path, ScriptedPlanner(PlanningError("too little depth")), executor).run("grasp the mug")
    assert out.code is ResultCode.NO_GRASP
    assert attempt(tmp_path, ScriptedPlanner([]), executor).run("x", "pinch").code is ResultCode.INVALID_REQUEST
    empty = attempt(tmp_path, ScriptedPlanner([]), executor).run("  ")
    assert empty.code is ResultCode.INVALID_REQUEST and record(empty)["message"] == "the instruction is empty"
    dry = attempt(tmp_path, ScriptedPlanner([grasp(0.5)]), executor).run("grasp the mug", dry_run=True)
    assert dry.success and "did not move" in dry.message
    assert executor.executed == []


def test_a_failed_grasp_is_retried_from_a_fresh_capture_but_a_robot_fault_is_not(tmp_path):
    planner = ScriptedPlanner([grasp(0.5)], [grasp(0.55)])
    executor = ScriptedExecutor(GraspResult(False, "the gripper closed on nothing", "check"),
                                GraspResult(True, holding=True))
    out = attempt(tmp_path, planner, executor, max_attempts=3).run("grasp the mug")
    assert out.success and out.tries == 2 and planner.calls == 2 and executor.executed == [0.5, 0.55]
    assert out.notes == ["try 1: the gripper closed on nothing"] and executor.homed == 1
    run = pathlib.Path(out.run_dir)
    assert (run / "overlay.png").is_file() and (run / "overlay_try2.png").is_file() and record(out)["tries"] == 2
    faulty = ScriptedExecutor(GraspResult(False, "approach: the robot rejected a command", "approach", fault=True))
    out = attempt(tmp_path, ScriptedPlanner([grasp(0.5)]), faulty, max_attempts=3).run("grasp the mug")
    assert out.code is ResultCode.ROBOT_ERROR and out.tries == 1
    lost = ScriptedExecutor(RobotConnectionError("lost the connection to the robot during approach"))
    out = attempt(tmp_path, ScriptedPlanner([grasp(0.5)]), lost, max_attempts=3).run("grasp the mug")
    assert out.code is ResultCode.ROBOT_ERROR and "lost the connection" in out.message and out.tries == 1
    out = attempt(tmp_path, ScriptedPlanner([grasp(0.5)]), ScriptedExecutor(*[GraspResult(False, "not lifted", "lift")] * 2),
                  max_attempts=2).run("grasp the mug")
    assert out.code is ResultCode.EXECUTION_FAILED and out.tries == 2
    once = attempt(tmp_path, ScriptedPlanner([grasp(0.5)]), ScriptedExecutor(GraspResult(False, "not lifted", "lift")),
                   max_attempts=1).run("grasp the mug")
    assert once.code is ResultCode.EXECUTION_FAILED and once.tries == 1 and once.notes == []


def test_a_second_request_is_busy_and_a_failing_recorder_loses_nothing(tmp_path):
    gate = threading.Event()
    executor = ScriptedExecutor(GraspResult(True, holding=True), gate=gate)

    def broken_recorder(run, stage, frame, out):
        raise OSError("disk full")

    busy_attempt = GraspAttempt(frame, ScriptedPlanner([grasp(0.5)]), executor, AttemptConfig(str(tmp_path)),
                                recorders=[broken_recorder])
    results = {}
    worker = threading.Thread(target=lambda: results.setdefault("first", busy_attempt.run("grasp the mug")))
    worker.start()
    while not executor.checked:
        threading.Event().wait(0.01)
    second = busy_attempt.run("grasp the mug")
    gate.set()
    worker.join(10)
    assert second.code is ResultCode.BUSY and not second.run_dir
    first = results["first"]
    assert first.success and "recording failed: OSError: disk full" in first.notes[-1]
    assert record(first)["notes"][-1].startswith("recording failed")
    assert first.notes.count(first.notes[-1]) == 1  # noted once, though it failed at every stage


def test_the_run_folder_is_written_stage_by_stage(tmp_path):
    """What a process killed at any moment leaves: at each checkpoint the recorders have added that
    stage, and result.json holds the instruction and the stage reached (finished only at the end)."""
    seen = []

    def recorder(run, stage, frame, out):
        saved = json.loads((run.path / "result.json").read_text())  # as of the previous checkpoint
        seen.append((stage, saved["stage"], saved["finished"], saved["code"], saved["instruction"]))

    out = GraspAttempt(frame, ScriptedPlanner([grasp(0.5)]), ScriptedExecutor(GraspResult(True, holding=True)),
                       AttemptConfig(str(tmp_path)), recorders=[recorder]).run("grasp the mug")
    assert out.success
    assert [s[0] for s in seen] == ["capture", "plan", "check", "execute", "record"]
    assert [s[1] for s in seen] == ["request", "capture", "plan", "check", "execute"]
    assert all(not finished and code is None and text == "grasp the mug" for _, _, finished, code, text in seen)
    saved = record(out)
    assert saved["finished"] and saved["stage"] == "record" and saved["code"] == "SUCCESS"
    assert not list(pathlib.Path(out.run_dir).glob(".*.tmp"))


def test_a_capture_failure_is_a_result_not_an_exception(tmp_path):
    from realvlg.grasping.capture import CaptureError

    def no_frames():
        raise CaptureError("no synchronised camera frames within 5.0 s: nothing received on color")

    out = GraspAttempt(no_frames, ScriptedPlanner([grasp(0.5)]), ScriptedExecutor(),
                       AttemptConfig(str(tmp_path))).run("grasp the mug")
    assert out.code is ResultCode.CAPTURE_FAILED and "nothing received" in out.message
    saved = record(out)  # on record all the same: the request, the code, the sentence
    assert saved["instruction"] == "grasp the mug" and saved["code"] == "CAPTURE_FAILED"
    assert saved["finished"] and saved["stage"] == "request"
    assert not (pathlib.Path(out.run_dir) / "overlay.png").exists()


def test_each_failure_path_has_its_own_code(tmp_path):
    """Planner failures by kind, executor refusals by reach, executed failures by what was held."""
    from realvlg.errors import UnreachableError

    runs = iter(range(100))  # a folder of its own per request (run folders are named by the millisecond)

    def attempt(tmp, *args, **kw):
        return GraspAttempt(frame, *args, AttemptConfig(str(tmp / str(next(runs))), **kw))

    executor = ScriptedExecutor()
    for failure in ("INVALID_ANSWER", "NO_DEPTH", "NO_GRASP", "UNREACHABLE"):
        out = attempt(tmp_path, ScriptedPlanner(PlanningError("why", failure=failure)), executor).run("grasp the mug")
        assert out.code is ResultCode[failure] and record(out)["code"] == failure
    out = attempt(tmp_path, ScriptedPlanner(UnreachableError("no IK")), executor).run("grasp the mug")
    assert out.code is ResultCode.UNREACHABLE

    class OutOfReach(ScriptedExecutor):  # TEST DOUBLE: every check fails on reach
        def check(self, g):
            raise UnreachableError("grasp position is outside the workspace box")

    out = attempt(tmp_path, ScriptedPlanner([grasp(0.5), grasp(0.6)]), OutOfReach()).run("grasp the mug")
    assert out.code is ResultCode.UNREACHABLE and "refused all 2" in out.message
    empty_hand = ScriptedExecutor(GraspResult(False, "the gripper closed on nothing", "check", holding=False))
    out = attempt(tmp_path, ScriptedPlanner([grasp(0.5)]), empty_hand, max_attempts=1).run("grasp the mug")
    assert out.code is ResultCode.NOTHING_HELD
    blocked = ScriptedExecutor(GraspResult(False, "approach ended 3 cm from its target", "approach"))
    out = attempt(tmp_path, ScriptedPlanner([grasp(0.5)]), blocked, max_attempts=1).run("grasp the mug")
    assert out.code is ResultCode.EXECUTION_FAILED
    assert executor.executed == []


def test_a_reference_image_reaches_the_planner_and_the_record_and_a_bad_one_is_refused(tmp_path):
    seen, runs = {}, iter(range(100))

    def attempt(tmp, *args, **kw):
        return GraspAttempt(frame, *args, AttemptConfig(str(tmp / str(next(runs))), **kw))

    class ReferencePlanner(ScriptedPlanner):  # TEST DOUBLE: keeps the reference it was given
        def plan(self, frame, instruction, strategy, reference=None):
            seen["reference"] = reference
            return super().plan(frame, instruction, strategy)

    photo = np.random.default_rng(3).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    out = attempt(tmp_path, ReferencePlanner([grasp(0.5)]), ScriptedExecutor()).run(
        "", dry_run=True, reference=lambda: photo)
    assert out.success and seen["reference"] is photo
    from realvlg.io import read_image
    np.testing.assert_array_equal(read_image(pathlib.Path(out.run_dir) / "reference.png"), photo)
    assert record(out)["reference"] == "reference.png"

    def undecodable():
        raise InvalidInputError("the reference image cannot be used: colour encoding 'mono8' is not supported")

    for bad in (undecodable, lambda: np.zeros((4, 4), np.uint8)):
        executor = ScriptedExecutor()
        out = attempt(tmp_path, ReferencePlanner([grasp(0.5)]), executor).run("grasp the mug", reference=bad)
        assert out.code is ResultCode.INVALID_REQUEST and executor.checked == [] and record(out)["code"] == "INVALID_REQUEST"
    refused = InvalidInputError("the DexVLG grounding backend takes one image")
    out = attempt(tmp_path, ReferencePlanner(refused), ScriptedExecutor()).run("grasp the mug", reference=lambda: photo)
    assert out.code is ResultCode.INVALID_REQUEST and "takes one image" in out.message

"""``realvlg replay`` on an attempt recorded from the repository's real sensor samples
(../shared/realdata/anygrasp: 1280x720 RGB + mm depth): the grasp attempt core with the ROS
adapter's recorder (AttemptPublisher, a real rclpy node) writes the run folder, and the replay
reproduces the recorded answer and grasp from the bag alone — and says what changed when asked
with another strategy. (A closed-loop simulated grasp's folder: tests/sim/test_user_commands.py.)"""

import json

import cv2
import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.cli import main
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import ContactPair
from realvlg.geometry.transforms import Transform
from realvlg.graph import repo_path
from realvlg.grasping.attempt import AttemptConfig, GraspAttempt
from realvlg.grasping.planner import LiftPlanner
from realvlg.grasping.replay import load_run, node_parameters, planner_config
from realvlg.grounding.backend import Grounding, GroundingBackend
from realvlg.observation import RGBDFrame
from realvlg.robots.limits import load_limits
from realvlg.ros.attempt_io import AttemptPublisher

ANYGRASP = CameraIntrinsics(1280, 720, 927.17, 927.37, 651.32, 349.62)  # the source demo's
BALL = BoundingBox(780.0, 290.0, 896.0, 410.0)  # the orange ball in color_000.png [px]
ACROSS = ContactPair(792.0, 350.0, 884.0, 350.0)  # a contact pair across it
OVERHEAD = Transform.from_translation_rotation([0.45, 0.0, 0.62], Rotation.from_euler("x", np.pi),
                                               "fr3_link0", "camera_color_optical_frame")


class BallBackend(GroundingBackend):  # TEST DOUBLE: a contact pair across the ball, or a box around it
    name, tasks = "fixed", ("contact", "bbox")

    def ground(self, task, image, instruction, *, samples=1, depth=None, intrinsics=None, reference=None):
        if task == "contact":
            return Grounding(task, contact=ACROSS, backend=self.name, model="ball")
        return Grounding(task, box=BALL, backend=self.name, model="ball")


class AcceptingExecutor:  # TEST DOUBLE: every check passes; a dry run never executes
    def check(self, grasp):
        return None

    def home(self):
        pass


@pytest.fixture
def real_frame(realdata):
    folder = realdata / "anygrasp"
    color = cv2.imread(str(folder / "color_000.png"))[..., ::-1].copy()
    depth = np.load(folder / "depth_000.npy").astype(np.float32) * np.float32(0.001)  # as decode_depth does
    return RGBDFrame(color, depth, ANYGRASP, 1700000000.25, base_from_camera=OVERHEAD)


@pytest.mark.realdata
def test_replay_of_a_real_frame_reproduces_the_recorded_grasp(ros, real_frame, tmp_path, capsys):
    node, _ = ros
    params = node_parameters(repo_path("config/grasp_node.yaml"))  # as the grasp node and the replay run
    config = planner_config(params, load_limits(repo_path(params["limits"])))
    attempt = GraspAttempt(lambda: real_frame, LiftPlanner(BallBackend(), config), AcceptingExecutor(),
                           AttemptConfig(str(tmp_path)), recorders=[AttemptPublisher(node).record])
    out = attempt.run("grasp the orange ball", "contact", dry_run=True)
    assert out.success and out.strategy == "contact", out.message

    recorded = load_run(out.run_dir)  # from the bag alone: frame, camera pose, instruction, answer
    assert recorded.instruction == "grasp the orange ball"
    np.testing.assert_array_equal(recorded.frame.color, real_frame.color)
    np.testing.assert_allclose(recorded.frame.depth, real_frame.depth, atol=1e-6)
    np.testing.assert_allclose(recorded.frame.base_from_camera.matrix, OVERHEAD.matrix, atol=1e-9)
    assert recorded.grounding.contact == ACROSS and recorded.grounding.model == "ball"

    assert main(["replay", out.run_dir, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["strategy"] == "contact" and report["replayed"]["grounding"]["contact"] == [792, 350, 884, 350]
    change = report["change"]  # the lift is deterministic: the same grasp
    assert change["position_mm"] < 1e-6 and change["rotation_deg"] < 1e-6 and abs(change["width_mm"]) < 1e-6

    assert main(["replay", out.run_dir]) == 0
    text = capsys.readouterr().out
    assert "answer:  contact from fixed ball  →  contact from fixed ball" in text
    assert "contact moved by up to 0.0 px" in text and "change:  position 0.0 mm, rotation 0.0°" in text

    assert main(["replay", out.run_dir, "--strategy", "bbox"]) == 2  # only a contact answer was recorded
    assert "bbox" in capsys.readouterr().err


def test_replay_of_an_attempt_without_a_frame_says_why(tmp_path, capsys):
    from realvlg.grasping.capture import CaptureError

    def no_frames():
        raise CaptureError("no synchronised camera frames within 5.0 s: nothing received on color")

    out = GraspAttempt(no_frames, LiftPlanner(BallBackend()), AcceptingExecutor(),
                       AttemptConfig(str(tmp_path))).run("grasp the orange ball")
    assert main(["replay", out.run_dir]) == 2
    err = capsys.readouterr().err
    assert "holds no bag" in err and "CAPTURE_FAILED: no synchronised camera frames" in err

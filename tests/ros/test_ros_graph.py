"""Real ROS 2 between processes: camera topics, the Grasp service, the Ground service with an Image.

The peers (tests/ros/ros_peers/) run in their own interpreter (the venv's python, started through
realvlg.ros.process, which clears the ros-wheels bootstrap mark so each child bootstraps itself);
this test process is the other end, with its own rclpy Context. Waits are generous (a loaded
2-core machine discovers slowly) and every test is bounded by a pytest timeout; peers are ended
(SIGTERM, then SIGKILL) whatever happens.
"""

import hashlib
import json
import math
import os
import pathlib
import time

import numpy as np
import pytest
from rclpy.qos import QoSProfile, ReliabilityPolicy
from scipy.spatial.transform import Rotation
from sensor_msgs.msg import CameraInfo, Image

from realvlg.geometry.camera_mount import link_from_optical
from realvlg.geometry.grasps import ContactPair
from realvlg.geometry.transforms import Transform, load_transform
from realvlg.grounding.backend import InvalidGrounding, InvalidReason
from realvlg.ros.conversions import (
    camera_info_from_msg,
    camera_info_to_msg,
    grasp_from_pose_stamped,
    grounding_from_msg,
    image_from_msg,
    image_to_msg,
)
from realvlg.ros.process import RosChildProcess
from realvlg_interfaces.srv import Grasp, Ground

from ros_peers.common import CAMERA_FRAME, D435I, camera_frames

pytestmark = [pytest.mark.ros, pytest.mark.timeout(240)]

PEERS = pathlib.Path(__file__).resolve().parent / "ros_peers"
CALIBRATION = pathlib.Path(__file__).resolve().parents[2] / "calibration" / "fr3_d435i_eye_in_hand.yaml"
START_TIMEOUT = 90.0      # peer interpreter start + imports + node up, on a loaded machine
DISCOVERY_TIMEOUT = 60.0  # wait_for_service / first message
CALL_TIMEOUT = 30.0


@pytest.fixture
def start_peer():
    """start_peer(script, *args) → a running peer that printed READY; all are stopped at teardown."""
    peers = []

    def start(script: str, *args) -> RosChildProcess:
        # a namespace of its own: other suites on this machine may share the ROS domain
        namespace = f"/realvlg_test_{os.getpid()}_{len(peers)}"
        peer = RosChildProcess([PEERS / script, *args, "--ros-args", "-r", f"__ns:={namespace}"], cwd=PEERS)
        peer.namespace = namespace
        peers.append(peer)
        peer.start().wait_for_line("READY", START_TIMEOUT)
        return peer

    yield start
    for peer in peers:
        peer.stop()


def call(node, executor, client, request, peer):
    assert client.wait_for_service(timeout_sec=DISCOVERY_TIMEOUT), \
        f"service {client.srv_name} not discovered within {DISCOVERY_TIMEOUT} s; peer output:\n{peer.tail()}"
    future = client.call_async(request)
    executor.spin_until_future_complete(future, timeout_sec=CALL_TIMEOUT)
    assert future.done(), f"no answer from {client.srv_name} within {CALL_TIMEOUT} s; peer:\n{peer.tail()}"
    return future.result()


# -- (a) camera topics --------------------------------------------------------------------------------
def test_image_and_camera_info_across_processes(ros, start_peer):
    node, executor = ros
    seed, frames = 20261123, 3
    received: dict[str, dict[int, object]] = {"color": {}, "depth": {}, "info": {}}
    qos = QoSProfile(depth=3, reliability=ReliabilityPolicy.RELIABLE)
    publisher = start_peer("image_publisher.py", seed, frames)
    for key, kind, topic in [("color", Image, "camera/camera/color/image_raw"),
                             ("depth", Image, "camera/camera/aligned_depth_to_color/image_raw"),
                             ("info", CameraInfo, "camera/camera/color/camera_info")]:
        node.create_subscription(kind, f"{publisher.namespace}/{topic}",
                                 lambda msg, k=key: received[k].setdefault(msg.header.stamp.sec, msg), qos)
    deadline = time.monotonic() + DISCOVERY_TIMEOUT
    while time.monotonic() < deadline and min(len(r) for r in received.values()) < frames:
        executor.spin_once(timeout_sec=0.1)
    assert {k: sorted(r) for k, r in received.items()} == {k: list(range(frames)) for k in received}, \
        f"publisher output:\n{publisher.tail()}"

    for i in range(frames):
        rgb, depth = camera_frames(seed, i)
        color_msg, depth_msg = received["color"][i], received["depth"][i]
        assert (color_msg.encoding, color_msg.width, color_msg.height) == ("rgb8", 1280, 720)
        assert color_msg.header.frame_id == depth_msg.header.frame_id == CAMERA_FRAME
        np.testing.assert_array_equal(image_from_msg(color_msg), rgb)       # pixel-exact
        np.testing.assert_array_equal(image_from_msg(depth_msg), depth)
        assert camera_info_from_msg(received["info"][i]) == D435I


# -- (b) the Grasp service ------------------------------------------------------------------------------
ROBOT_POSE = ([0.42, -0.05, 0.48], Rotation.from_euler("xyz", [math.pi, 0.0, 0.3]).as_quat())   # looking down


def expected_grasp_in_base(pair: ContactPair, depth: float):
    """Independent of the server: pinhole back-projection and the chain base←tcp·tcp←camera."""
    rays = np.column_stack([(pair.points[:, 0] - D435I.cx) / D435I.fx, (pair.points[:, 1] - D435I.cy) / D435I.fy,
                            [1.0, 1.0]])
    p1, p2 = rays * depth
    base_from_cam = (Transform.from_translation_quaternion(*ROBOT_POSE, "fr3_link0", "fr3_hand_tcp")
                     @ load_transform(CALIBRATION) @ link_from_optical())
    closing = (p2 - p1) / np.linalg.norm(p2 - p1)
    return (base_from_cam.apply((p1 + p2) / 2), base_from_cam.rotation.apply([0, 0, 1]),
            base_from_cam.rotation.apply(closing), float(np.linalg.norm(p2 - p1)))


def test_grasp_service_across_processes(ros, start_peer):
    node, executor = ros
    pose_arg = ",".join(f"{v:.17g}" for v in [*ROBOT_POSE[0], *ROBOT_POSE[1]])
    server = start_peer("grasp_server.py", CALIBRATION, pose_arg, 0.08)
    client = node.create_client(Grasp, f"{server.namespace}/grasp")

    pair, depth = ContactPair(610.0, 300.5, 655.0, 330.0), 0.47
    response = call(node, executor, client,
                    Grasp.Request(instruction="contact 610,300.5,655,330 at 0.47", strategy="contact"), server)
    assert response.success, response.message
    assert response.message == "" and response.strategy_used == "contact"
    grasp = grasp_from_pose_stamped(response.pose, response.width)
    position, approach, closing, width = expected_grasp_in_base(pair, depth)
    assert grasp.frame == "fr3_link0"
    np.testing.assert_allclose(grasp.position, position, atol=1e-9)
    np.testing.assert_allclose(grasp.approach, approach, atol=1e-9)
    np.testing.assert_allclose(grasp.closing, closing, atol=1e-9)
    assert response.width == pytest.approx(width, abs=1e-12)
    assert grasp.approach[2] < -0.99                            # the camera looks down: approach points down
    grounding = grounding_from_msg(response.grounding)
    assert grounding.task == "contact" and grounding.contact == pair
    assert [t.stage for t in response.timings] == ["lift", "transform"]
    assert all(t.seconds >= 0 for t in response.timings)

    # refusals travel back as success=false with the reason
    wide = call(node, executor, client, Grasp.Request(instruction="contact 100,360,1200,360 at 0.5"), server)
    assert not wide.success and "exceeds the gripper's 0.080 m" in wide.message
    nonsense = call(node, executor, client, Grasp.Request(instruction="grasp the banana"), server)
    assert not nonsense.success and "cannot read instruction 'grasp the banana'" in nonsense.message
    outside = call(node, executor, client, Grasp.Request(instruction="contact 10,10,1300,10 at 0.5"), server)
    assert not outside.success and "outside the 1280x720 image" in outside.message
    strategy = call(node, executor, client, Grasp.Request(instruction="contact 1,1,2,2 at 1", strategy="seg"), server)
    assert not strategy.success and "strategy 'seg'" in strategy.message


# -- (c) the Ground service with an Image -----------------------------------------------------------------
def scene(encoding: str):
    """A 1280x720 random-noise picture with a pure red 200x120 block (noise is kept off pure red)."""
    rng = np.random.default_rng(5)
    rgb = rng.integers(0, 250, (720, 1280, 3), dtype=np.uint8)
    rgb[300:420, 500:700] = (255, 0, 0)
    depth = np.full((720, 1280), 900, np.uint16)
    depth[300:420, 500:700] = 612
    depth[300:310, 500:700] = 0   # holes on the object are skipped
    image = rgb[..., ::-1] if encoding == "bgr8" else rgb
    return rgb, depth, image_to_msg(image, encoding, CAMERA_FRAME, stamp=42.5)


@pytest.mark.parametrize("encoding", ["rgb8", "bgr8"])
def test_ground_service_with_image_across_processes(ros, start_peer, encoding):
    node, executor = ros
    server = start_peer("ground_server.py")
    client = node.create_client(Ground, f"{server.namespace}/ground")
    rgb, depth, image_msg = scene(encoding)
    request = Ground.Request(image=image_msg, depth=image_to_msg(depth, "16UC1", CAMERA_FRAME),
                             camera_info=camera_info_to_msg(D435I, CAMERA_FRAME),
                             instruction="pick up the red block", task="seg", samples=1)
    response = call(node, executor, client, request, server)
    assert response.success, response.message
    assert response.grounding.header.frame_id == CAMERA_FRAME and response.grounding.header.stamp.sec == 42
    grounding = grounding_from_msg(response.grounding)
    assert (grounding.box.x_min, grounding.box.y_min, grounding.box.x_max, grounding.box.y_max) == (500, 300, 699, 419)
    expected_mask = np.zeros((720, 1280), bool)
    expected_mask[300:420, 500:700] = True
    np.testing.assert_array_equal(grounding.mask, expected_mask)
    digest = json.loads(grounding.raw_answer)
    assert digest["sha256"] == hashlib.sha256(rgb.tobytes()).hexdigest()   # the server saw our exact pixels
    assert digest["depth_median_m"] == pytest.approx(0.612)
    assert grounding.backend == "colour_oracle"

    for task, check in [("grasp", lambda g: g.rect.width == 199 and g.rect.theta == 0.0),
                        ("contact", lambda g: (g.contact.x1, g.contact.x2) == (500, 699))]:
        request.task = task
        answer = call(node, executor, client, request, server)
        assert answer.success and check(grounding_from_msg(answer.grounding)), answer


def test_ground_service_errors_across_processes(ros, start_peer):
    node, executor = ros
    server = start_peer("ground_server.py")
    client = node.create_client(Ground, f"{server.namespace}/ground")
    _, _, image_msg = scene("rgb8")

    absent = call(node, executor, client, Ground.Request(image=image_msg, instruction="the green cup", task="bbox"),
                  server)
    assert not absent.success and absent.message == "nothing green in the image"
    invalid = grounding_from_msg(absent.grounding)
    assert isinstance(invalid, InvalidGrounding) and invalid.reason is InvalidReason.NOT_FOUND

    mono = image_to_msg(np.zeros((720, 1280), np.uint8))
    wrong = call(node, executor, client, Ground.Request(image=mono, instruction="the red block", task="bbox"), server)
    assert not wrong.success and "needs an rgb8 or bgr8 image, got 'mono8'" in wrong.message

    broken = image_to_msg(np.zeros((720, 1280, 3), np.uint8))
    broken.step = 1000   # shorter than a row: the server must refuse, not crash
    bad = call(node, executor, client, Ground.Request(image=broken, instruction="the red block", task="bbox"), server)
    assert not bad.success and "step 1000 is shorter than a row" in bad.message

    no_info = call(node, executor, client,
                   Ground.Request(image=image_msg, depth=image_to_msg(np.ones((720, 1280), np.uint16)),
                                  instruction="the red block", task="bbox"), server)
    assert not no_info.success and "needs its camera_info" in no_info.message
    assert server.running

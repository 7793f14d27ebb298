"""grounding_node in its own process, called over real ROS 2 with a Ground request.

Its backend talks HTTP to a minimal OpenAI-compatible peer written here (it answers one canned
chat completion: the model side is tested against transformers serve in
tests/unit/test_grounding_backends.py); this test covers the node: decoding the request,
the answer in the request's frame, invalid answers and backend failures as ``success`` false.
"""

from __future__ import annotations

import http.server
import json
import socket
import sys
import threading

import numpy as np
import pytest

from realvlg.geometry.boxes import BoundingBox
from realvlg.grounding.backend import InvalidReason
from realvlg.ros.conversions import grounding_from_msg, image_to_msg
from realvlg.ros.process import RosChildProcess
from realvlg_interfaces.srv import Ground
from tests.ros.services import START_TIMEOUT, call

pytestmark = [pytest.mark.ros, pytest.mark.timeout(240)]
ANSWER = "<think>the cup is left</think>\n<answer>(10,20),(50,60)</answer>"


class _Completions(http.server.BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(request)
        body = json.dumps({"choices": [{"index": 0, "message": {"role": "assistant",
                                                                 "content": ANSWER}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def completions():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Completions)
    server.requests = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1", server
    server.shutdown()
    server.server_close()


def start_node(base_url: str, service: str) -> RosChildProcess:
    node = RosChildProcess(["-m", "realvlg.ros.nodes.grounding_node", "--ros-args",
                            "-p", "backend:=openai", "-p", f"base_url:={base_url}", "-p", "model:=tiny",
                            "-p", "convention:=absolute_original", "-p", "timeout:=3.0",
                            "-p", "image_format:=png", "-p", f"service:={service}"], python=sys.executable)
    node.start().wait_for_line("READY", START_TIMEOUT)
    return node


def test_ground_service_answers_in_the_request_frame(ros, completions):
    node, executor = ros
    url, server = completions
    service = f"/test_ground_{id(server)}"
    grounding_node = start_node(url, service)
    try:
        client = node.create_client(Ground, service)
        image = np.random.default_rng(1).integers(0, 256, (72, 96, 3), dtype=np.uint8)
        msg = image_to_msg(image[..., ::-1].copy(), "bgr8", "camera_color_optical_frame", 12.5)
        response = call(node, executor, client,
                        Ground.Request(image=msg, instruction="the cup", task="bbox"), grounding_node)
        assert response.success, response.message
        assert response.grounding.header.frame_id == "camera_color_optical_frame"
        assert response.grounding.header.stamp.sec == 12
        result = grounding_from_msg(response.grounding)
        assert result.box == BoundingBox(10, 20, 50, 60) and result.raw_answer == ANSWER
        assert (result.backend, result.model) == ("openai", "tiny")
        # the node sent the pixels in RGB, whatever the request's encoding
        sent = server.requests[0]["messages"][0]["content"]
        assert "the cup" in sent[1]["text"] and sent[0]["image_url"]["url"].startswith("data:image/png")

        # an answer outside a smaller image: success false, the reason, the raw answer
        small = image_to_msg(np.zeros((30, 30, 3), np.uint8), "rgb8", "camera_color_optical_frame", 1.0)
        response = call(node, executor, client, Ground.Request(image=small, instruction="x", task="bbox"),
                        grounding_node)
        assert not response.success and response.message.startswith("out_of_image")
        assert grounding_from_msg(response.grounding).reason == InvalidReason.OUT_OF_IMAGE

        # bad input: one sentence, empty grounding
        mono = image_to_msg(np.zeros((30, 30), np.uint8), "mono8")
        response = call(node, executor, client, Ground.Request(image=mono, instruction="x", task="bbox"),
                        grounding_node)
        assert not response.success and "rgb8" in response.message and response.grounding.task == ""
        assert response.code == Ground.Response.INVALID_REQUEST
    finally:
        grounding_node.stop()


def test_a_reference_image_reaches_the_server_first_and_bad_ones_are_refused(ros, completions):
    """UniVG-R1's multi-image form: the reference photo is the first image of the chat message, the
    scene the second; an empty instruction becomes UniVG-R1's "the object shown in the first image"."""
    import base64
    import io

    from PIL import Image

    node, executor = ros
    url, server = completions
    service = f"/test_ground_reference_{id(server)}"
    grounding_node = start_node(url, service)
    try:
        client = node.create_client(Ground, service)
        rng = np.random.default_rng(4)
        scene, photo = (rng.integers(0, 256, shape, dtype=np.uint8) for shape in ((72, 96, 3), (40, 30, 3)))
        request = Ground.Request(image=image_to_msg(scene, "rgb8", "camera_color_optical_frame", 2.0),
                                 reference=image_to_msg(photo[..., ::-1].copy(), "bgr8"), instruction="", task="bbox")
        response = call(node, executor, client, request, grounding_node)
        assert response.success and response.code == Ground.Response.ANSWERED, response.message
        content = server.requests[-1]["messages"][0]["content"]
        images = [part["image_url"]["url"] for part in content if part["type"] == "image_url"]
        decoded = [np.asarray(Image.open(io.BytesIO(base64.b64decode(u.split(",", 1)[1]))).convert("RGB"))
                   for u in images]
        assert len(decoded) == 2
        np.testing.assert_array_equal(decoded[0], photo)   # the reference first, pixel-exact
        np.testing.assert_array_equal(decoded[1], scene)
        assert "first image" in next(part["text"] for part in content if part["type"] == "text")

        sent = len(server.requests)
        mono = image_to_msg(np.zeros((8, 8), np.uint8), "mono8")
        empty = image_to_msg(np.zeros((8, 8, 3), np.uint8), "rgb8")
        empty.data = []
        short = image_to_msg(np.zeros((8, 8, 3), np.uint8), "rgb8")
        short.height = 20   # the data is smaller than the size it claims
        for bad, why in ((mono, "mono8"), (empty, "empty"), (short, "step")):
            request.reference = bad
            response = call(node, executor, client, request, grounding_node)
            assert not response.success and response.code == Ground.Response.INVALID_REQUEST, response.message
            assert "reference image" in response.message and why in response.message
        assert len(server.requests) == sent   # nothing was asked of the model
    finally:
        grounding_node.stop()


def test_a_dead_model_server_is_a_failed_call_not_a_hang(ros):
    node, executor = ros
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/v1"
    service = "/test_ground_dead"
    grounding_node = start_node(dead, service)
    try:
        client = node.create_client(Ground, service)
        image = image_to_msg(np.zeros((30, 30, 3), np.uint8), "rgb8")
        response = call(node, executor, client, Ground.Request(image=image, instruction="x", task="contact"),
                        grounding_node)
        assert not response.success and "cannot reach" in response.message
        assert response.grounding.task == ""
    finally:
        grounding_node.stop()

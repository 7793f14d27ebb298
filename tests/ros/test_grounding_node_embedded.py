"""grounding_node serving the embedded RGB-D model, in its own process, over real ROS 2: depth and
camera_info travel in the Ground request; no depth, and an instruction the model does not find,
come back as ``success`` false with the reason. The weights are a tiny random network written
here (the trained model's quality is measured by the training evaluation and ``sim-eval``)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from realvlg.embedded.backend import save_pretrained
from realvlg.embedded.decode import DecodeConfig
from realvlg.embedded.model import EmbeddedNet, EmbeddedNetConfig
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.grounding.backend import InvalidReason
from realvlg.ros.conversions import camera_info_to_msg, grounding_from_msg, image_to_msg
from realvlg.ros.process import RosChildProcess
from realvlg_interfaces.srv import Ground
from tests.ros.services import START_TIMEOUT, call

pytestmark = [pytest.mark.ros, pytest.mark.timeout(240)]


def tiny_model(folder, threshold: float):
    """Random tiny weights whose decoding finds the whole image (threshold 0) or nothing (> 1)."""
    import torch

    torch.manual_seed(0)
    net = EmbeddedNet(EmbeddedNetConfig.tiny()).eval()
    return save_pretrained(net, folder, "tiny-embedded", DecodeConfig(confidence_threshold=threshold,
                                                                       mask_threshold=min(threshold, 0.5)))


def start_node(checkpoint, service: str) -> RosChildProcess:
    node = RosChildProcess(["-m", "realvlg.ros.nodes.grounding_node", "--ros-args", "-p", "backend:=embedded",
                            "-p", f"checkpoint:={checkpoint}", "-p", "device:=cpu", "-p", f"service:={service}"],
                           python=sys.executable)
    node.start().wait_for_line("READY", START_TIMEOUT)
    return node


def request(task: str, with_depth: bool = True) -> Ground.Request:
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (180, 320, 3), dtype=np.uint8)
    intrinsics = CameraIntrinsics(320, 180, 227.5, 227.5, 159.5, 89.5)
    req = Ground.Request(image=image_to_msg(image, "rgb8", "camera_color_optical_frame", 3.0),
                         instruction="grasp the banana", task=task)
    if with_depth:
        depth = (500 + rng.integers(-20, 20, (180, 320))).astype(np.uint16)  # 16UC1 millimetres
        req.depth = image_to_msg(depth, "16UC1", "camera_color_optical_frame", 3.0)
        req.camera_info = camera_info_to_msg(intrinsics, "camera_color_optical_frame", 3.0)
    return req


def test_embedded_grounding_over_ros(ros, tmp_path):
    node, executor = ros
    always = tiny_model(tmp_path / "always", threshold=0.0)   # finds something in any image
    never = tiny_model(tmp_path / "never", threshold=1.01)    # finds nothing
    service = "/test_ground_embedded"
    grounding_node = start_node(always, service)
    try:
        client = node.create_client(Ground, service)
        for task in ("contact", "grasp", "seg", "bbox"):
            response = call(node, executor, client, request(task), grounding_node)
            assert response.success, response.message
            result = grounding_from_msg(response.grounding)
            assert result.backend == "embedded" and result.box is not None
            assert -0.5 <= result.box.x_min < result.box.x_max <= 319.5 and -0.5 <= result.box.y_min < result.box.y_max <= 179.5
        assert result.mask is None and grounding_from_msg(
            call(node, executor, client, request("seg"), grounding_node).grounding).mask.shape == (180, 320)
        response = call(node, executor, client, request("contact", with_depth=False), grounding_node)
        assert not response.success and response.message.startswith(InvalidReason.NO_DEPTH.value)
        with_reference = request("contact")
        with_reference.reference = image_to_msg(np.zeros((20, 20, 3), np.uint8), "rgb8")
        response = call(node, executor, client, with_reference, grounding_node)
        assert not response.success and response.code == Ground.Response.INVALID_REQUEST
        assert "takes one image" in response.message and response.grounding.task == ""
    finally:
        grounding_node.stop()
    grounding_node = start_node(never, service + "_never")
    try:
        client = node.create_client(Ground, service + "_never")
        response = call(node, executor, client, request("contact"), grounding_node)
        assert not response.success and response.message.startswith(InvalidReason.NOT_FOUND.value)
        assert grounding_from_msg(response.grounding).reason is InvalidReason.NOT_FOUND
    finally:
        grounding_node.stop()

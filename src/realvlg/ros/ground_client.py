"""A grounding backend that asks a ``realvlg_interfaces/Ground`` service: the VLM server's
(grounding_node) or the simulation oracle's."""

from __future__ import annotations

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.grounding.backend import TASKS, BackendError, GroundingBackend, GroundingResult
from realvlg.ros.conversions import camera_info_to_msg, grounding_from_msg, image_to_msg
from realvlg.ros.liveness import ServiceWatch, call_with_timeout
from realvlg_interfaces.srv import Ground


class ServiceGroundingBackend(GroundingBackend):
    """Ground through a ``Ground`` service of ``node``'s graph (the node must spin a
    multi-threaded executor: the answer arrives on another thread)."""

    name = "service"

    def __init__(self, node, service_name: str, timeout: float = 60.0, tasks: tuple[str, ...] = TASKS,
                 callback_group=None):
        self.node = node
        self.service_name = service_name
        self.timeout = timeout
        self.tasks = tasks
        self.client = node.create_client(Ground, service_name, callback_group=callback_group)
        self.watch = ServiceWatch(node, service_name, callback_group)

    def ground(self, task: str, image: np.ndarray, instruction: str, *, samples: int = 1,
               depth: np.ndarray | None = None, intrinsics: CameraIntrinsics | None = None,
               reference: np.ndarray | None = None) -> GroundingResult:
        """The service's answer; a refused request (``code`` INVALID_REQUEST: a bad image, a reference
        the service's backend cannot take) raises InvalidInputError, any other failure BackendError."""
        request = Ground.Request(image=image_to_msg(image, "rgb8"), instruction=instruction, task=task,
                                 samples=int(samples))
        if reference is not None:
            request.reference = image_to_msg(reference, "rgb8")
        if depth is not None:
            request.depth = image_to_msg(depth)
        if intrinsics is not None:
            request.camera_info = camera_info_to_msg(intrinsics)
        response = call_with_timeout(self.client, request, self.timeout, f"the grounding service ({self.service_name})",
                                     self.watch)
        if not response.grounding.task and response.code == Ground.Response.INVALID_REQUEST:
            raise InvalidInputError(response.message)
        if not response.grounding.task:
            raise BackendError(f"the grounding service ({self.service_name}) failed: {response.message}")
        return grounding_from_msg(response.grounding)

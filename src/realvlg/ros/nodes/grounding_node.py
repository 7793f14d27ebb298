"""grounding_node: the ``realvlg_interfaces/Ground`` service over a model backend.

A thin ROS adapter over :mod:`realvlg.grounding.factory`: the request's image (rgb8 / bgr8), the
optional aligned depth (16UC1 millimetres or 32FC1 metres, with its camera_info) and the
instruction go to ``GroundingBackend.ground``; the answer comes back as a
``realvlg_interfaces/Grounding`` in the request image's frame and stamp.

* a usable answer: ``success`` true;
* an unusable answer (unparsable, outside the image, no depth on the grasp line, …):
  ``success`` false, ``message`` the reason, ``grounding.valid`` false with the raw answer;
* bad input (an image it cannot decode, a reference the backend cannot take): ``success`` false,
  ``code`` ``INVALID_REQUEST``, ``message`` the sentence, ``grounding`` empty (``task`` "");
* a backend failure (dead server, missing checkpoint): the same with ``code`` ``BACKEND_FAILED`` —
  :class:`realvlg.ros.ground_client.ServiceGroundingBackend` turns these back into an
  InvalidInputError / a BackendError.

The optional ``reference`` image (rgb8 / bgr8; empty = none) goes to the backend as UniVG-R1's
multi-image form: the VLM backends send it before the scene image; one-image backends refuse.

Parameters (``config/grounding_node.yaml``): ``service``, ``backend`` (openai | transformers),
``model``, ``checkpoint``, ``base_url``, ``timeout``, ``retries``, ``image_format``,
``api_key_env``, ``device``, ``dtype``, ``trust_remote_code``, ``sam2_checkpoint``,
``max_new_tokens``, ``convention``, ``prompt_style`` (see :class:`~realvlg.grounding.factory.BackendSpec`).
Requests are served one at a time (a model runs one request at a time anyway).
"""

from __future__ import annotations

import dataclasses

from rclpy.node import Node

from realvlg.cameras.camera import CameraStreamError
from realvlg.cameras.messages import decode_color, decode_depth, decode_reference
from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.grounding.factory import BackendSpec, make_backend
from realvlg.ros import names
from realvlg.ros.conversions import (
    camera_info_from_msg,
    grounding_to_msg,
)
from realvlg.ros.spin import answer_always, run_node
from realvlg_interfaces.msg import Grounding as GroundingMsg
from realvlg_interfaces.srv import Ground


def request_inputs(request: Ground.Request):
    """(RGB image, depth in metres or None, intrinsics or None, reference RGB or None) of a Ground
    request (colour rgb8 / bgr8 / rgba8 / bgra8; depth 16UC1 mm or 32FC1 m:
    :mod:`realvlg.cameras.messages`); an image it cannot decode raises InvalidInputError."""
    try:
        image = decode_color(request.image)
        depth = decode_depth(request.depth) if len(request.depth.data) else None
    except CameraStreamError as exc:
        raise InvalidInputError(str(exc)) from None
    intrinsics = camera_info_from_msg(request.camera_info) if any(request.camera_info.k) else None
    return image, depth, intrinsics, decode_reference(request.reference)


class GroundingNode(Node):
    def __init__(self) -> None:
        super().__init__("grounding_node")
        defaults = BackendSpec(backend="openai")
        values = {f.name: self.declare_parameter(f.name, getattr(defaults, f.name)).value
                  for f in dataclasses.fields(BackendSpec)}
        self.spec = BackendSpec(**values)
        self.backend = make_backend(self.spec)
        service = self.declare_parameter("service", names.GROUND_SERVICE).value
        self.create_service(Ground, service, answer_always(self, self._on_ground))
        self.get_logger().info(f"{service}: {self.spec.backend} backend, model "
                               f"{self.backend.model_name!r}, tasks {list(self.backend.tasks)}")

    def _on_ground(self, request: Ground.Request, response: Ground.Response) -> Ground.Response:
        try:
            image, depth, intrinsics, reference = request_inputs(request)
            extra = {"reference": reference} if reference is not None else {}
            result = self.backend.ground(request.task, image, request.instruction,
                                         samples=max(1, request.samples), depth=depth, intrinsics=intrinsics, **extra)
        except RealVLGError as exc:
            self.get_logger().warning(f"ground failed: {exc}")
            response.success, response.message, response.grounding = False, str(exc), GroundingMsg()
            response.code = response.INVALID_REQUEST if isinstance(exc, InvalidInputError) else response.BACKEND_FAILED
            return response
        response.grounding = grounding_to_msg(result, request.image.header.frame_id, request.image.header.stamp)
        response.success = result.valid
        response.message = "" if result.valid else f"{result.reason.value}: {result.message}"
        return response


def main(args=None) -> None:
    run_node(GroundingNode, "grounding_node", args=args)


if __name__ == "__main__":
    main()

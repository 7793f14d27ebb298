"""Peer: a ``realvlg_interfaces/srv/Ground`` server backed by a colour oracle (a test peer, not a
model): the instruction names a pure colour ("the red block"); the object is the set of pixels of
exactly that colour. It answers every task (bbox, seg, grasp, contact) from that pixel set and
puts, in ``raw_answer``, a JSON digest of what it decoded (sha256 of the RGB pixels, the
median valid depth on the object) so the client can check the image arrived intact.
"""

import hashlib
import json
import sys

import numpy as np
import rclpy
from common import spin_until_shutdown

from realvlg.errors import InvalidInputError, RealVLGError
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.grasps import ContactPair, RectGrasp
from realvlg.grounding.backend import Grounding, InvalidGrounding, InvalidReason
from realvlg.ros.conversions import camera_info_from_msg, grounding_to_msg, image_from_msg
from realvlg_interfaces.srv import Ground

COLOURS = {"red": (255, 0, 0), "green": (0, 255, 0), "blue": (0, 0, 255)}


def ground(request: Ground.Request):
    if request.image.encoding not in ("rgb8", "bgr8"):
        raise InvalidInputError(f"Ground needs an rgb8 or bgr8 image, got {request.image.encoding!r}")
    image = image_from_msg(request.image)
    rgb = image[..., ::-1] if request.image.encoding == "bgr8" else image
    digest = {"sha256": hashlib.sha256(np.ascontiguousarray(rgb).tobytes()).hexdigest(),
              "shape": list(rgb.shape)}
    named = [c for c in COLOURS if c in request.instruction.lower()]
    if not named:
        return InvalidGrounding(request.task, InvalidReason.NOT_FOUND,
                                f"the instruction {request.instruction!r} names no colour this oracle knows "
                                f"({', '.join(COLOURS)})", raw_answer=json.dumps(digest), backend="colour_oracle")
    mask = (rgb == COLOURS[named[0]]).all(axis=-1)
    if not mask.any():
        return InvalidGrounding(request.task, InvalidReason.NOT_FOUND, f"nothing {named[0]} in the image",
                                raw_answer=json.dumps(digest), backend="colour_oracle")
    if len(request.depth.data):
        if not any(request.camera_info.k):
            raise InvalidInputError("a depth image needs its camera_info")
        intrinsics = camera_info_from_msg(request.camera_info)
        depth = image_from_msg(request.depth).astype(float)
        if depth.shape != (intrinsics.height, intrinsics.width) or depth.shape != mask.shape:
            raise InvalidInputError(f"depth {depth.shape} and colour {mask.shape} do not match "
                                    f"camera_info {intrinsics.width}x{intrinsics.height}")
        on_object = depth[mask]
        scale = 0.001 if request.depth.encoding == "16UC1" else 1.0
        digest["depth_median_m"] = float(np.median(on_object[on_object > 0])) * scale
    ys, xs = np.nonzero(mask)
    box = BoundingBox(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))
    cx, cy = box.center
    parts = {"bbox": dict(box=box), "seg": dict(box=box, mask=mask),
             "grasp": dict(rect=RectGrasp(cx, cy, 0.0, box.width, box.height)),
             "contact": dict(contact=ContactPair(box.x_min, cy, box.x_max, cy))}
    if request.task not in parts:
        raise InvalidInputError(f"unknown task {request.task!r}; one of {', '.join(parts)}")
    return Grounding(task=request.task, raw_answer=json.dumps(digest), samples=max(1, request.samples),
                     backend="colour_oracle", model="exact-colour", **parts[request.task])


def main() -> None:
    def serve(request: Ground.Request, response: Ground.Response) -> Ground.Response:
        try:
            result = ground(request)
        except RealVLGError as exc:
            response.success, response.message = False, str(exc)
            return response
        response.grounding = grounding_to_msg(result, request.image.header.frame_id, request.image.header.stamp)
        response.success = result.valid
        response.message = "" if result.valid else result.message
        return response

    rclpy.init(args=sys.argv)
    node = rclpy.create_node("test_ground_server")
    node.create_service(Ground, "ground", serve)
    print("READY", flush=True)
    spin_until_shutdown(node)


if __name__ == "__main__":
    main()

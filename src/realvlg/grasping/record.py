"""The run folder of one grasp attempt: what a person looks at afterwards.

``<root>/<YYYYmmdd-HHMMSS-mmm>-<instruction-slug>/`` holds ``overlay.png`` (the answer, the grasp
and the outcome drawn on the colour image), ``reference.png`` (the request's photo of the object,
when it had one), ``result.json`` (code, message, strategy, the grasp, the answer, notes, tries,
timings, the stage reached: :func:`write_record`) and, from the ROS adapter, ``bag/`` (a rosbag2
MCAP, self-contained: the inputs — colour, aligned depth, both camera_infos, the camera pose the
capture used, ``/tf``, ``/tf_static`` and ``/joint_states`` around the capture, the instruction,
the reference image — and the outputs — the grounding message, the grasp pose and the result),
which ``ros2 bag play``, Foxglove and ``realvlg replay`` open. Both are written stage by stage
(:mod:`realvlg.grasping.attempt`), so they survive a killed process.
"""

from __future__ import annotations

import datetime
import json
import pathlib
import re
import sys

from realvlg.geometry.grasps import Grasp6D
from realvlg.observation import RGBDFrame
from realvlg.overlay import draw_grasp, draw_grounding, save_image
from realvlg.recording import BagRecorder

# Topics of the run's bag beside the camera's and the RViz ones (names.py): what replay reads back.
INSTRUCTION_TOPIC = "/realvlg/instruction"   # std_msgs/String, at capture
CAMERA_POSE_TOPIC = "/realvlg/camera_pose"   # geometry_msgs/TransformStamped base←camera the capture used
GROUNDING_TOPIC = "/realvlg/grounding"       # realvlg_interfaces/Grounding, in the camera frame
RESULT_TOPIC = "/realvlg/result"             # std_msgs/String: result.json's content, at the end of a try
REFERENCE_IMAGE_TOPIC = "/realvlg/reference_image"  # sensor_msgs/Image rgb8: a request's photo of the object


def _slug(text: str, limit: int = 40) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:limit] or "request"


def interface_definition(package: str, msg: str) -> str:
    """The ``.msg`` text of an installed interface (``<prefix>/share/<package>/msg/<msg>.msg``)."""
    import os

    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p] + [sys.prefix]
    for prefix in prefixes:
        path = pathlib.Path(prefix, "share", package, "msg", f"{msg}.msg")
        if path.is_file():
            return path.read_text()
    raise FileNotFoundError(f"{package}/msg/{msg}.msg is not installed under {prefixes}")


class RunFolder:
    """One attempt's folder; :meth:`bag` opens its recording (close it with the folder)."""

    def __init__(self, root: str | pathlib.Path, instruction: str):
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")[:-3]
        self.path = pathlib.Path(root) / f"{stamp}-{_slug(instruction)}"
        self.path.mkdir(parents=True, exist_ok=False)
        self._bag: BagRecorder | None = None

    def bag(self) -> BagRecorder:
        if self._bag is None:
            self._bag = BagRecorder(self.path / "bag").open()
            self._bag.register_msg("realvlg_interfaces/msg/Grounding",
                                   interface_definition("realvlg_interfaces", "Grounding"))
        return self._bag

    def write_json(self, name: str, data: dict) -> pathlib.Path:
        """``name`` in the folder, replaced atomically (written aside, then renamed)."""
        path = self.path / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(json.dumps(data, indent=2, default=float))
        tmp.replace(path)
        return path

    def close(self) -> None:
        if self._bag is not None:
            self._bag.close()
            self._bag = None


def write_record(run: RunFolder, frame: RGBDFrame | None, outcome, finished: bool = True) -> None:
    """``result.json`` of an :class:`~realvlg.grasping.attempt.Outcome` and, when ``frame`` is given,
    its ``overlay.png`` (``overlay_try<n>.png`` for later tries). ``finished``: False while the
    attempt runs (``code`` is then null and ``stage`` says how far it got); the file is replaced
    atomically, so a reader (or a process killed mid-write) never sees half of one."""
    if frame is not None:
        image = draw_grounding(frame.color, outcome.grounding, message=outcome.message)
        if isinstance(outcome.grasp, Grasp6D) and frame.base_from_camera is not None:
            image = draw_grasp(image, frame.base_from_camera.inverse().apply_to_grasp(outcome.grasp), frame.intrinsics)
        save_image(image, run.path / ("overlay.png" if outcome.tries <= 1 else f"overlay_try{outcome.tries}.png"))
    if outcome.reference is not None and not (run.path / "reference.png").exists():
        save_image(outcome.reference, run.path / "reference.png")
    grounding = outcome.grounding
    run.write_json("result.json", {
        "reference": "reference.png" if outcome.reference is not None else None,
        "instruction": outcome.instruction, "finished": finished, "stage": outcome.stage,
        "success": outcome.success, "code": outcome.code.name if finished else None,
        "message": outcome.message, "strategy": outcome.strategy, "notes": outcome.notes, "tries": outcome.tries,
        "grasp": outcome.grasp.as_dict() if outcome.grasp is not None else None,
        "grounding": grounding.as_dict() if grounding is not None else None,
        "timings": outcome.timings})

"""``EmbeddedBackend``: the embedded model behind the grounding-backend interface (``--grounding embedded``).

Built from a model folder (``model.safetensors`` + ``config.json``, as :mod:`training.embedded`
exports) or a registry name (:func:`realvlg.grounding.registry.resolve`). Depth (float metres,
H×W, 0/NaN invalid) is required: without it every task answers ``InvalidGrounding(NO_DEPTH)``.
One forward pass per (image, depth, instruction): the planner's contact → grasp → seg → bbox
questions on one capture are answered from a small cache of decoded results. A target below the
confidence threshold answers ``InvalidGrounding(NOT_FOUND)``. ``raw_answer`` carries the
confidence as JSON (``{"confidence": 0.97}``); every coordinate is in the given image's pixels.
The rectangle's jaw is the 2 cm finger width projected at the grasp depth when intrinsics are
given, else the decoder's default.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import time
from collections import OrderedDict

import cv2
import numpy as np

from realvlg.embedded.datagen import FINGER_WIDTH
from realvlg.embedded.decode import DecodeConfig, Decoded, decode
from realvlg.embedded.model import EmbeddedNet, EmbeddedNetConfig, prepare
from realvlg.embedded.targets import MapGeometry
from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.grounding.backend import (
    BackendError,
    Grounding,
    GroundingBackend,
    GroundingResult,
    InvalidGrounding,
    InvalidReason,
    refuse_reference,
)

WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
CACHE_SIZE = 16


def resize_inputs(image: np.ndarray, depth: np.ndarray, input_width: int) -> tuple[np.ndarray, np.ndarray]:
    """RGB (area) and depth (nearest, so invalid pixels never blend) at the model input size."""
    geo = MapGeometry(image.shape[1], image.shape[0], input_width)
    size = geo.input_size
    if size == (image.shape[1], image.shape[0]):
        return image, depth
    return (cv2.resize(image, size, interpolation=cv2.INTER_AREA),
            cv2.resize(depth.astype(np.float32), size, interpolation=cv2.INTER_NEAREST))


def save_pretrained(net: EmbeddedNet, folder: str | os.PathLike, name: str, decode_config: DecodeConfig,
                    **extra) -> pathlib.Path:
    """Write ``model.safetensors`` and ``config.json`` (net config, decode thresholds, ``extra``)."""
    from safetensors.torch import save_file

    from realvlg.embedded.model import parameter_count

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in net.state_dict().items()}, str(folder / WEIGHTS_FILE))
    config = {"name": name, "architecture": "embedded", "net": net.config.to_dict(),
              "decode": dataclasses.asdict(decode_config), "parameters": parameter_count(net), **extra}
    (folder / CONFIG_FILE).write_text(json.dumps(config, indent=1))
    return folder


class EmbeddedBackend(GroundingBackend):
    """The network + decoder on ``device`` ("cpu", "cuda", "auto"), the shared sentence encoder."""

    name = "embedded"
    tasks = ("contact", "grasp", "seg", "bbox")

    def __init__(self, net: EmbeddedNet, decode_config: DecodeConfig, model_name: str = "embedded",
                 text_encoder=None, threads: int | None = None, device: str = "cpu"):
        import torch

        if threads:
            torch.set_num_threads(threads)
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        self.device = torch.device(device)
        self.net = net.eval().to(self.device)
        self.decode_config = decode_config
        self.model_name = model_name
        if text_encoder is None:
            from realvlg.embedded.text import TextEncoder

            text_encoder = TextEncoder.shared()
        self.text_encoder = text_encoder
        self._cache: OrderedDict[tuple, Decoded] = OrderedDict()
        self.forwards = 0  # forward passes run (the cache's effect is visible here)

    @classmethod
    def from_pretrained(cls, name_or_path: str | os.PathLike, **kwargs) -> "EmbeddedBackend":
        from safetensors.torch import load_file

        from realvlg.grounding import registry

        folder = registry.resolve(name_or_path)
        try:
            config = json.loads((folder / CONFIG_FILE).read_text())
            net = EmbeddedNet(EmbeddedNetConfig.from_dict(config["net"]))
            net.load_state_dict(load_file(str(folder / WEIGHTS_FILE)))
        except (OSError, KeyError, RuntimeError, ValueError) as exc:
            raise BackendError(f"cannot load the embedded model from {folder}: {exc}") from exc
        return cls(net, DecodeConfig.from_dict(config.get("decode", {})),
                   config.get("name", pathlib.Path(folder).name), **kwargs)

    def infer(self, image: np.ndarray, depth: np.ndarray, instruction: str) -> Decoded:
        """One forward pass and the decoded target (cached per image, depth and instruction)."""
        import torch

        key = (hashlib.sha1(image.tobytes()).hexdigest(), image.shape,
               hashlib.sha1(depth.tobytes()).hexdigest(), instruction)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        config = self.net.config
        rgb_in, depth_in = resize_inputs(image, depth, config.input_width)
        x = torch.from_numpy(prepare(rgb_in, depth_in, config))[None].to(self.device)
        text = torch.from_numpy(self.text_encoder.encode([instruction])).to(self.device)
        with torch.inference_mode():
            out = {k: v.float().cpu() for k, v in self.net(x, text).items()}
        self.forwards += 1
        maps = {k: v[0].numpy() for k, v in out.items() if k != "confidence"}
        result = decode(maps, float(out["confidence"][0]), (image.shape[1], image.shape[0]), self.decode_config)
        self._cache[key] = result
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def ground(self, task: str, image: np.ndarray, instruction: str, *, samples: int = 1,
               depth: np.ndarray | None = None, intrinsics: CameraIntrinsics | None = None,
               reference: np.ndarray | None = None) -> GroundingResult:
        started = time.perf_counter()
        refuse_reference(self.name, reference)
        if task not in self.tasks:
            raise InvalidInputError(f"task {task!r} is not one of {self.tasks}")
        image = np.asarray(image)
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8 or min(image.shape[:2]) < 2:
            raise InvalidInputError(f"the embedded model needs an RGB uint8 H×W×3 image, got {image.dtype} {image.shape}")
        if not instruction or not instruction.strip():
            raise InvalidInputError("the instruction is empty")
        common = dict(backend=self.name, model=self.model_name)
        if depth is None:
            return InvalidGrounding(task, InvalidReason.NO_DEPTH, "the embedded model needs a depth image",
                                    latency=time.perf_counter() - started, **common)
        depth = np.asarray(depth)
        if depth.shape != image.shape[:2] or not np.issubdtype(depth.dtype, np.floating):
            raise InvalidInputError(f"depth must be float metres of the image's size {image.shape[:2]}, "
                                    f"got {depth.dtype} {depth.shape}")
        if not np.any(np.isfinite(depth) & (depth > 0)):
            return InvalidGrounding(task, InvalidReason.NO_DEPTH, "the depth image has no valid pixel",
                                    latency=time.perf_counter() - started, **common)
        found = self.infer(image, depth, instruction.strip())
        raw = json.dumps({"confidence": round(found.confidence, 4)})
        latency = time.perf_counter() - started
        if not found.found:
            return InvalidGrounding(task, InvalidReason.NOT_FOUND,
                                    f"nothing in the scene matches {instruction!r} (confidence {found.confidence:.2f})",
                                    raw_answer=raw, latency=latency, **common)
        rect = found.rect
        if intrinsics is not None:
            rect = dataclasses.replace(rect, jaw=self._jaw(rect, depth, intrinsics, rect.jaw))
        fields = {"bbox": dict(box=found.box), "seg": dict(box=found.box, mask=found.mask),
                  "grasp": dict(box=found.box, rect=rect), "contact": dict(box=found.box, contact=found.contact)}
        return Grounding(task, raw_answer=raw, latency=latency, **fields[task], **common)

    @staticmethod
    def _jaw(rect, depth: np.ndarray, intrinsics: CameraIntrinsics, default: float) -> float:
        """The finger width [px of the image] at the median valid depth around the grasp centre."""
        h, w = depth.shape
        x, y = int(np.clip(round(rect.x), 0, w - 1)), int(np.clip(round(rect.y), 0, h - 1))
        window = depth[max(y - 3, 0):y + 4, max(x - 3, 0):x + 4]
        valid = window[np.isfinite(window) & (window > 0)]
        if valid.size == 0:
            return default
        return float(FINGER_WIDTH * intrinsics.scaled(w, h).fx / np.median(valid))

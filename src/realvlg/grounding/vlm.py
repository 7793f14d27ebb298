"""What every vision-language-model backend shares: prompt → answers → parsed, mapped results.

:class:`VLMBackend` implements :meth:`~realvlg.grounding.backend.GroundingBackend.ground` once:

1. check the inputs (task, RGB uint8 image, instruction);
2. build the task prompt (:func:`realvlg.grounding.prompts.build_prompt`, per the model's style);
3. for the ``absolute_resized`` convention, resize the image to its Qwen2.5-VL smart-resize size
   *before* sending it (PIL bicubic, what the Qwen2-VL image processor does): the model's own
   resize is then the identity whatever ``max_pixels`` the server runs with, so the answer's
   frame is known exactly;
4. ask the subclass for ``samples`` answers (:meth:`VLMBackend.generate`): greedy
   (``temperature``) for one, sampled (``sampling_temperature``) for several;
5. parse each answer (:func:`realvlg.grounding.parsing.parse_answer`, checked against the frame
   the model saw) and map it to camera pixels (:class:`~realvlg.grounding.coords.CoordinateConvention`);
6. with several samples, keep the medoid (:func:`realvlg.grounding.consistency.select_consensus`);
7. for ``seg``, turn the box into a mask with the configured segmenter (SAM2).

UniVG-R1's multi-image form: ``reference=`` an image of the object; it is sent first, the scene
second, and the instruction may be empty (then the prompts module's "Grasp the object shown in
the first image."). Answers are in the scene image's frame.

Subclasses implement only ``generate(images, prompt, samples, temperature) -> list[str]``.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import time
from abc import abstractmethod
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from PIL import Image

from realvlg.errors import InvalidInputError
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.grounding.backend import TASKS, BackendError, GroundingBackend, GroundingResult
from realvlg.grounding.consistency import ConsistencyConfig, select_consensus
from realvlg.grounding.coords import CoordinateConvention
from realvlg.grounding.parsing import parse_answer
from realvlg.grounding.prompts import UNIVG_R1_REFERENCE_INSTRUCTION, build_prompt

IMAGE_FORMATS = {"png": "image/png", "jpeg": "image/jpeg"}


class Segmenter(Protocol):
    """Box → mask (what :class:`realvlg.grounding.sam2.Sam2Segmenter` provides)."""

    def segment(self, image: np.ndarray, box: BoundingBox) -> np.ndarray: ...


@dataclass(frozen=True)
class ModelSettings:
    """How to talk to one checkpoint: its prompt style, coordinate convention, tasks, and the
    decoding settings. ``temperature`` is used for a single sample (0 = greedy);
    ``sampling_temperature`` when several are asked for."""

    prompt_style: str = "realvlg-r1"
    convention: CoordinateConvention = field(default_factory=CoordinateConvention)
    tasks: tuple[str, ...] = TASKS
    max_new_tokens: int = 256
    min_new_tokens: int = 0          # > 0 only for benchmarks with a fixed output length (in-process)
    temperature: float = 0.0
    sampling_temperature: float = 1.0
    top_p: float = 1.0
    consistency: ConsistencyConfig = field(default_factory=ConsistencyConfig)


def check_image(image: np.ndarray) -> np.ndarray:
    """The image as a contiguous RGB uint8 (H, W, 3) array, or :class:`InvalidInputError`."""
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise InvalidInputError(f"expected an RGB uint8 image of shape (H, W, 3), got {image.dtype} "
                                f"{image.shape}")
    if min(image.shape[:2]) < 1:
        raise InvalidInputError(f"the image is empty: {image.shape}")
    return np.ascontiguousarray(image)


def model_input_image(image: np.ndarray, convention: CoordinateConvention) -> Image.Image:
    """The PIL image to send the model (smart-resized for ``absolute_resized``; see module doc)."""
    pil = Image.fromarray(image)
    if convention.kind == "absolute_resized":
        size = convention.model_frame_size(image.shape[1], image.shape[0])
        if size != pil.size:
            pil = pil.resize(size, Image.Resampling.BICUBIC)
    return pil


def encode_data_uri(image: Image.Image, image_format: str = "png", quality: int = 95) -> str:
    """``data:image/…;base64,…`` of ``image``. PNG (compress level 1) is lossless, so a server
    decodes exactly the pixels an in-process model sees; JPEG is smaller and lossy."""
    if image_format not in IMAGE_FORMATS:
        raise InvalidInputError(f"unknown image format {image_format!r}; expected one of {sorted(IMAGE_FORMATS)}")
    buffer = io.BytesIO()
    if image_format == "png":
        image.save(buffer, format="PNG", compress_level=1)
    else:
        image.save(buffer, format="JPEG", quality=quality)
    return f"data:{IMAGE_FORMATS[image_format]};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


class VLMBackend(GroundingBackend):
    """A grounding backend around a Qwen2.5-VL-family model (see the module docstring)."""

    name = "vlm"

    def __init__(self, model: str, settings: ModelSettings = ModelSettings(),
                 segmenter: Segmenter | None = None) -> None:
        self.model_name = model
        self.settings = settings
        self.segmenter = segmenter
        self.tasks = settings.tasks

    @abstractmethod
    def generate(self, images: list[Image.Image], prompt: str, samples: int, temperature: float) -> list[str]:
        """``samples`` raw answers of the model to the images (in order) + prompt (transport errors
        raise :class:`BackendError`)."""

    def interpret(self, task: str, text: str, width: int, height: int) -> GroundingResult:
        """Parse one raw answer against the frame the model saw and map it to a ``width``×``height``
        camera image."""
        frame = self.settings.convention.model_frame_size(width, height)
        result = parse_answer(task, text, image_size=frame)
        return self.settings.convention.to_camera(result, width, height) if result.valid else result

    def ground(self, task: str, image: np.ndarray, instruction: str, *, samples: int = 1,
               depth: np.ndarray | None = None,
               intrinsics: CameraIntrinsics | None = None,
               reference: np.ndarray | None = None) -> GroundingResult:
        start = time.perf_counter()
        if task not in self.tasks:
            raise InvalidInputError(f"model {self.model_name!r} answers {list(self.tasks)}, not {task!r}")
        if samples < 1:
            raise InvalidInputError(f"samples must be ≥ 1, got {samples}")
        if task == "seg" and self.segmenter is None:
            raise BackendError("task 'seg' needs a SAM2 checkpoint (segmenter) to turn the box into a mask")
        image = check_image(image)
        height, width = image.shape[:2]
        if depth is not None and np.shape(depth)[:2] != (height, width):
            raise InvalidInputError(f"depth {np.shape(depth)} does not match the {width}x{height} image")
        images = [model_input_image(image, self.settings.convention)]
        if reference is not None:
            images.insert(0, model_input_image(check_image(reference), self.settings.convention))
            instruction = instruction if instruction.strip() else UNIVG_R1_REFERENCE_INSTRUCTION
        prompt = build_prompt(task, instruction, self.settings.prompt_style)
        temperature = self.settings.temperature if samples == 1 else self.settings.sampling_temperature
        texts = self.generate(images, prompt, samples, temperature)
        results = [self.interpret(task, text, width, height) for text in texts]
        if samples == 1:
            result = results[0]
        else:
            result = select_consensus(results, depth, self.settings.consistency)
        if task == "seg" and result.valid:
            result = dataclasses.replace(result, mask=self.segmenter.segment(image, result.box))
        return dataclasses.replace(result, latency=time.perf_counter() - start, backend=self.name,
                                   model=self.model_name)

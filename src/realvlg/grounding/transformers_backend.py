"""Grounding in-process with transformers: ``AutoModelForImageTextToText`` from a local folder.

* Weights are read from ``*.safetensors`` only (``use_safetensors=True``): a folder holding only
  pickle weights (``.bin``, ``.pt``, ``.pth``, ``.ckpt``, ``.pkl``) is refused — pickle can run
  code on load. Convert such checkpoints once, elsewhere, with ``save_pretrained``.
* ``device``: ``auto`` (CUDA if available, else CPU), ``cpu``, ``cuda``, ``cuda:1``, ….
  ``dtype``: ``auto`` (bfloat16 on a GPU that supports it, else float32), ``float32``,
  ``bfloat16``, ``float16``.
* Generation is batched: several samples are one ``generate`` call
  (``num_return_sequences``), and :meth:`TransformersBackend.generate_batch` answers many
  image + prompt pairs in one left-padded batch.
* The processor is the checkpoint's own; for Qwen2(.5)-VL without torchvision the image-only
  one (:mod:`realvlg.grounding.qwen_processor`).
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass, field

from PIL import Image

from realvlg.grounding.backend import BackendError
from realvlg.grounding.qwen_processor import load_processor
from realvlg.grounding.vlm import ModelSettings, Segmenter, VLMBackend

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
DTYPES = ("auto", "float32", "bfloat16", "float16")


@dataclass(frozen=True)
class TransformersBackendConfig:
    """A local checkpoint folder and where to run it. ``seed`` makes sampling repeatable."""

    checkpoint: str | pathlib.Path
    device: str = "auto"
    dtype: str = "auto"
    trust_remote_code: bool = False
    seed: int | None = None
    settings: ModelSettings = field(default_factory=ModelSettings)


def check_checkpoint(folder: str | pathlib.Path) -> pathlib.Path:
    """The folder, if it holds a config and safetensors weights; :class:`BackendError` otherwise."""
    folder = pathlib.Path(folder).expanduser()
    if not (folder / "config.json").is_file():
        raise BackendError(f"{folder} is not a model checkpoint folder (no config.json)")
    if not any(folder.glob("*.safetensors")):
        pickles = sorted(p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES)
        if pickles:
            raise BackendError(f"{folder} holds pickle weights only ({', '.join(pickles[:3])}); realvlg "
                               "loads safetensors only — convert with save_pretrained(safe_serialization=True)")
        raise BackendError(f"{folder} holds no *.safetensors weights")
    return folder


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise BackendError(f"device {device!r} asked for, but torch sees no CUDA device")
    return device


def resolve_dtype(dtype: str, device: str):
    import torch

    if dtype not in DTYPES:
        raise BackendError(f"unknown dtype {dtype!r}; expected one of {DTYPES}")
    if dtype == "auto":
        gpu_bf16 = device.startswith("cuda") and torch.cuda.is_bf16_supported()
        return torch.bfloat16 if gpu_bf16 else torch.float32
    return getattr(torch, dtype)


class TransformersBackend(VLMBackend):
    """:class:`~realvlg.grounding.vlm.VLMBackend` running the model in this process."""

    name = "transformers"

    def __init__(self, config: TransformersBackendConfig, segmenter: Segmenter | None = None) -> None:
        import torch
        from transformers import AutoModelForImageTextToText

        folder = check_checkpoint(config.checkpoint)
        super().__init__(folder.name, config.settings, segmenter)
        self.config = config
        self.device = resolve_device(config.device)
        self.dtype = resolve_dtype(config.dtype, self.device)
        model_type = json.loads((folder / "config.json").read_text()).get("model_type", "")
        try:
            self.processor = load_processor(folder, model_type, config.trust_remote_code)
            self.model = AutoModelForImageTextToText.from_pretrained(
                folder, dtype=self.dtype, use_safetensors=True,
                trust_remote_code=config.trust_remote_code).to(self.device).eval()
        except (OSError, ValueError, ImportError, RuntimeError) as exc:
            raise BackendError(f"cannot load the checkpoint {folder}: {exc}") from exc
        self.processor.tokenizer.padding_side = "left"
        self._torch = torch
        if config.seed is not None:
            torch.manual_seed(config.seed)

    def generate(self, images: list[Image.Image], prompt: str, samples: int, temperature: float) -> list[str]:
        return self.generate_batch([(images, prompt)], samples, temperature)[0]

    def generate_batch(self, requests: list[tuple[list[Image.Image], str]], samples: int = 1,
                       temperature: float = 0.0) -> list[list[str]]:
        """``samples`` answers for each (images, prompt) pair, in one left-padded batch."""
        conversations = [[{"role": "user", "content": [*({"type": "image", "image": im} for im in images),
                                                       {"type": "text", "text": prompt}]}]
                         for images, prompt in requests]
        inputs = self.processor.apply_chat_template(
            conversations, tokenize=True, return_dict=True, return_tensors="pt",
            add_generation_prompt=True, processor_kwargs={"padding": True}).to(self.device)
        sampling = temperature > 0
        options = dict(max_new_tokens=self.settings.max_new_tokens, do_sample=sampling,
                       num_return_sequences=samples, min_new_tokens=self.settings.min_new_tokens)
        if sampling:
            options.update(temperature=temperature, top_p=self.settings.top_p)
        with self._torch.inference_mode():
            output = self.model.generate(**inputs, **options)
        new_tokens = output[:, inputs["input_ids"].shape[1]:]
        texts = self.processor.batch_decode(new_tokens, skip_special_tokens=True)
        return [texts[i * samples:(i + 1) * samples] for i in range(len(requests))]

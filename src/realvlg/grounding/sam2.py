"""Box → mask with SAM2 through transformers (``Sam2Model``), from a local checkpoint folder.

transformers' ``Sam2ImageProcessor`` imports torchvision at module level, so this module does
the same preprocessing itself with PIL and numpy, reading the checkpoint's
``preprocessor_config.json`` when there is one:

* the image is resized to ``size`` × ``size`` (1024 for the published checkpoints; aspect ratio
  NOT kept, bilinear), scaled to [0, 1] and normalised with ``image_mean`` / ``image_std``
  (ImageNet's by default);
* the box ``(x_min, y_min, x_max, y_max)`` in camera pixels is scaled by ``size / W``,
  ``size / H`` into that frame;
* the single-mask output (``multimask_output=False``) is resized bilinearly to H × W
  (``align_corners=False``) and thresholded at logit 0 — what ``post_process_masks`` does.

The returned mask is bool (H, W), True on the object. Weights: safetensors only.
"""

from __future__ import annotations

import json
import pathlib
from dataclasses import dataclass

import numpy as np
from PIL import Image

from realvlg.geometry.boxes import BoundingBox
from realvlg.grounding.backend import BackendError
from realvlg.grounding.transformers_backend import check_checkpoint, resolve_device

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Sam2Config:
    """A local SAM2 checkpoint (e.g. facebook/sam2.1-hiera-large saved by transformers)."""

    checkpoint: str | pathlib.Path
    device: str = "auto"
    mask_threshold: float = 0.0


class Sam2Segmenter:
    """``segment(image, box) -> bool mask`` (see the module docstring)."""

    def __init__(self, config: Sam2Config) -> None:
        import torch
        from transformers import Sam2Model

        folder = check_checkpoint(config.checkpoint)
        self.config = config
        self.device = resolve_device(config.device)
        try:
            self.model = Sam2Model.from_pretrained(folder, use_safetensors=True).to(self.device).eval()
        except (OSError, ValueError, RuntimeError) as exc:
            raise BackendError(f"cannot load the SAM2 checkpoint {folder}: {exc}") from exc
        pre = folder / "preprocessor_config.json"
        pre = json.loads(pre.read_text()) if pre.exists() else {}
        size = pre.get("size", {}).get("height") or self.model.config.prompt_encoder_config.image_size
        self.size = int(size)
        scale = float(pre.get("rescale_factor", 1 / 255))
        mean = np.asarray(pre.get("image_mean", IMAGENET_MEAN), dtype=np.float32)
        std = np.asarray(pre.get("image_std", IMAGENET_STD), dtype=np.float32)
        self._scale, self._mean, self._std = scale, mean, std
        self._torch = torch

    def pixel_values(self, image: np.ndarray):
        """The (1, 3, size, size) float tensor SAM2 expects for an RGB uint8 image."""
        resized = Image.fromarray(image).resize((self.size, self.size), Image.Resampling.BILINEAR)
        x = (np.asarray(resized, dtype=np.float32) * self._scale - self._mean) / self._std
        return self._torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None].to(self.device)

    def segment(self, image: np.ndarray, box: BoundingBox) -> np.ndarray:
        torch = self._torch
        h, w = image.shape[:2]
        sx, sy = self.size / w, self.size / h
        boxes = torch.tensor([[[box.x_min * sx, box.y_min * sy, box.x_max * sx, box.y_max * sy]]],
                             dtype=torch.float32, device=self.device)
        with torch.inference_mode():
            out = self.model(pixel_values=self.pixel_values(image), input_boxes=boxes,
                             multimask_output=False)
            logits = out.pred_masks[0, 0, :1].float()                    # (1, h', w')
            full = torch.nn.functional.interpolate(logits[None], (h, w), mode="bilinear",
                                                   align_corners=False)[0, 0]
        return (full > self.config.mask_threshold).cpu().numpy()


def build_tiny_sam2(folder: str | pathlib.Path, image_size: int = 128, seed: int = 0) -> pathlib.Path:
    """A tiny random SAM2 checkpoint (safetensors) for tests and benchmarks — no download."""
    import torch
    from transformers import Sam2Config as HFSam2Config
    from transformers import (
        Sam2HieraDetConfig,
        Sam2MaskDecoderConfig,
        Sam2Model,
        Sam2PromptEncoderConfig,
        Sam2VisionConfig,
    )

    folder = pathlib.Path(folder)
    stride = 4
    backbone = Sam2HieraDetConfig(hidden_size=12, image_size=image_size, patch_stride=stride,
                                  patch_kernel_size=7, patch_padding=3, blocks_per_stage=[1, 1, 1, 1],
                                  embed_dim_per_stage=[12, 24, 48, 96],
                                  num_attention_heads_per_stage=[1, 2, 4, 8])
    base = image_size // stride
    vision = Sam2VisionConfig(backbone_config=backbone, backbone_channel_list=[96, 48, 24, 12],
                              backbone_feature_sizes=[[base, base], [base // 2, base // 2],
                                                      [base // 4, base // 4]],
                              fpn_hidden_size=32)
    config = HFSam2Config(
        vision_config=vision,
        prompt_encoder_config=Sam2PromptEncoderConfig(hidden_size=32, image_size=image_size,
                                                      patch_size=16, mask_input_channels=8),
        mask_decoder_config=Sam2MaskDecoderConfig(hidden_size=32, mlp_dim=64, num_attention_heads=4,
                                                  iou_head_hidden_dim=32))
    torch.manual_seed(seed)
    Sam2Model(config).save_pretrained(folder, safe_serialization=True)
    (folder / "preprocessor_config.json").write_text(json.dumps(
        {"size": {"height": image_size, "width": image_size}, "image_mean": list(IMAGENET_MEAN),
         "image_std": list(IMAGENET_STD), "rescale_factor": 1 / 255}, indent=2))
    return folder

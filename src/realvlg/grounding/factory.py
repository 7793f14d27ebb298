"""Build a grounding backend from plain settings — shared by ``realvlg ground`` and grounding_node.

:class:`BackendSpec` names the backend (``openai`` | ``transformers``), the model (a registry
name or a hub repository id such as ``cslinfeili/RealVLG-R1_GRPO_Grasp_3B`` brings its prompt
style, tasks and coordinate convention; anything else uses
``convention`` / ``prompt_style`` or the defaults) and the transport options.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from realvlg.errors import InvalidInputError
from realvlg.grounding.backend import GroundingBackend
from realvlg.grounding.coords import CoordinateConvention
from realvlg.grounding.vlm import ModelSettings

BACKENDS = ("openai", "transformers", "embedded")
EMBEDDED_DEFAULT = "embedded-default"


@dataclass(frozen=True)
class BackendSpec:
    backend: str
    model: str = ""                # openai: the name the server serves (registry name or not)
    checkpoint: str = ""           # transformers / embedded: folder or registry name
    base_url: str = "http://127.0.0.1:8000/v1"
    timeout: float = 60.0
    retries: int = 2
    image_format: str = "jpeg"
    api_key_env: str = "OPENAI_API_KEY"
    device: str = "auto"
    dtype: str = "auto"
    trust_remote_code: bool = False
    sam2_checkpoint: str = ""
    max_new_tokens: int = 256
    convention: str = ""           # "" = the manifest's, else absolute_resized
    prompt_style: str = ""         # "" = the manifest's, else realvlg-r1


def model_settings(spec: BackendSpec) -> ModelSettings:
    from realvlg.grounding import registry

    entry = registry.find(spec.model if spec.backend == "openai" else spec.checkpoint)  # name or hub repo id
    if entry is not None:
        settings = entry.settings(max_new_tokens=spec.max_new_tokens)
    else:
        settings = ModelSettings(convention=CoordinateConvention(spec.convention or "absolute_resized"),
                                 max_new_tokens=spec.max_new_tokens)
    if spec.convention:
        settings = dataclasses.replace(
            settings, convention=dataclasses.replace(settings.convention, kind=spec.convention))
    if spec.prompt_style:
        settings = dataclasses.replace(settings, prompt_style=spec.prompt_style)
    return settings


def make_backend(spec: BackendSpec) -> GroundingBackend:
    """The backend ``spec`` describes (raises BackendError / InvalidInputError with a sentence)."""
    if spec.backend not in BACKENDS:
        raise InvalidInputError(f"unknown grounding backend {spec.backend!r}; expected one of {BACKENDS}")
    if spec.backend == "embedded":
        from realvlg.embedded.backend import EmbeddedBackend

        return EmbeddedBackend.from_pretrained(spec.checkpoint or EMBEDDED_DEFAULT, device=spec.device)
    segmenter = None
    if spec.sam2_checkpoint:
        from realvlg.grounding.sam2 import Sam2Config, Sam2Segmenter

        segmenter = Sam2Segmenter(Sam2Config(spec.sam2_checkpoint, device=spec.device))
    settings = model_settings(spec)
    if spec.backend == "openai":
        from realvlg.grounding.openai_backend import OpenAIBackend, OpenAIBackendConfig

        if not spec.model:
            raise InvalidInputError("the openai backend needs a model name (the name the server serves)")
        return OpenAIBackend(OpenAIBackendConfig(
            base_url=spec.base_url, model=spec.model, api_key_env=spec.api_key_env, timeout=spec.timeout,
            retries=spec.retries, image_format=spec.image_format, settings=settings), segmenter)
    from realvlg.grounding import registry
    from realvlg.grounding.transformers_backend import TransformersBackend, TransformersBackendConfig

    if not spec.checkpoint:
        raise InvalidInputError("the transformers backend needs a checkpoint folder or registry name")
    return TransformersBackend(TransformersBackendConfig(
        registry.resolve(spec.checkpoint), device=spec.device, dtype=spec.dtype,
        trust_remote_code=spec.trust_remote_code, settings=settings), segmenter)

"""Qwen2.5-VL processing without torchvision.

transformers' ``Qwen2_5_VLProcessor`` always builds a video processor, whose import needs
torchvision (absent on CPU-only installs, see docs/grounding.md). :data:`PROCESSOR_SOURCE` is an
image-only subclass; :func:`image_only_processor_class` imports it from a file (so
``save_pretrained`` can copy it next to a checkpoint as remote code), and :func:`load_processor`
falls back to it — tokenizer + ``Qwen2VLImageProcessorPil`` + the checkpoint's chat template —
when ``AutoProcessor`` cannot load a Qwen2-VL / Qwen2.5-VL checkpoint.
"""

from __future__ import annotations

import importlib.util
import pathlib
import sys
import tempfile

PROCESSOR_MODULE = "processing_image_only_qwen2_5_vl"
PROCESSOR_CLASS = "ImageOnlyQwen2_5_VLProcessor"
PROCESSOR_SOURCE = '''"""Qwen2.5-VL processor for images only (the video processor needs torchvision)."""
from transformers import Qwen2_5_VLProcessor
from transformers.processing_utils import ProcessorMixin


class ImageOnlyQwen2_5_VLProcessor(Qwen2_5_VLProcessor):
    attributes = ["image_processor", "tokenizer"]

    def __init__(self, image_processor=None, tokenizer=None, chat_template=None, **kwargs):
        self.image_token = "<|image_pad|>"
        self.video_token = "<|video_pad|>"
        self.image_token_id = tokenizer.convert_tokens_to_ids(self.image_token)
        self.video_token_id = tokenizer.convert_tokens_to_ids(self.video_token)
        ProcessorMixin.__init__(self, image_processor, tokenizer, chat_template=chat_template)
'''
QWEN_MODEL_TYPES = ("qwen2_vl", "qwen2_5_vl")


def image_only_processor_class():
    """The image-only processor class, imported once from a temporary file."""
    if PROCESSOR_MODULE in sys.modules:
        return getattr(sys.modules[PROCESSOR_MODULE], PROCESSOR_CLASS)
    source = pathlib.Path(tempfile.mkdtemp(prefix="realvlg-processor-")) / f"{PROCESSOR_MODULE}.py"
    source.write_text(PROCESSOR_SOURCE)
    spec = importlib.util.spec_from_file_location(PROCESSOR_MODULE, source)
    module = importlib.util.module_from_spec(spec)
    sys.modules[PROCESSOR_MODULE] = module
    spec.loader.exec_module(module)
    return getattr(module, PROCESSOR_CLASS)


def load_processor(folder: str | pathlib.Path, model_type: str, trust_remote_code: bool = False):
    """``AutoProcessor`` for ``folder``; for Qwen2(.5)-VL checkpoints whose processor cannot be
    built (no torchvision), the image-only processor from the same files."""
    from transformers import AutoProcessor, AutoTokenizer, Qwen2VLImageProcessorPil

    try:
        return AutoProcessor.from_pretrained(folder, trust_remote_code=trust_remote_code)
    except (ImportError, ValueError, OSError):
        if model_type not in QWEN_MODEL_TYPES:
            raise
    tokenizer = AutoTokenizer.from_pretrained(folder)
    image_processor = Qwen2VLImageProcessorPil.from_pretrained(folder)
    template = getattr(tokenizer, "chat_template", None)
    jinja = pathlib.Path(folder) / "chat_template.jinja"
    if jinja.exists():
        template = jinja.read_text()
    return image_only_processor_class()(image_processor=image_processor, tokenizer=tokenizer,
                                        chat_template=template)

"""A tiny, randomly initialised Qwen2.5-VL checkpoint built offline, for tests and benchmarks.

Nothing is downloaded: the tokenizer is a byte-level BPE trained here with ``tokenizers`` on a
few sentences (it carries every Qwen2.5-VL special token and the Qwen2-VL chat template), the
model is ``Qwen2_5_VLForConditionalGeneration`` from a small config, and the processor is
:mod:`realvlg.grounding.qwen_processor`'s image-only Qwen2.5-VL processor (the video
processor's import needs torchvision). The processor class is saved next to the weights as remote code
(``auto_map``), so ``AutoProcessor.from_pretrained(dir, trust_remote_code=True)`` and
``transformers serve DIR --trust-remote-code`` load the folder like any published checkpoint.

Weights are written as safetensors. ``memorize`` optionally fits the random model on a few
(image, prompt, answer) examples so that greedy decoding reproduces those answers — tests use it
to get *valid* answers through the whole stack from a model that knows nothing.

    >>> folder = build_tiny_qwen2_5_vl("/tmp/tiny-qwen")          # doctest: +SKIP
"""

from __future__ import annotations

import json
import pathlib
import shutil
from dataclasses import dataclass, field

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.grounding.qwen_processor import PROCESSOR_CLASS, PROCESSOR_MODULE, image_only_processor_class

SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>",
    "<|vision_end|>", "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)

# The Qwen2-VL chat template: images become <|vision_start|><|image_pad|><|vision_end|> in place.
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% for message in messages %}"
    "{% if loop.first and message['role'] != 'system' %}<|im_start|>system\n"
    "You are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

# Text the tokenizer is trained on: the paper's prompt vocabulary, numbers and punctuation.
_CORPUS = (
    "Predict the bounding box of the referred object in the image based on the instruction",
    "Predict a stable 2D rectangular grasp pose for the target object based on the instruction",
    "Predict one stable two-finger grasp contact pair (two 2D coordinates) for the target object "
    "described in the instruction",
    "First, output the thinking process in <think> </think> tags, then output the final answer "
    "in <answer> </answer> tags. Follow the format: <think> thinking process </think>",
    "<answer>(x_min,y_min), (x_max,y_max)</answer> <answer>(x, y, theta, width)</answer>",
    "<answer>(x1,y1),(x2,y2)</answer> grasp the red cup by its handle, pick up the banana",
    "You are a helpful assistant. system user assistant Picture",
    " ".join(str(i) for i in range(0, 2000, 7)) + " 0.5 -45.0 1.25 90 180 , ， ( ) [ ] { } : ;",
)


@dataclass(frozen=True)
class TinyConfig:
    """Sizes of the tiny model. ``max_pixels`` bounds the processor's smart resize (keeps CPU
    runs fast); the real checkpoints use 12 845 056."""

    text_hidden: int = 64
    text_layers: int = 2
    heads: int = 4
    kv_heads: int = 2
    mrope_section: tuple[int, int, int] = (2, 3, 3)
    vision_depth: int = 2
    vision_hidden: int = 32
    vision_heads: int = 2
    fullatt_block_indexes: tuple[int, ...] = (1,)
    vocab_size: int = 600                  # the trained tokenizer's
    model_vocab_size: int = 0              # the embedding rows, if more than the tokenizer's
    text_intermediate: int = 0             # 0: 2 × text_hidden
    vision_intermediate: int = 0           # 0: 2 × vision_hidden
    min_pixels: int = 56 * 56
    max_pixels: int = 224 * 224
    tie_embeddings: bool = False
    dtype: str = "float32"                 # weights as saved
    seed: int = 0
    extra_corpus: tuple[str, ...] = field(default_factory=tuple)


# The Qwen2.5-VL-3B-Instruct architecture (config.json of the published checkpoint), random weights:
# for latency benchmarks on a GPU (≈ 7.5 GB in bfloat16).
QWEN2_5_VL_3B = TinyConfig(
    text_hidden=2048, text_layers=36, heads=16, kv_heads=2, mrope_section=(16, 24, 24),
    text_intermediate=11008, vision_depth=32, vision_hidden=1280, vision_heads=16,
    vision_intermediate=3420, fullatt_block_indexes=(7, 15, 23, 31), model_vocab_size=151936,
    tie_embeddings=True, min_pixels=3136, max_pixels=12845056, dtype="bfloat16")


def _train_tokenizer(vocab_size: int, corpus: tuple[str, ...]):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>", unk_token=None,
                                   chat_template=CHAT_TEMPLATE, padding_side="left")


def qwen_config(config: TinyConfig, tokenizer_size: int, ids: dict[str, int]):
    """The ``Qwen2_5_VLConfig`` of ``config`` for a tokenizer of ``tokenizer_size`` tokens whose
    special-token ids are ``ids`` (token → id)."""
    from transformers import Qwen2_5_VLConfig

    head_dim = config.text_hidden // config.heads
    if sum(config.mrope_section) * 2 != head_dim:
        raise InvalidInputError(f"mrope_section {config.mrope_section} must sum to head_dim / 2 = {head_dim // 2}")
    model_config = Qwen2_5_VLConfig(
        text_config=dict(
            vocab_size=max(tokenizer_size, config.model_vocab_size), hidden_size=config.text_hidden,
            intermediate_size=config.text_intermediate or 2 * config.text_hidden,
            num_hidden_layers=config.text_layers,
            num_attention_heads=config.heads, num_key_value_heads=config.kv_heads,
            max_position_embeddings=4096, max_window_layers=config.text_layers,
            rope_parameters={"rope_type": "default", "rope_theta": 1e6,
                             "mrope_section": list(config.mrope_section)},
            bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"]),
        vision_config=dict(
            depth=config.vision_depth, hidden_size=config.vision_hidden,
            intermediate_size=config.vision_intermediate or 2 * config.vision_hidden,
            num_heads=config.vision_heads,
            out_hidden_size=config.text_hidden, window_size=112,
            fullatt_block_indexes=list(config.fullatt_block_indexes)),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=config.tie_embeddings,
    )
    return model_config


def build_tiny_qwen2_5_vl(folder: str | pathlib.Path, config: TinyConfig = TinyConfig(),
                          memorize: list[tuple[np.ndarray, str, str]] | None = None,
                          steps: int = 150) -> pathlib.Path:
    """Write a tiny random Qwen2.5-VL checkpoint (safetensors + tokenizer + image-only processor
    as remote code) to ``folder`` and return it. ``memorize``: (RGB uint8 image, user prompt,
    assistant answer) triples the model is fitted on for ``steps`` Adam steps (greedy decoding
    then reproduces the answers). Deterministic for a given config and examples."""
    import torch
    from transformers import AutoProcessor, Qwen2_5_VLForConditionalGeneration, Qwen2VLImageProcessorPil

    folder = pathlib.Path(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    corpus = _CORPUS + tuple(config.extra_corpus) + tuple(a for _, _, a in memorize or ())
    tokenizer = _train_tokenizer(config.vocab_size, corpus)
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}

    processor_cls = image_only_processor_class()
    image_processor = Qwen2VLImageProcessorPil(min_pixels=config.min_pixels,
                                               max_pixels=config.max_pixels)
    processor = processor_cls(image_processor=image_processor, tokenizer=tokenizer,
                              chat_template=CHAT_TEMPLATE)

    model_config = qwen_config(config, len(tokenizer), ids)
    torch.manual_seed(config.seed)
    model = Qwen2_5_VLForConditionalGeneration(model_config)
    if memorize:
        _fit(model, processor, memorize, steps)
    model.generation_config.do_sample = False
    model.generation_config.eos_token_id = ids["<|im_end|>"]
    model.generation_config.pad_token_id = ids["<|endoftext|>"]
    model.to(getattr(torch, config.dtype)).save_pretrained(folder, safe_serialization=True)

    processor_cls.register_for_auto_class("AutoProcessor")
    processor.save_pretrained(folder)
    _add_auto_map(folder)
    AutoProcessor.from_pretrained(folder, trust_remote_code=True)  # fail here, not in the caller
    return folder


def _add_auto_map(folder: pathlib.Path) -> None:
    """Make sure every processor file points AutoProcessor at the remote-code class."""
    entry = {"AutoProcessor": f"{PROCESSOR_MODULE}.{PROCESSOR_CLASS}"}
    for name in ("processor_config.json", "preprocessor_config.json", "tokenizer_config.json"):
        path = folder / name
        if path.exists():
            data = json.loads(path.read_text())
            data.setdefault("auto_map", {}).update(entry)
            path.write_text(json.dumps(data, indent=2))


def chat_inputs(processor, image, prompt: str, answer: str | None = None):
    """Tokenised chat for one image + prompt (the generation prompt, plus ``answer`` if given)."""
    messages = [{"role": "user", "content": [{"type": "image", "image": image},
                                             {"type": "text", "text": prompt}]}]
    if answer is not None:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": answer}]})
    return processor.apply_chat_template(messages, tokenize=True, return_dict=True,
                                         return_tensors="pt",
                                         add_generation_prompt=answer is None)


def _fit(model, processor, examples, steps: int) -> None:
    """Teacher-forced fitting of the assistant answers (loss on answer tokens + <|im_end|>)."""
    import torch
    from PIL import Image

    batches = []
    for image, prompt, answer in examples:
        pil = Image.fromarray(np.asarray(image, dtype=np.uint8))
        prefix = chat_inputs(processor, pil, prompt)["input_ids"].shape[1]
        full = dict(chat_inputs(processor, pil, prompt, answer))
        labels = full["input_ids"].clone()
        labels[:, :prefix] = -100
        # the template ends an assistant turn with "<|im_end|>\n": learn up to <|im_end|>
        labels[:, -1] = -100
        full.pop("mm_token_type_ids", None)
        batches.append({**full, "labels": labels})
    model.model.visual.requires_grad_(False)  # the answers need not depend on the image: fit the text side
    optimiser = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=5e-3)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimiser, lambda step: 1 - step / steps)
    model.train()
    for step in range(steps):
        batch = batches[step % len(batches)]
        loss = model(**batch).loss
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
    model.requires_grad_(True)
    model.eval()

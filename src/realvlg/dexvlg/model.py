"""DexVLG (paper §5): coloured point cloud + instruction → Shadow Hand grasps by flow matching.

Architecture (``docs/dexvlg-model.md`` has the sizes)::

    cloud (P, xyz+rgb) ─FPS→ n_points ─ PointEncoder (Uni3D style, pointcloud.py) → 1+G tokens
        ─ MLP projector → d_model ┐
    instruction ─ tokenizer ─ shared embeddings ────────────────────────────────┴→ [points; words]
        → Florence-2 language model encoder (BART, Florence2Config.text_config)  = hidden states H
    noisy pose x_t (31) + time t ─ π0 action embedding → one pose token
        → Florence-2 language model decoder (self-attention, cross-attention to H)  → pose decoder MLP
        → velocity v(x_t, t | H): translation (3) | 6-D rotation (6) | 22 joints

The pose head *is* the language model's decoder stack: it shares the transformer architecture and
cross-attends to the encoder's hidden states, as paper §5.2/§5.3 put it (π0 / Transfusion style).
Objective (eq. 5, linear path): ``X_t = (1 − t) X0 + t X1``, ``X0 ~ N(0, I)``, ``t ~ U(0, 1)``,
target ``X1 − X0``; :func:`sample_grasps` integrates ``dx/dt = v`` from noise with Euler steps.

Frames and normalisation: clouds are gravity-aligned (z up: the object, table or robot-base frame;
training rotates about z only). Inside, a cloud is centred on its mean and divided by
``config.cloud_scale`` (a fixed length, so metric size survives); grasp translations relative to
that centre and joint angles are standardised with the training set's statistics stored in the
config; the 6-D rotation (Zhou et al.) is used as is. Outputs are mapped back to the input frame.

Checkpoints (:meth:`DexVLG.save_pretrained`): ``model.safetensors``, ``config.json`` (this
module's :class:`DexVLGConfig`), the tokenizer files and ``realvlg-manifest.yaml`` (architecture
``dexvlg``, task ``dexgrasp``), so :meth:`DexVLG.from_pretrained` resolves registry names through
:func:`realvlg.grounding.registry.resolve`. Florence-2 weights are not available offline: the
language model is built from its config (random init) unless :func:`load_florence2_language_model`
copies a local Florence-2 checkpoint's language model in; the tokenizer is a byte-level BPE trained
here (:func:`train_tokenizer`, BART's special tokens) unless the checkpoint's own is given.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import pathlib
from dataclasses import dataclass, field

import numpy as np
import torch
import yaml
from torch import nn

from realvlg.dexvlg.pointcloud import PointEncoder, farthest_point_sample
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import DEX_VECTOR_SIZE, DexGrasp
from realvlg.grounding.registry import LOCAL_MANIFEST
from realvlg.shadow_hand import FINGERS, SHADOW_JOINTS

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.safetensors"
ARCHITECTURE = "dexvlg"
TASK = "dexgrasp"
N_JOINTS = len(SHADOW_JOINTS)
SPECIAL_TOKENS = ("<s>", "<pad>", "</s>", "<unk>", "<mask>")  # BART's, in BART's id order


@dataclass
class DexVLGConfig:
    """Sizes and normalisation statistics (defaults: the tiny CPU/test model)."""

    # Uni3D-style point encoder
    n_points: int = 256            # FPS target (paper: 10 000)
    pool_factor: int = 2           # a cloud is first resampled to pool_factor × n_points at random
    n_groups: int = 32             # patches (Uni3D: 512)
    group_size: int = 16           # points per patch (Uni3D: 64)
    patch_hidden: int = 32         # mini-PointNet width (Uni3D: 128 → 512-wide second MLP)
    point_dim: int = 64
    point_depth: int = 2
    point_heads: int = 4
    # Florence-2 language model (BART encoder–decoder)
    d_model: int = 64
    encoder_layers: int = 2
    decoder_layers: int = 2
    attention_heads: int = 4
    ffn_dim: int = 128
    vocab_size: int = 0            # set from the tokenizer
    max_positions: int = 256
    max_instruction_tokens: int = 48
    dropout: float = 0.0
    # inputs and normalisation
    language: bool = True          # False: the instruction is replaced by "" (the language-free baseline)
    cloud_scale: float = 0.1       # metres per unit of the normalised cloud
    translation_mean: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    translation_std: list[float] = field(default_factory=lambda: [0.1, 0.1, 0.1])
    joints_mean: list[float] = field(default_factory=lambda: [0.0] * N_JOINTS)
    joints_std: list[float] = field(default_factory=lambda: [0.5] * N_JOINTS)
    preset: str = "tiny"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DexVLGConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidInputError(f"unknown DexVLG config keys: {sorted(unknown)}")
        return cls(**data)

    def text_config(self):
        """The Florence-2 language model's config (a BART config, as ``Florence2Config.text_config``)."""
        from transformers import Florence2Config

        ids = {t: i for i, t in enumerate(SPECIAL_TOKENS)}
        text = dict(vocab_size=self.vocab_size, d_model=self.d_model, encoder_layers=self.encoder_layers,
                    decoder_layers=self.decoder_layers, encoder_attention_heads=self.attention_heads,
                    decoder_attention_heads=self.attention_heads, encoder_ffn_dim=self.ffn_dim,
                    decoder_ffn_dim=self.ffn_dim, max_position_embeddings=self.max_positions,
                    dropout=self.dropout, attention_dropout=self.dropout, activation_dropout=self.dropout,
                    bos_token_id=ids["<s>"], pad_token_id=ids["<pad>"], eos_token_id=ids["</s>"],
                    decoder_start_token_id=ids["</s>"], scale_embedding=False)
        return Florence2Config(text_config=text).text_config


_FLORENCE2_BASE = dict(d_model=768, encoder_layers=6, decoder_layers=6, attention_heads=12, ffn_dim=3072,
                       vocab_size=51289, max_positions=1024, dropout=0.1)
_FLORENCE2_LARGE = dict(d_model=1024, encoder_layers=12, decoder_layers=12, attention_heads=16, ffn_dim=4096,
                        vocab_size=51289, max_positions=1024, dropout=0.1)
_UNI3D = dict(n_points=10000, n_groups=512, group_size=64, patch_hidden=128)
PRESETS = {
    "tiny": DexVLGConfig(vocab_size=512),
    # paper Table 6: Uni3D-S + Florence-2-B ("225M"), Uni3D-B + Florence-2-B ("320M"), Uni3D-L + Florence-2-L ("1B")
    "small": DexVLGConfig(**_UNI3D, point_dim=384, point_depth=12, point_heads=6, **_FLORENCE2_BASE, preset="small"),
    "base": DexVLGConfig(**_UNI3D, point_dim=768, point_depth=12, point_heads=12, **_FLORENCE2_BASE, preset="base"),
    "large": DexVLGConfig(**_UNI3D, point_dim=1024, point_depth=24, point_heads=16, **_FLORENCE2_LARGE,
                          preset="large"),
}
"""Named sizes. ``vocab_size`` 51 289 is Florence-2's tokenizer; a model built with a tokenizer
trained here takes that tokenizer's size instead."""


def default_corpus() -> list[str]:
    """Caption words for the offline tokenizer: the template over the simulated objects' parts."""
    from realvlg.dexvlg.dataset import caption
    from realvlg.objects import OBJECTS

    lines = [caption(part, name, FINGERS)
             for name, spec in OBJECTS.items() for part in sorted({g.part for g in spec.geoms})]
    return lines + [" ".join(FINGERS) + " and grasp pick up hold the of object with contacts on part"]


def train_tokenizer(corpus: list[str], vocab_size: int = 512):
    """A byte-level BPE with BART's special tokens (``<s> … </s>`` around every text), trained
    offline on ``corpus``; any text still encodes (bytes are in the alphabet)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=True)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS),
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(corpus, trainer)
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>", special_tokens=[("<s>", 0), ("</s>", 2)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", pad_token="<pad>",
                                   unk_token="<unk>", mask_token="<mask>", padding_side="right")


def time_embedding(t: torch.Tensor, dim: int, min_period: float = 4e-3, max_period: float = 4.0) -> torch.Tensor:
    """Sine–cosine features ``(B, dim)`` of flow times ``t`` ``(B,)`` in [0, 1] (π0's periods)."""
    half = dim // 2
    fraction = torch.linspace(0.0, 1.0, half, device=t.device, dtype=t.dtype)
    periods = min_period * (max_period / min_period) ** fraction
    angles = t[:, None] * (2 * math.pi / periods)[None]
    return torch.cat([angles.sin(), angles.cos()], dim=-1)


class DexVLG(nn.Module):
    """The network (module docstring) and its tokenizer (``None``: a network only, e.g. to count
    parameters on the meta device)."""

    def __init__(self, config: DexVLGConfig, tokenizer=None):
        super().__init__()
        from transformers import AutoModel

        if tokenizer is not None and config.vocab_size != len(tokenizer):
            config = dataclasses.replace(config, vocab_size=len(tokenizer))
        self.config, self.tokenizer = config, tokenizer
        self.point_encoder = PointEncoder(config.n_groups, config.group_size, config.point_dim, config.point_depth,
                                          config.point_heads, config.patch_hidden)
        d = config.d_model
        self.projector = nn.Sequential(nn.Linear(config.point_dim, d), nn.GELU(), nn.Linear(d, d))
        self.language_model = AutoModel.from_config(config.text_config())
        self.pose_embed = nn.Linear(DEX_VECTOR_SIZE, d)
        self.pose_time_mlp = nn.Sequential(nn.Linear(2 * d, d), nn.SiLU(), nn.Linear(d, d))
        # the pose decoder reads the decoder's output beside the pose token itself (a skip that keeps x_t)
        self.pose_decoder = nn.Sequential(nn.Linear(2 * d, d), nn.GELU(), nn.Linear(d, DEX_VECTOR_SIZE))

    # --- inputs -------------------------------------------------------------------------------
    def tokenize(self, instructions: list[str]) -> dict[str, torch.Tensor]:
        texts = list(instructions) if self.config.language else [""] * len(instructions)
        batch = self.tokenizer(texts, padding=True, truncation=True, max_length=self.config.max_instruction_tokens,
                               return_tensors="pt")
        device = self.pose_embed.weight.device
        return {"input_ids": batch["input_ids"].to(device), "attention_mask": batch["attention_mask"].to(device)}

    def normalise_poses(self, vectors: torch.Tensor) -> torch.Tensor:
        """Grasp vectors ``(B, 31)`` (translation relative to the cloud centre) → network space."""
        mean, std = self._statistics(vectors)
        return (vectors - mean) / std

    def denormalise_poses(self, x: torch.Tensor) -> torch.Tensor:
        mean, std = self._statistics(x)
        return x * std + mean

    def _statistics(self, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c = self.config
        mean = [*c.translation_mean, *[0.0] * 6, *c.joints_mean]
        std = [*c.translation_std, *[1.0] * 6, *c.joints_std]
        return like.new_tensor(mean), like.new_tensor(std)

    # --- network ------------------------------------------------------------------------------
    def encode(self, clouds: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """Clouds ``(B, P, 6)`` (normalised xyz, rgb 0–1) + tokens → the language model's encoder
        hidden states ``(B, 1 + G + T, d)`` and their attention mask."""
        xyz = clouds[..., :3].contiguous()
        if clouds.shape[1] > self.config.n_points:
            index = farthest_point_sample(xyz, self.config.n_points)
            clouds = torch.gather(clouds, 1, index.unsqueeze(-1).expand(-1, -1, clouds.shape[-1]))
        clouds = torch.cat([clouds[..., :3], clouds[..., 3:] - 0.5], dim=-1)
        point_tokens = self.projector(self.point_encoder(clouds))
        words = self.language_model.get_input_embeddings()(input_ids)
        embeds = torch.cat([point_tokens, words], dim=1)
        mask = torch.cat([attention_mask.new_ones(point_tokens.shape[:2]), attention_mask], dim=1)
        hidden = self.language_model.encoder(inputs_embeds=embeds, attention_mask=mask).last_hidden_state
        return hidden, mask

    def velocity(self, x: torch.Tensor, t: torch.Tensor, hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The learnt flow ``v(x_t, t | H)`` ``(B, 31)`` for noisy normalised poses ``x`` and times ``t``."""
        token = self.pose_time_mlp(torch.cat([self.pose_embed(x), time_embedding(t, self.config.d_model)], -1))
        out = self.language_model.decoder(inputs_embeds=token.unsqueeze(1), encoder_hidden_states=hidden,
                                          encoder_attention_mask=mask, use_cache=False).last_hidden_state
        return self.pose_decoder(torch.cat([out[:, 0], token], dim=-1))

    def forward(self, clouds: torch.Tensor, instructions: list[str], targets: torch.Tensor) -> torch.Tensor:
        """The training loss (:meth:`flow_loss`), so that DDP/accelerate wrappers see a forward."""
        return self.flow_loss(clouds, instructions, targets)

    def flow_loss(self, clouds: torch.Tensor, instructions: list[str], targets: torch.Tensor,
                  generator: torch.Generator | None = None) -> torch.Tensor:
        """Eq. 5 with the linear path: MSE between ``v(X_t, t)`` and ``X1 − X0`` (``targets`` = X1,
        normalised ``(B, 31)``)."""
        hidden, mask = self.encode(clouds, **self.tokenize(instructions))
        noise = torch.randn(targets.shape, generator=generator, dtype=targets.dtype).to(targets.device)
        t = torch.rand(targets.shape[0], generator=generator, dtype=targets.dtype).to(targets.device)
        x_t = (1 - t[:, None]) * noise + t[:, None] * targets
        return ((self.velocity(x_t, t, hidden, mask) - (targets - noise)) ** 2).mean()

    # --- checkpoints --------------------------------------------------------------------------
    def save_pretrained(self, folder: str | pathlib.Path, manifest: dict | None = None) -> pathlib.Path:
        """Write weights, config, tokenizer and the registry manifest to ``folder``."""
        from safetensors.torch import save_model

        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        save_model(self, str(folder / WEIGHTS_FILE))
        (folder / CONFIG_FILE).write_text(json.dumps({"architecture": ARCHITECTURE, **self.config.to_dict()}, indent=1))
        self.tokenizer.save_pretrained(folder)
        document = manifest or registry_manifest(folder.name, self.config)
        (folder / LOCAL_MANIFEST).write_text(yaml.safe_dump(document, sort_keys=False))
        return folder

    @classmethod
    def from_pretrained(cls, name_or_path: str | pathlib.Path, device: str = "cpu") -> "DexVLG":
        """A checkpoint folder or a registry name (``realvlg.grounding.registry.resolve``)."""
        from safetensors.torch import load_model
        from transformers import PreTrainedTokenizerFast

        from realvlg.grounding import registry

        folder = registry.resolve(name_or_path)
        if not (folder / CONFIG_FILE).is_file() or not (folder / WEIGHTS_FILE).is_file():
            raise InvalidInputError(f"{folder} is not a DexVLG checkpoint (no {CONFIG_FILE} / {WEIGHTS_FILE})")
        data = json.loads((folder / CONFIG_FILE).read_text())
        if data.pop("architecture", None) != ARCHITECTURE:
            raise InvalidInputError(f"{folder} holds no {ARCHITECTURE} model")
        model = cls(DexVLGConfig.from_dict(data), PreTrainedTokenizerFast.from_pretrained(folder))
        load_model(model, str(folder / WEIGHTS_FILE), device=device)
        return model.to(device).eval()


def registry_manifest(name: str, config: DexVLGConfig, training: dict | None = None, title: str = "") -> dict:
    """The registry manifest of a DexVLG checkpoint (``source.hub: local``)."""
    from realvlg.grounding import registry

    document = {"name": name, "title": title or f"{name} (DexVLG {config.preset}, flow matching)",
                "architecture": ARCHITECTURE, "base_model": f"florence2-lm ({config.preset}, random init)",
                "source": {"hub": registry.LOCAL_HUB, "repo": "", "confirmed": False},
                "tasks": [TASK], "prompt_style": ARCHITECTURE, "license": "Apache-2.0"}
    if training:
        document["training"] = training
    document["created"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    return document


def build_model(config: DexVLGConfig | str = "tiny", corpus: list[str] | None = None, seed: int = 0,
                tokenizer=None) -> DexVLG:
    """A randomly initialised DexVLG of ``config`` (or a preset name) with a tokenizer trained on
    ``corpus`` (default :func:`default_corpus`) unless ``tokenizer`` is given."""
    if isinstance(config, str):
        if config not in PRESETS:
            raise InvalidInputError(f"unknown DexVLG preset {config!r}; known: {', '.join(PRESETS)}")
        config = dataclasses.replace(PRESETS[config])
    if tokenizer is None:
        tokenizer = train_tokenizer(list(corpus or default_corpus()), config.vocab_size or 512)
    torch.manual_seed(seed)
    return DexVLG(config, tokenizer)


def count_parameters(config: DexVLGConfig | str) -> dict[str, int]:
    """Parameters per component (point encoder, projector, language model, pose head) and in total,
    counted on the meta device (nothing is allocated)."""
    config = PRESETS[config] if isinstance(config, str) else config
    with torch.device("meta"):
        model = DexVLG(config)
    parts = {"point_encoder": model.point_encoder, "projector": model.projector,
             "language_model": model.language_model}
    counts = {name: sum(p.numel() for p in module.parameters()) for name, module in parts.items()}
    counts["pose_head"] = sum(p.numel() for m in (model.pose_embed, model.pose_time_mlp, model.pose_decoder)
                              for p in m.parameters())
    counts["total"] = sum(p.numel() for p in model.parameters())
    return counts


def load_florence2_language_model(model: DexVLG, florence2_path: str | pathlib.Path) -> None:
    """Copy the language model (BART encoder–decoder) of a local ``Florence2ForConditionalGeneration``
    checkpoint into ``model`` (sizes must match: build ``model`` with that checkpoint's tokenizer)."""
    from transformers import Florence2ForConditionalGeneration

    florence = Florence2ForConditionalGeneration.from_pretrained(florence2_path, use_safetensors=True)
    model.language_model.load_state_dict(florence.model.language_model.state_dict())


# --- inference ------------------------------------------------------------------------------------
def prepare_cloud(points, colors, config: DexVLGConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """A cloud ``(N, 3)`` m + colours ``(N, 3)`` 0–1 → the network's input ``(pool, 6)`` float32
    (``pool = pool_factor × n_points`` points drawn at random, xyz centred on their mean and divided by
    ``cloud_scale``) and the centre ``(3,)`` in the input frame."""
    points = np.asarray(points, dtype=np.float64)
    colors = np.asarray(colors, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 3 or colors.shape != points.shape:
        raise InvalidInputError(f"a cloud is (N, 3) points with (N, 3) colours, got {points.shape} and {colors.shape}")
    if len(points) < config.group_size:
        raise InvalidInputError(f"the cloud has {len(points)} points; DexVLG needs at least {config.group_size}")
    if not (np.isfinite(points).all() and np.isfinite(colors).all()):
        raise InvalidInputError("the cloud has non-finite points or colours")
    if colors.min() < 0 or colors.max() > 1:
        raise InvalidInputError("cloud colours are floats in [0, 1]")
    pool = config.pool_factor * config.n_points
    index = rng.choice(len(points), pool, replace=len(points) < pool)
    xyz, rgb = points[index], colors[index]
    centre = xyz.mean(axis=0)
    return np.concatenate([(xyz - centre) / config.cloud_scale, rgb], axis=1).astype(np.float32), centre


@torch.inference_mode()
def sample_grasps(model: DexVLG, points, colors, instruction: str, n: int = 16, steps: int = 10, seed: int = 0,
                  frame: str = "cloud") -> list[DexGrasp]:
    """``n`` grasps for ``instruction`` on the cloud (``points`` (N, 3) m in a z-up frame, ``colors``
    (N, 3) 0–1), integrating the flow from Gaussian noise with ``steps`` Euler steps; poses in the
    cloud's frame (named ``frame``), ``extras``: instruction and sample index."""
    if n < 1 or steps < 1:
        raise InvalidInputError(f"sample_grasps needs n ≥ 1 and steps ≥ 1, got n={n}, steps={steps}")
    model.eval()
    cloud, centre = prepare_cloud(points, colors, model.config, np.random.default_rng(seed))
    device = model.pose_embed.weight.device
    hidden, mask = model.encode(torch.from_numpy(cloud)[None].to(device), **model.tokenize([instruction]))
    hidden, mask = hidden.expand(n, -1, -1), mask.expand(n, -1)
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, DEX_VECTOR_SIZE, generator=generator).to(device)
    for k in range(steps):
        t = torch.full((n,), k / steps, device=device)
        x = x + model.velocity(x, t, hidden, mask) / steps
    vectors = model.denormalise_poses(x).double().cpu().numpy()
    vectors[:, :3] += centre
    return [DexGrasp.from_vector(v, frame=frame, extras={"instruction": instruction, "sample": i})
            for i, v in enumerate(vectors)]

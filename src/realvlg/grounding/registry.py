"""The model registry: one YAML manifest per published checkpoint in the package's ``models/``
(the repository's ``models/``, installed into ``share/realvlg/models``: :func:`realvlg.graph.data_root`).

A manifest names the checkpoint (``name``), where it is published (``source.hub`` =
``huggingface`` | ``modelscope``, ``source.repo``, ``source.confirmed``: False while the
repository name is not verified, ``source.published``: the page that names it), what it answers
(``tasks``), its prompt style and its coordinate convention with the resize limits
(:class:`~realvlg.grounding.coords.CoordinateConvention`).

The RealVLG-R1 authors publish three 3B checkpoints on ModelScope (the "Inference" section of the
README of github.com/lif314/RealVLG-R1): ``cslinfeili/RealVLG-R1_GSPO_Bbox_3B`` (bbox; seg = its
box, then SAM2), ``cslinfeili/RealVLG-R1_GRPO_Grasp_3B`` (grasp) and
``cslinfeili/RealVLG-R1_GRPO_Contact_3B`` (contact); no 7B checkpoint is published. A model is
found by its registry name or by its hub repository id (:func:`manifest`), so an OpenAI-compatible
server that serves a checkpoint under its ModelScope id gets the checkpoint's prompt and coordinates.

Names resolve to local folders under the models directory: ``$REALVLG_MODELS``, else
``~/.cache/realvlg/models`` (``<dir>/<name>``); a checkpoint shipped inside the repository
(``models/<name>/``, e.g. the embedded default model) is used when the models directory has none. Nothing is downloaded implicitly: only
:func:`pull` (``realvlg models pull NAME``) fetches, and then only safetensors, JSON, tokenizer
and template files — never pickle weights. It first checks that the hub answers within
``timeout`` seconds, so an offline machine gets a clear :class:`BackendError` at once.
"""

from __future__ import annotations

import os
import pathlib
from dataclasses import dataclass

import yaml

from realvlg.errors import InvalidInputError
from realvlg.graph import data_root
from realvlg.grounding.backend import TASKS, BackendError
from realvlg.grounding.coords import CoordinateConvention
from realvlg.grounding.vlm import ModelSettings

MANIFEST_DIR = data_root() / "models"   # the package's models/ (share directory, package data or checkout)
HUBS = {"huggingface": "https://huggingface.co", "modelscope": "https://modelscope.cn"}
# Checkpoints trained here (training/export.py) carry their manifest in their own folder.
LOCAL_HUB = "local"
LOCAL_MANIFEST = "realvlg-manifest.yaml"
# Checkpoints that are no image-grounding model (no coordinates block, their own tasks).
NON_GROUNDING_TASKS = {"dexvlg": ("dexgrasp",)}
NO_IMAGE_COORDINATES = {"convention": "absolute_original", "factor": 1, "min_pixels": 0, "max_pixels": 0}
ALLOW_PATTERNS = ["*.safetensors", "*.safetensors.index.json", "*.json", "*.jinja", "*.txt",
                  "tokenizer.model", "merges.txt", "vocab.json", "README.md"]


@dataclass(frozen=True)
class ModelManifest:
    name: str
    title: str
    architecture: str
    base_model: str
    hub: str
    repo: str
    repo_confirmed: bool
    tasks: tuple[str, ...]
    prompt_style: str
    convention: CoordinateConvention
    license: str = ""
    published: str = ""

    @classmethod
    def from_dict(cls, data: dict) -> "ModelManifest":
        coords = (data.get("coordinates") or NO_IMAGE_COORDINATES) if data["architecture"] in NON_GROUNDING_TASKS \
            else data["coordinates"]
        manifest = cls(
            name=data["name"], title=data["title"], architecture=data["architecture"],
            base_model=data.get("base_model", ""), hub=data["source"]["hub"],
            repo=data["source"]["repo"], repo_confirmed=bool(data["source"].get("confirmed", False)),
            tasks=tuple(data["tasks"]), prompt_style=data["prompt_style"],
            convention=CoordinateConvention(coords["convention"], coords.get("factor", 28),
                                            coords["min_pixels"], coords["max_pixels"]),
            license=str(data.get("license", "")), published=str(data["source"].get("published", "")))
        if manifest.hub not in HUBS and manifest.hub != LOCAL_HUB:
            raise InvalidInputError(f"manifest {manifest.name}: unknown hub {manifest.hub!r}")
        allowed = NON_GROUNDING_TASKS.get(manifest.architecture, TASKS)
        if not set(manifest.tasks) <= set(allowed):
            raise InvalidInputError(f"manifest {manifest.name}: tasks {manifest.tasks} not all in {allowed}")
        return manifest

    def settings(self, **overrides) -> ModelSettings:
        """The backend settings this checkpoint needs (decoding options may be overridden)."""
        return ModelSettings(prompt_style=self.prompt_style, convention=self.convention,
                             tasks=self.tasks, **overrides)

    def as_dict(self) -> dict:
        c = self.convention
        return {"name": self.name, "title": self.title, "architecture": self.architecture,
                "base_model": self.base_model, "hub": self.hub, "repo": self.repo,
                "repo_confirmed": self.repo_confirmed, "tasks": list(self.tasks),
                "prompt_style": self.prompt_style,
                "coordinates": {"convention": c.kind, "factor": c.factor, "min_pixels": c.min_pixels,
                                "max_pixels": c.max_pixels},
                "license": self.license, "published": self.published, "local_path": str(local_path(self.name)),
                "downloaded": is_downloaded(self.name)}


def models_dir() -> pathlib.Path:
    """Where checkpoints live: ``$REALVLG_MODELS`` or ``~/.cache/realvlg/models``."""
    return pathlib.Path(os.environ.get("REALVLG_MODELS", "~/.cache/realvlg/models")).expanduser()


def manifests(directory: pathlib.Path = MANIFEST_DIR) -> dict[str, ModelManifest]:
    """Every manifest in ``directory``, by name, then those of locally trained checkpoints
    (``<models dir>/<name>/realvlg-manifest.yaml``)."""
    found = {}
    local = [*sorted(MANIFEST_DIR.glob(f"*/{LOCAL_MANIFEST}")), *sorted(models_dir().glob(f"*/{LOCAL_MANIFEST}"))] \
        if directory == MANIFEST_DIR else []
    for path in [*sorted(directory.glob("*.yaml")), *local]:
        manifest = ModelManifest.from_dict(yaml.safe_load(path.read_text()))
        found[manifest.name] = manifest
    return found


def find(name_or_repo: str) -> ModelManifest | None:
    """The manifest of a registry name or of a hub repository id (``cslinfeili/RealVLG-R1_GRPO_Grasp_3B``),
    None when neither is known."""
    known = manifests()
    if name_or_repo in known:
        return known[name_or_repo]
    return next((m for m in known.values() if m.repo and m.repo == name_or_repo), None)


def manifest(name_or_repo: str) -> ModelManifest:
    """:func:`find`, or InvalidInputError naming the known models."""
    found = find(name_or_repo)
    if found is None:
        raise InvalidInputError(f"unknown model {name_or_repo!r}; known: {', '.join(sorted(manifests()))}")
    return found


def _has_checkpoint(folder: pathlib.Path) -> bool:
    return (folder / "config.json").is_file() and any(folder.glob("*.safetensors"))


def local_path(name: str) -> pathlib.Path:
    """``<models dir>/<name>``, or the repository's ``models/<name>`` when only that holds the checkpoint."""
    user, shipped = models_dir() / name, MANIFEST_DIR / name
    return shipped if not _has_checkpoint(user) and _has_checkpoint(shipped) else user


def is_downloaded(name: str) -> bool:
    return _has_checkpoint(local_path(name))


def resolve(name_or_path: str | os.PathLike) -> pathlib.Path:
    """A checkpoint folder: an existing directory as is, or a registry name's local folder."""
    path = pathlib.Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    entry = manifest(str(name_or_path))
    if not is_downloaded(entry.name):
        raise BackendError(f"model {entry.name!r} is not in {local_path(entry.name)}; "
                           f"download it with: realvlg models pull {entry.name}")
    return local_path(entry.name)


def pull(name: str, timeout: float = 10.0) -> pathlib.Path:
    """Download ``name`` into its local folder (safetensors and metadata only)."""
    entry = manifest(name)
    if not entry.repo_confirmed:
        raise BackendError(f"the {entry.hub} repository of {entry.name!r} ({entry.repo}) is not confirmed "
                           f"yet; download the checkpoint by hand into {local_path(entry.name)}")
    endpoint = os.environ.get("HF_ENDPOINT", HUBS["huggingface"]) if entry.hub == "huggingface" \
        else os.environ.get("MODELSCOPE_DOMAIN", HUBS["modelscope"])
    _check_reachable(endpoint, timeout)
    target = local_path(entry.name)
    try:
        if entry.hub == "huggingface":
            from huggingface_hub import snapshot_download

            snapshot_download(entry.repo, local_dir=target, allow_patterns=ALLOW_PATTERNS)
        else:
            try:
                from modelscope import snapshot_download as modelscope_download
            except ImportError as exc:
                raise BackendError("pulling from ModelScope needs the `modelscope` package "
                                   "(pip install modelscope)") from exc
            modelscope_download(entry.repo, local_dir=str(target), allow_patterns=ALLOW_PATTERNS)
    except BackendError:
        raise
    except Exception as exc:  # hub clients raise many types; the sentence is what matters
        raise BackendError(f"downloading {entry.repo} from {entry.hub} failed: {exc}") from exc
    if not is_downloaded(entry.name):
        raise BackendError(f"{entry.repo} holds no safetensors weights; realvlg loads safetensors only")
    return target


def _check_reachable(endpoint: str, timeout: float) -> None:
    import httpx2

    try:
        httpx2.head(endpoint, timeout=timeout, follow_redirects=True)
    except httpx2.HTTPError as exc:
        raise BackendError(f"cannot reach {endpoint} within {timeout:g} s ({type(exc).__name__}: {exc}); "
                           "this machine may be offline — copy the checkpoint into "
                           f"{models_dir()} instead") from exc

"""The DexVLG grasp dataset on disk (written by :mod:`realvlg.dexvlg.datagen`, read by training).

Layout (``FORMAT_VERSION`` 1)::

    <root>/meta.json        {"generator": "realvlg.dexvlg.datagen", "version": 1, "seed": int, "hand": "shadow",
                             "joints": SHADOW_JOINTS, "objects": [names], "counts": {"attempted", "valid",
                             "rejected": {check: n}, "per_part": {"object/part": {"attempted", "valid"}}}, ...}
    <root>/objects/<object>.npz   points (N,3) float32 [m], normals (N,3) float32, colors (N,3) float32 0–1,
                                  part_ids (N,) int16, part_names (P,) str — object frame (z up, origin at
                                  the footprint centre)
    <root>/grasps.jsonl     one valid grasp per line: {"id", "object", "part", "fingers": [in FINGERS order],
                             "caption", "position": [3], "quaternion_xyzw": [4], "joints": [22] (SHADOW_JOINTS
                             order), "checks": {"penetration_mm", "self_penetration_mm", "stable_directions",
                             "max_displacement_mm", ...}}

Poses are the palm frame (``robot0:palm``) in the object frame.

Caption (DexGraspNet 3.0's template): ``Grasp the {part} of the {object} object, with contacts on
{fingers}``, the fingers in :data:`FINGERS` order joined as an English list without the serial
comma: ``thumb``, ``thumb and index``, ``thumb, index and middle`` (:func:`caption`).

Split (:func:`split_grasps`): the objects in :data:`TEST_OBJECTS` are held out entirely
(``test_unseen``); of the others, a grasp whose sha1(id) falls in the lowest ``test_fraction``
of the hash range goes to ``test_seen``, the rest to ``train`` — deterministic and stable as the
dataset grows.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.dexvlg.objects import ObjectCloud
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import DexGrasp
from realvlg.shadow_hand import FINGERS, SHADOW_JOINTS

FORMAT_VERSION = 1
GENERATOR = "realvlg.dexvlg.datagen"
TEST_OBJECTS = ("pear", "screwdriver")
"""Objects held out of training (a fruit and a tool whose kin — apple/orange, marker — stay in)."""
CAPTION_TEMPLATE = "Grasp the {part} of the {object} object, with contacts on {fingers}"
RECORD_KEYS = ("id", "object", "part", "fingers", "caption", "position", "quaternion_xyzw", "joints", "checks")


def finger_list(fingers) -> str:
    """``["thumb", "index", "middle"]`` → ``"thumb, index and middle"`` (FINGERS order)."""
    unknown = set(fingers) - set(FINGERS)
    if unknown or not fingers:
        raise InvalidInputError(f"fingers must be a non-empty subset of {FINGERS}, got {list(fingers)}")
    names = [f for f in FINGERS if f in fingers]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def caption(part: str, object: str, fingers) -> str:
    """The grasp's caption (module docstring)."""
    return CAPTION_TEMPLATE.format(part=part, object=object, fingers=finger_list(fingers))


def grasp_record(grasp_id: str, object: str, part: str, fingers, grasp: DexGrasp, checks: dict) -> dict:
    """One line of grasps.jsonl (fingers sorted into FINGERS order, caption filled in)."""
    fingers = [f for f in FINGERS if f in fingers]
    return {"id": grasp_id, "object": object, "part": part, "fingers": fingers,
            "caption": caption(part, object, fingers), "position": [round(float(v), 6) for v in grasp.position],
            "quaternion_xyzw": [round(float(v), 7) for v in grasp.rotation.as_quat()],
            "joints": [round(float(v), 5) for v in grasp.joints], "checks": checks}


def record_grasp(record: dict) -> DexGrasp:
    """A record → :class:`DexGrasp` (object frame; object, part, fingers, caption in extras)."""
    return DexGrasp(record["position"], Rotation.from_quat(record["quaternion_xyzw"]), record["joints"], "object",
                    {k: record[k] for k in ("id", "object", "part", "fingers", "caption")})


def save_object_cloud(path: str | os.PathLike, cloud: ObjectCloud) -> None:
    np.savez_compressed(path, points=cloud.points.astype(np.float32), normals=cloud.normals.astype(np.float32),
                        colors=cloud.colors.astype(np.float32), part_ids=cloud.part_ids.astype(np.int16),
                        part_names=np.array(cloud.part_names, dtype=str))


def load_object_cloud(path: str | os.PathLike) -> ObjectCloud:
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in ("points", "normals", "colors", "part_ids", "part_names")}
    except (OSError, ValueError, KeyError) as exc:
        raise InvalidInputError(f"{path}: not an object cloud npz ({exc})") from exc
    return ObjectCloud(arrays["points"].astype(np.float32), arrays["normals"].astype(np.float32),
                       arrays["colors"].astype(np.float32), arrays["part_ids"].astype(np.int16),
                       tuple(str(p) for p in arrays["part_names"]))


def write_meta(root: str | os.PathLike, meta: dict) -> None:
    """meta.json, replaced atomically (the generator rewrites it after every unit of work)."""
    path = pathlib.Path(root) / "meta.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(meta, indent=1))
    os.replace(tmp, path)


def append_records(root: str | os.PathLike, records: list[dict]) -> None:
    with open(pathlib.Path(root) / "grasps.jsonl", "a") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


def _validate_record(r, where: str, objects: dict[str, ObjectCloud]) -> dict:
    if not isinstance(r, dict) or set(RECORD_KEYS) - set(r):
        missing = sorted(set(RECORD_KEYS) - set(r)) if isinstance(r, dict) else RECORD_KEYS
        raise InvalidInputError(f"{where}: a grasp record needs {list(RECORD_KEYS)}; missing {list(missing)}")
    if r["object"] not in objects:
        raise InvalidInputError(f"{where}: object {r['object']!r} has no objects/{r['object']}.npz")
    if r["part"] not in objects[r["object"]].part_names:
        raise InvalidInputError(f"{where}: {r['object']} has no part {r['part']!r}")
    for key, n in (("position", 3), ("quaternion_xyzw", 4), ("joints", len(SHADOW_JOINTS))):
        v = np.asarray(r[key], dtype=float) if isinstance(r[key], list) else None
        if v is None or v.shape != (n,) or not np.isfinite(v).all():
            raise InvalidInputError(f"{where}: {key} must be {n} finite numbers")
    if abs(np.linalg.norm(r["quaternion_xyzw"]) - 1) > 1e-3:
        raise InvalidInputError(f"{where}: quaternion_xyzw is not a unit quaternion")
    if r["caption"] != caption(r["part"], r["object"], r["fingers"]):
        raise InvalidInputError(f"{where}: caption {r['caption']!r} does not match part, object and fingers")
    return r


def load_dataset(root: str | os.PathLike) -> tuple[dict, dict[str, ObjectCloud], list[dict]]:
    """``(meta, objects, grasps)``: meta.json, object name → :class:`ObjectCloud`, the grasp records
    (dicts as in the module docstring; :func:`record_grasp` makes a DexGrasp of one). Every file is
    validated; anything malformed raises :class:`InvalidInputError` naming the file and line."""
    root = pathlib.Path(root)
    meta_path = root / "meta.json"
    if not meta_path.is_file():
        raise InvalidInputError(f"{root} is not a DexVLG grasp dataset (no meta.json); generate one with `realvlg dex-datagen`")
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as exc:
        raise InvalidInputError(f"{meta_path}: invalid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("generator") != GENERATOR or meta.get("version") != FORMAT_VERSION:
        raise InvalidInputError(f"{meta_path}: expected generator {GENERATOR!r} version {FORMAT_VERSION}")
    if meta.get("hand") != "shadow" or tuple(meta.get("joints", ())) != SHADOW_JOINTS:
        raise InvalidInputError(f"{meta_path}: expected the Shadow Hand with joints {SHADOW_JOINTS}")
    objects = {name: load_object_cloud(root / "objects" / f"{name}.npz") for name in meta.get("objects", [])}
    grasps_path = root / "grasps.jsonl"
    grasps = []
    if grasps_path.is_file():
        with open(grasps_path) as f:
            for i, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    r = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise InvalidInputError(f"{grasps_path}:{i}: invalid JSON ({exc})") from exc
                grasps.append(_validate_record(r, f"{grasps_path}:{i}", objects))
    return meta, objects, grasps


def load_datasets(roots) -> tuple[list[dict], dict[str, ObjectCloud], list[dict]]:
    """:func:`load_dataset` of one root or of several (e.g. generator runs on different objects,
    run side by side): ``(metas, objects, grasps)`` merged. Poses are in the object frame, which
    every run shares, so an object in several roots keeps the first root's cloud. A unit generated
    in two runs with the same seed gives the same records: an identical repeat is kept once, a grasp
    id with two different records raises :class:`InvalidInputError`."""
    roots = [roots] if isinstance(roots, (str, os.PathLike)) else list(roots)
    if not roots:
        raise InvalidInputError("no grasp dataset given")
    metas, objects, grasps, seen = [], {}, [], {}
    for root in roots:
        meta, objs, records = load_dataset(root)
        metas.append(meta)
        for name, cloud in objs.items():
            objects.setdefault(name, cloud)
        for r in records:
            if r["id"] in seen:
                first_root, first = seen[r["id"]]
                if first != r:
                    raise InvalidInputError(f"grasp {r['id']!r} differs between {first_root} and {root}")
                continue
            seen[r["id"]] = root, r
            grasps.append(r)
    return metas, objects, grasps


def split_of(record: dict, test_objects=TEST_OBJECTS, test_fraction: float = 0.1) -> str:
    """``"train"``, ``"test_seen"`` or ``"test_unseen"`` for one record (module docstring)."""
    if record["object"] in test_objects:
        return "test_unseen"
    h = int.from_bytes(hashlib.sha1(record["id"].encode()).digest()[:8], "big") / 2**64
    return "test_seen" if h < test_fraction else "train"


def split_grasps(grasps: list[dict], test_objects=TEST_OBJECTS, test_fraction: float = 0.1) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {"train": [], "test_seen": [], "test_unseen": []}
    for r in grasps:
        out[split_of(r, test_objects, test_fraction)].append(r)
    return out

"""``realvlg datagen``: simulated training and test data for the embedded model.

Scenes come from the simulation world (:mod:`realvlg.sim`): the same MJCF, lights and wrist camera as
``sim_node``, built offline (:meth:`FR3World.build`: no libfranka server, no physics thread) and
posed directly (:meth:`FR3World.pose`). Per scene:

* objects: one (``single``) or 2–10 (``clutter``) of the ten simulated objects, placed by
  :func:`realvlg.sim.scenes.generate_scene` (non-overlapping footprints in the camera's view);
* appearance: each object in one of its colour variants (:data:`vocabulary.COLOR_VARIANTS`, the
  simulator's own colour half of the time) with ±``color_jitter`` per channel; the lights' intensity
  scaled by U(1 − ``light_jitter``, 1 + ``light_jitter``);
* viewpoints: view 0 at the observation pose (where ``/grasp`` captures), the others at wrist poses
  around it — the hand moved by up to ``view_shift`` metres, tilted by up to ``view_tilt`` and
  turned about its axis by up to ``view_yaw`` — that the FR3 reaches (:func:`solve_ik`); the arm is
  posed at the IK solution, so the camera is where the robot would hold it.

Per view and visible object: the box and mask (from the segmentation), and its grasps: for every
part with a ground-truth grasp (:class:`realvlg.objects.PartGrasp`) the candidates — round
parts every 30° about the vertical, elongated parts also slid ±1.5 cm along the part — that keep
the palm clear of taller neighbours and the fingers clear of every neighbour's footprint,
projected into the image as contact pairs and rectangles (jaw = the finger width at the grasp's
depth). Instructions come from :func:`realvlg.embedded.instructions.generate_instructions`.

Output (the format of ``docs/embedded.md``; RealVLG-11B records so ``realvlg eval`` reads them)::

    <root>/meta.json
    <root>/scenes/scene_NNNNNN/VV.json, VV_rgb.png, VV_depth.png (uint16 mm), VV_seg.png, VV_mask_<object>.png
    <root>/annotations/{train,seen,similar,novel,paraphrase}.json

Scene numbers decide the split (``meta.json["splits"]``): train, then *seen* (the training
distribution), *similar* (objects in held-out colours) and *novel* (held-out instruction
combinations). *paraphrase* has no scenes of its own: it asks about the *seen* views in held-out
phrasing families (and held-out uses), so its figures beside *seen* measure the phrasing alone.
Rendering is resumable: a view whose JSON exists is not rendered again (the JSON is
written last); the annotations are rebuilt from the view files at the end, deterministically.
"""

from __future__ import annotations

import json
import math
import multiprocessing
import pathlib
from dataclasses import asdict, dataclass

import numpy as np
import shapely

from realvlg.errors import InvalidInputError

GENERATOR_VERSION = 2  # 2: phrasing families, uses, typos; the paraphrase split
SPLITS = ("train", "seen", "similar", "novel")  # rendered scene ranges, in order
PARAPHRASE_OF = {"paraphrase": "seen"}  # annotation-only split → the split whose views it describes
MIN_VISIBLE_PIXELS = 12
FINGER_WIDTH = 0.02          # m, across the jaw (the backend draws its rectangles with the same jaw)
FINGER_DEPTH = 0.015         # m, past each contact along the closing direction (finger + clearance)
PALM_CLEARANCE = 0.004       # m a candidate's palm keeps from taller neighbours
FINGER_CLEARANCE = 0.0       # m a candidate's fingers keep from every neighbour (0: must not overlap)
ROUND_STEP_DEG = 30
SLIDE = 0.015                # m along an elongated part


@dataclass(frozen=True)
class DatagenConfig:
    root: str = "data/embedded"
    seed: int = 0
    train_scenes: int = 1500
    test_scenes: int = 60                 # per test split
    views_per_scene: int = 3
    width: int = 320
    height: int = 180
    clutter_fraction: float = 0.65        # of scenes; the rest are single-object scenes
    full_clutter_fraction: float = 0.4    # of clutter scenes: all ten objects (the closed-loop setting)
    default_color_fraction: float = 0.5   # objects in the simulator's own colour
    color_jitter: float = 0.05
    light_jitter: float = 0.3
    view_shift: tuple[float, float, float] = (0.06, 0.08, 0.06)   # m, hand x, y, z
    view_tilt: float = math.radians(10)
    view_yaw: float = math.radians(8)     # small: "left of" is the robot's left, which the image shows
    per_target: int = 3                   # instructions per visible object
    absent: int = 2                       # instructions per view naming nothing present
    workers: int = 1

    def __post_init__(self) -> None:
        if self.train_scenes < 1 or self.test_scenes < 0 or self.views_per_scene < 1:
            raise InvalidInputError("datagen needs ≥ 1 training scene, ≥ 0 test scenes, ≥ 1 view per scene")
        if self.width % 16 or self.height % 4:
            raise InvalidInputError(f"image size {self.width}x{self.height}: width must be a multiple of 16")

    @property
    def split_ranges(self) -> dict[str, range]:
        out, start = {}, 0
        for split in SPLITS:
            n = self.train_scenes if split == "train" else self.test_scenes
            out[split] = range(start, start + n)
            start += n
        return out

    @property
    def split_string(self) -> str:
        return ",".join(f"{k}={r.start}-{r.stop - 1}" for k, r in self.split_ranges.items() if len(r))

    def split_of(self, scene: int) -> str:
        return next(k for k, r in self.split_ranges.items() if scene in r)


# -- grasp labels -------------------------------------------------------------------------------
def grasp_candidates(name: str, T_base_object: np.ndarray, neighbours: dict[str, np.ndarray]) -> dict[str, list]:
    """Collision-free top-down grasps of object ``name`` per part: ``{part: [(centre (3,), closing
    (3,), width), …]}`` in the base frame (see the module docstring for the candidates and checks)."""
    from realvlg.objects import (
        OBJECTS,
        PALM_ABOVE_TCP,
        footprint_at,
        palm_footprint,
        tall_obstacles,
    )

    spec = OBJECTS[name]
    R, t = T_base_object[:3, :3], T_base_object[:3, 3]
    all_feet = [footprint_at(n, T) for n, T in neighbours.items()]
    out: dict[str, list] = {}
    for g in spec.grasps:
        centre, closing = np.asarray(g.center, dtype=float), np.asarray(g.closing, dtype=float)
        if g.round:
            yaws = np.radians(np.arange(0, 180, ROUND_STEP_DEG))
            local = [(centre, np.array([math.cos(a), math.sin(a), 0.0])) for a in yaws]
        else:
            along = np.cross((0.0, 0.0, 1.0), closing)
            pts = np.concatenate([_geom_hull(spec, i) for i in spec.parts[g.part]])
            reach = np.abs((pts - centre) @ along).max() - 0.01
            local = [(centre + s * along, closing) for s in (-SLIDE, 0.0, SLIDE) if abs(s) <= reach]
        palm_obstacles = tall_obstacles(t[2] + R[2] @ centre + PALM_ABOVE_TCP, neighbours)
        kept = []
        for c, u in local:
            position, direction = R @ c + t, R @ u
            palm = palm_footprint(position, direction)
            if any(palm.distance(o) < PALM_CLEARANCE for o in palm_obstacles):
                continue
            if any(f.distance(o) <= FINGER_CLEARANCE for f in _finger_footprints(position, direction, g.width)
                   for o in all_feet):
                continue
            kept.append((position, direction, g.width))
        if kept:
            out[g.part] = kept
    return out


def _geom_hull(spec, index: int) -> np.ndarray:
    from realvlg.objects import _geom_corners

    g = spec.geoms[index]
    return _geom_corners(g, spec.meshes) @ g.matrix.T + np.asarray(g.pos)


def _finger_footprints(position: np.ndarray, closing: np.ndarray, width: float) -> list[shapely.Polygon]:
    u = closing[:2] / np.linalg.norm(closing[:2])
    n = np.array([-u[1], u[0]])
    feet = []
    for side in (-1.0, 1.0):
        inner = position[:2] + side * u * width / 2
        outer = inner + side * u * FINGER_DEPTH
        feet.append(shapely.Polygon([inner - n * FINGER_WIDTH / 2, outer - n * FINGER_WIDTH / 2,
                                     outer + n * FINGER_WIDTH / 2, inner + n * FINGER_WIDTH / 2]))
    return feet


def project_grasps(grasps: list, T_base_camera: np.ndarray, intrinsics) -> tuple[list, list]:
    """Base-frame grasps ``(centre, closing, width)`` → image contact pairs ``[x1, y1, x2, y2]`` and
    rectangles ``[x0, y0, …, x3, y3]`` (jaw = :data:`FINGER_WIDTH` at the grasp's depth), keeping
    those wholly inside the image."""
    from realvlg.geometry.grasps import ContactPair
    from realvlg.geometry.projection import project_points

    camera_from_base = np.linalg.inv(T_base_camera)
    contacts, rects = [], []
    for position, closing, width in grasps:
        ends = position + np.outer([-0.5, 0.5], closing) * width
        cam = ends @ camera_from_base[:3, :3].T + camera_from_base[:3, 3]
        if not (cam[:, 2] > 0).all():
            continue
        uv = project_points(cam, intrinsics)
        if not intrinsics.contains(uv[:, 0], uv[:, 1]).all():
            continue
        pair = ContactPair(*uv[0], *uv[1])
        if pair.length < 1.0:
            continue
        jaw = intrinsics.fx * FINGER_WIDTH / float(cam[:, 2].mean())
        contacts.append([round(float(v), 2) for v in uv.ravel()])
        rects.append([round(float(v), 2) for v in pair.to_rect(jaw).corners().ravel()])
    return contacts, rects


# -- rendering ----------------------------------------------------------------------------------
class _Renderer:
    """One offline world holding every object (unused ones parked out of view)."""

    def __init__(self, config: DatagenConfig) -> None:
        from realvlg.objects import OBJECTS
        from realvlg.sim.common import CameraConfig
        from realvlg.sim.fr3_world import FR3World, FR3WorldConfig, park_placement

        self.config = config
        camera = CameraConfig(config.width, config.height)
        self.world = FR3World([park_placement(n) for n in OBJECTS], FR3WorldConfig(camera=camera)).build()
        self.base_diffuse = self.world.model.light_diffuse.copy()
        self.base_rgba = self.world.model.geom_rgba.copy()

    def scene(self, index: int):
        """(placements, colour word per object, rng) of scene ``index``."""
        from realvlg.embedded.vocabulary import sample_color
        from realvlg.objects import OBJECTS
        from realvlg.sim.scenes import generate_scene

        cfg = self.config
        rng = np.random.default_rng([cfg.seed, index])
        split = cfg.split_of(index)
        if rng.random() < cfg.clutter_fraction:
            names = list(OBJECTS)
            if rng.random() >= cfg.full_clutter_fraction:
                names = sorted(rng.choice(names, size=int(rng.integers(2, len(names))), replace=False).tolist())
            for _ in range(10):  # a few seeds cannot fit all ten objects: draw another layout
                try:
                    scene = generate_scene("clutter", int(rng.integers(2**31)), objects=names)
                    break
                except InvalidInputError:
                    continue
            else:
                raise InvalidInputError(f"scene {index}: no layout of {', '.join(names)} found")
        else:
            scene = generate_scene("single", int(rng.integers(2**31)), objects=[str(rng.choice(list(OBJECTS)))])
        colors = {p.name: sample_color(p.name, rng, split, cfg.default_color_fraction) for p in scene.placements}
        return scene.placements, colors, rng

    def view_pose(self, rng: np.random.Generator, view: int) -> np.ndarray:
        """Arm joints for view ``view`` (0: the observation pose)."""
        from scipy.spatial.transform import Rotation

        from realvlg.robots.franka.config_franka import FR3_HOME_Q
        from realvlg.robots.franka.kinematics import IK_STARTS, solve_ik
        from realvlg.sim.fr3_world import OBSERVATION_EE

        if view == 0:
            return np.asarray(FR3_HOME_Q)
        cfg = self.config
        for _ in range(20):
            target = OBSERVATION_EE.copy()
            target[:3, 3] += rng.uniform(-1, 1, 3) * np.asarray(cfg.view_shift)
            tilt = rng.uniform(-1, 1, 2) * cfg.view_tilt
            turn = Rotation.from_euler("xyz", [tilt[0], tilt[1], rng.uniform(-1, 1) * cfg.view_yaw])
            target[:3, :3] = OBSERVATION_EE[:3, :3] @ turn.as_matrix()
            q, ok = solve_ik(target[None], starts=np.vstack([FR3_HOME_Q, IK_STARTS]))
            if ok[0]:
                return q[0]
        return np.asarray(FR3_HOME_Q)

    def appearance(self, colors: dict[str, str], rng: np.random.Generator) -> None:
        from realvlg.embedded.vocabulary import COLOR_VARIANTS, RECOLOR_PARTS

        m, cfg = self.world.model, self.config
        m.geom_rgba[:] = self.base_rgba
        for name, word in colors.items():
            rgb = np.clip(np.asarray(COLOR_VARIANTS[name][word]) + rng.uniform(-1, 1, 3) * cfg.color_jitter, 0, 1)
            for part in RECOLOR_PARTS[name]:
                m.geom_rgba[self.world.labeller.part_geoms(name, part), :3] = rgb
        scale = rng.uniform(1 - cfg.light_jitter, 1 + cfg.light_jitter, (len(self.base_diffuse), 1))
        m.light_diffuse[:] = np.clip(self.base_diffuse * scale, 0, 1)

    def render_scene(self, index: int, root: pathlib.Path) -> int:
        """Render every missing view of scene ``index``; the number rendered."""
        from realvlg.objects import OBJECTS

        placements, colors, rng = self.scene(index)
        folder = root / "scenes" / f"scene_{index:06d}"
        folder.mkdir(parents=True, exist_ok=True)
        rendered = 0
        for view in range(self.config.views_per_scene):
            # drawn for every view, rendered or not, so a resumed run renders what a whole run would
            q = self.view_pose(rng, view)
            self.appearance(colors, rng)
            if (folder / f"{view:02d}.json").exists():
                continue
            self.world.pose(placements, q)
            obs = self.world.render()
            all_poses = self.world.object_poses()
            poses = {p.name: all_poses[p.name] for p in placements}
            objects = []
            for p in placements:
                mask = obs.labels.object_mask(p.name)
                if np.count_nonzero(mask) < MIN_VISIBLE_PIXELS:
                    continue
                ys, xs = np.nonzero(mask)
                neighbours = {n: T for n, T in poses.items() if n != p.name}
                parts = {}
                for part, grasps in grasp_candidates(p.name, poses[p.name], neighbours).items():
                    contacts, rects = project_grasps(grasps, obs.base_from_camera.matrix, obs.intrinsics)
                    if contacts:
                        parts[part] = {"contact_points": contacts, "grasps": rects}
                objects.append({
                    "name": p.name, "color": colors[p.name], "position": poses[p.name][:3, 3].round(4).tolist(),
                    "yaw": round(p.yaw, 4), "pixels": len(xs),
                    "bbox": [float(xs.min()) - 0.5, float(ys.min()) - 0.5, float(xs.max()) + 0.5, float(ys.max()) + 0.5],
                    "mask_path": f"{folder.name}/{view:02d}_mask_{p.name}.png",
                    "default_part": OBJECTS[p.name].default_grasp_part,
                    "parts": parts})
            _write_view(folder, view, obs, objects, q)
            rendered += 1
        return rendered


def _write_view(folder: pathlib.Path, view: int, obs, objects: list[dict], q: np.ndarray) -> None:
    from PIL import Image

    stem = f"{view:02d}"
    Image.fromarray(obs.color).save(folder / f"{stem}_rgb.png")
    depth_mm = np.clip(np.round(obs.depth * 1000.0), 0, 65535).astype(np.uint16)
    Image.fromarray(depth_mm).save(folder / f"{stem}_depth.png")
    seg = np.zeros(obs.depth.shape, np.uint8)
    for i, o in enumerate(objects):
        mask = obs.labels.object_mask(o["name"])
        seg[mask] = i + 1
        Image.fromarray(mask.astype(np.uint8) * 255).save(folder / f"{stem}_mask_{o['name']}.png")
    Image.fromarray(seg).save(folder / f"{stem}_seg.png")
    truth = {"objects": objects, "q": np.round(q, 5).tolist(), "T_base_camera": np.round(obs.base_from_camera.matrix, 6).tolist(),
             "intrinsics": obs.intrinsics.to_dict()}
    tmp = folder / f".{stem}.json.tmp"
    tmp.write_text(json.dumps(truth), encoding="utf-8")
    tmp.replace(folder / f"{stem}.json")


# -- annotations --------------------------------------------------------------------------------
def view_records(config: DatagenConfig, scene: int, view: int, truth: dict, split: str | None = None) -> list[dict]:
    """The RealVLG-11B records (one per instruction) of one rendered view, in the instructions of
    its scene's split or of ``split`` (e.g. "paraphrase" for a *seen* view)."""
    from realvlg.embedded.instructions import SceneObject, generate_instructions

    split = split or config.split_of(scene)
    objects = {o["name"]: o for o in truth["objects"]}
    scene_objects = [SceneObject(o["name"], o["color"], tuple(o["position"]), tuple(o["parts"]))
                     for o in truth["objects"]]
    rng = np.random.default_rng([config.seed, scene, view, 2 if split in PARAPHRASE_OF else 1])
    instructions = generate_instructions(scene_objects, rng, split=split, per_target=config.per_target,
                                         absent=config.absent)
    folder, stem = f"scenes/scene_{scene:06d}", f"{view:02d}"
    base = {"image_name": f"scene_{scene:06d}/{stem}", "image_path": f"{folder}/{stem}_rgb.png",
            "depth_path": f"{folder}/{stem}_depth.png", "seg_path": f"{folder}/{stem}_seg.png"}
    counts: dict[str, int] = {}
    records = []
    for ins in instructions:
        key = ins.target or "none"
        k = counts[key] = counts.get(key, -1) + 1
        record = {**base, "object_id": f"{key}/{k}", "description": ins.text, "label": ins.target or "",
                  "part": ins.part, "kind": ins.kind, "mask_path": "", "bbox": None, "grasps": [], "contact_points": []}
        if ins.target is not None:
            o = objects[ins.target]
            part = ins.part or o["default_part"]
            grasps = o["parts"].get(part, {"grasps": [], "contact_points": []})
            record.update(part=part, mask_path=f"scenes/{o['mask_path']}", bbox=o["bbox"],
                          grasps=grasps["grasps"], contact_points=grasps["contact_points"])
        records.append(record)
    return records


def write_annotations(config: DatagenConfig, root: pathlib.Path) -> dict[str, int]:
    """Rebuild ``annotations/<split>.json`` from the rendered views; records per split."""
    counts = {}
    (root / "annotations").mkdir(parents=True, exist_ok=True)
    ranges = config.split_ranges
    for split, scenes in [*ranges.items(), *((k, ranges[v]) for k, v in PARAPHRASE_OF.items())]:
        records = []
        for scene in scenes:
            for view in range(config.views_per_scene):
                path = root / "scenes" / f"scene_{scene:06d}" / f"{view:02d}.json"
                if path.exists():
                    records += view_records(config, scene, view, json.loads(path.read_text(encoding="utf-8")), split)
        (root / "annotations" / f"{split}.json").write_text(json.dumps(records), encoding="utf-8")
        counts[split] = len(records)
    return counts


# -- the job ------------------------------------------------------------------------------------
_worker: _Renderer | None = None


def _init_worker(config: DatagenConfig) -> None:
    global _worker
    _worker = _Renderer(config)


def _render_one(args) -> int:
    scene, root = args
    return _worker.render_scene(scene, pathlib.Path(root))


def generate(config: DatagenConfig, progress: bool = True) -> dict:
    """Render every missing view, write the annotations and ``meta.json``; the meta dict."""
    from tqdm import tqdm

    root = pathlib.Path(config.root)
    root.mkdir(parents=True, exist_ok=True)
    meta_path = root / "meta.json"
    settings = {k: v for k, v in asdict(config).items() if k not in ("root", "workers")}
    if meta_path.exists():
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        if old.get("config") != json.loads(json.dumps(settings)) or old.get("version") != GENERATOR_VERSION:
            raise InvalidInputError(f"{root} holds data from other settings or generator version; "
                                    "use another --out or delete it")
    else:
        meta_path.write_text(json.dumps({"generator": "realvlg.embedded.datagen", "version": GENERATOR_VERSION,
                                         "seed": config.seed, "config": settings, "complete": False}, indent=1))
    scenes = [s for r in config.split_ranges.values() for s in r]
    todo = [(s, str(root)) for s in scenes
            if not (root / "scenes" / f"scene_{s:06d}" / f"{config.views_per_scene - 1:02d}.json").exists()]
    bar = tqdm(total=len(scenes) * config.views_per_scene, initial=(len(scenes) - len(todo)) * config.views_per_scene,
               unit="view", desc="datagen", disable=not progress)
    if config.workers > 1 and todo:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(config.workers, initializer=_init_worker, initargs=(config,)) as pool:
            for _ in pool.imap_unordered(_render_one, todo, chunksize=4):
                bar.update(config.views_per_scene)
    elif todo:
        _init_worker(config)
        for item in todo:
            _render_one(item)
            bar.update(config.views_per_scene)
    bar.close()
    counts = write_annotations(config, root)
    from realvlg.sim.common import CameraConfig

    meta = {"generator": "realvlg.embedded.datagen", "version": GENERATOR_VERSION, "seed": config.seed,
            "config": settings, "complete": True, "image_size": [config.width, config.height],
            "intrinsics": CameraConfig(config.width, config.height).intrinsics().to_dict(),
            "splits": config.split_string, "views": len(scenes) * config.views_per_scene, "records": counts}
    meta_path.write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return meta

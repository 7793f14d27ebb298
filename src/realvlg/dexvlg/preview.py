"""Contact sheets (``realvlg dex-datagen --preview sheet.png``): grasps rendered in MuJoCo — the
floating Shadow Hand at the grasp, the object at the origin of its frame, as the generator validated
them — each labelled with its object/part and the fingers in contact. :func:`contact_sheet` shows a
grasp dataset, :func:`predicted_sheet` what a trained DexVLG predicts for every part."""

from __future__ import annotations

import contextlib
import pathlib
from collections import defaultdict

import numpy as np

from realvlg.errors import InvalidInputError

TILE = 240


def pick_grasps(grasps: list[dict], n: int) -> list[dict]:
    """Up to ``n`` grasps, round robin over the (object, part) pairs in dataset order, so that
    every pair shows before any shows twice."""
    by_part: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for g in grasps:
        by_part[g["object"], g["part"]].append(g)
    picked, depth = [], 0
    while len(picked) < n and any(depth < len(v) for v in by_part.values()):
        picked += [v[depth] for v in by_part.values() if depth < len(v)][: n - len(picked)]
        depth += 1
    return picked


def render_grasp(validator, renderer, grasp) -> np.ndarray:
    """RGB image of ``grasp`` (a :class:`~realvlg.geometry.grasps.DexGrasp` in the object frame) on
    ``validator``'s model (a :class:`~realvlg.dexvlg.datagen.GraspValidator` of the object) by
    ``renderer`` (a ``mujoco.Renderer`` of that model), seen along the hand's knuckle line (the
    fingers' closing plane in profile), from above."""
    import mujoco

    m, d = validator.model, validator.data
    mujoco.mj_resetData(m, d)
    validator.hand.set_state(grasp, d)
    mujoco.mj_forward(m, d)
    camera = mujoco.MjvCamera()
    camera.lookat[:] = d.xpos[validator.object_body] + (0.0, 0.0, 0.03)
    knuckles = grasp.rotation.as_matrix()[:, 0]  # palm x: along the knuckles, towards the index
    # look towards the index, i.e. from the little-finger side
    camera.azimuth = float(np.degrees(np.arctan2(knuckles[1], knuckles[0])))
    camera.elevation = -30.0
    camera.distance = 0.45
    renderer.update_scene(d, camera=camera)
    return renderer.render().copy()


def contact_sheet(roots, out: str | pathlib.Path, n: int = 12, columns: int = 4, size: int = TILE) -> pathlib.Path:
    """Render up to ``n`` grasps of the dataset(s) at ``roots`` (:func:`pick_grasps`) into one PNG."""

    from realvlg.dexvlg.dataset import load_datasets, record_grasp

    _, _, grasps = load_datasets(roots)
    picked = pick_grasps(grasps, n)
    if not picked:
        raise InvalidInputError(f"{roots}: the dataset has no grasps to preview")
    tiles = [(r["object"], record_grasp(r), f"{r['object']}/{r['part']}", ", ".join(r["fingers"])) for r in picked]
    return _sheet(tiles, out, columns, size)


def predicted_sheet(model, out: str | pathlib.Path, objects=(), fingers=("thumb", "index", "middle"),
                    samples: int = 16, steps: int = 10, seed: int = 0, columns: int = 6,
                    size: int = TILE) -> pathlib.Path:
    """One tile per visible part of each object (all of :data:`realvlg.objects.OBJECTS` when
    ``objects`` is empty): ``model`` (a :class:`~realvlg.dexvlg.model.DexVLG`) samples ``samples``
    grasps on the object's cloud seen from a fixed viewpoint (azimuth 0, elevation 45°, 0.6 m) for
    the caption of that part with contacts on ``fingers``; the tile shows the sample with the most
    fingers on the part (the paper's §6.2 test: < 1 cm and closer to it than to any other part;
    ties: the first), labelled with the fingers on the part."""
    from realvlg.dexvlg.datagen import _parts
    from realvlg.dexvlg.dataset import caption
    from realvlg.dexvlg.hand import ShadowHand
    from realvlg.dexvlg.model import sample_grasps
    from realvlg.dexvlg.objects import object_cloud
    from realvlg.dexvlg.scoring import finger_part_contacts
    from realvlg.objects import OBJECTS
    from realvlg.shadow_hand import FINGERS

    hand = ShadowHand()
    tiles = []
    for name in objects or OBJECTS:
        cloud = object_cloud(name, 4096, seed)
        seen = _seen_from_above(cloud.points)
        for part in _parts(cloud):
            text = caption(part, name, fingers) if model.config.language else ""
            grasps = sample_grasps(model, cloud.points[seen], cloud.colors[seen], text, samples, steps, seed,
                                   frame="object")
            counts = []
            for g in grasps:
                pts = hand.finger_points(g)
                on = finger_part_contacts(np.stack([pts[f] for f in FINGERS]), cloud.points, cloud.part_ids,
                                          cloud.part_names.index(part))
                counts.append([f for f, c in zip(FINGERS, on) if c])
            best = max(range(len(grasps)), key=lambda i: len(counts[i]))
            tiles.append((name, grasps[best], f"{name}/{part}", "on the part: " + (", ".join(counts[best]) or "none")))
    return _sheet(tiles, out, columns, size)


def _seen_from_above(points: np.ndarray) -> np.ndarray:
    """Indices of the points an RGB-D camera 0.6 m away at a 45° look-down (azimuth 0) sees."""
    import open3d as o3d

    centre = points.mean(axis=0)
    camera = centre + 0.6 * np.array([np.cos(np.pi / 4), 0.0, np.sin(np.pi / 4)])
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, dtype=np.float64)))
    _, index = cloud.hidden_point_removal(camera, 60.0)
    return np.asarray(index, dtype=int)


def _sheet(tiles: list[tuple], out: str | pathlib.Path, columns: int, size: int) -> pathlib.Path:
    """Render ``tiles`` ((object, grasp, label, sublabel)) into a PNG of ``columns`` tiles a row."""
    import mujoco
    from PIL import Image, ImageDraw

    from realvlg.dexvlg.datagen import GraspValidator
    from realvlg.dexvlg.hand import ShadowHand

    hand = ShadowHand()
    rows = -(-len(tiles) // columns)
    sheet = Image.new("RGB", (columns * size, rows * (size + 28)), "white")
    draw = ImageDraw.Draw(sheet)
    with contextlib.ExitStack() as stack:
        views = {}  # object → (validator, renderer): one model and one renderer per object
        for k, (name, grasp, label, sublabel) in enumerate(tiles):
            if name not in views:
                validator = GraspValidator(name, hand)
                views[name] = validator, stack.enter_context(mujoco.Renderer(validator.model, size, size))
            x, y = (k % columns) * size, (k // columns) * (size + 28)
            sheet.paste(Image.fromarray(render_grasp(*views[name], grasp)), (x, y))
            draw.text((x + 4, y + size + 2), label, fill="black")
            draw.text((x + 4, y + size + 14), sublabel, fill="dimgray")
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out

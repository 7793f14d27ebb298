"""Contact sheet of a grasp dataset (``realvlg dex-datagen --preview sheet.png``): grasps rendered in
MuJoCo — the floating Shadow Hand at the grasp, the object at the origin of its frame, as the
generator validated them — each labelled with its object/part and the fingers in contact."""

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


def render_grasp(validator, renderer, record: dict) -> np.ndarray:
    """RGB image of ``record`` on ``validator``'s model (a
    :class:`~realvlg.dexvlg.datagen.GraspValidator` of the record's object) by ``renderer`` (a
    ``mujoco.Renderer`` of that model), seen along the hand's knuckle line (the fingers' closing
    plane in profile), from above."""
    import mujoco

    from realvlg.dexvlg.dataset import record_grasp

    grasp = record_grasp(record)
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
    import mujoco
    from PIL import Image, ImageDraw

    from realvlg.dexvlg.datagen import GraspValidator
    from realvlg.dexvlg.dataset import load_datasets
    from realvlg.dexvlg.hand import ShadowHand

    _, _, grasps = load_datasets(roots)
    picked = pick_grasps(grasps, n)
    if not picked:
        raise InvalidInputError(f"{roots}: the dataset has no grasps to preview")
    hand = ShadowHand()
    rows = -(-len(picked) // columns)
    sheet = Image.new("RGB", (columns * size, rows * (size + 28)), "white")
    draw = ImageDraw.Draw(sheet)
    with contextlib.ExitStack() as stack:
        views = {}  # object → (validator, renderer): one model and one renderer per object
        for k, record in enumerate(picked):
            name = record["object"]
            if name not in views:
                validator = GraspValidator(name, hand)
                views[name] = validator, stack.enter_context(mujoco.Renderer(validator.model, size, size))
            x, y = (k % columns) * size, (k // columns) * (size + 28)
            sheet.paste(Image.fromarray(render_grasp(*views[name], record)), (x, y))
            draw.text((x + 4, y + size + 2), f"{name}/{record['part']}", fill="black")
            draw.text((x + 4, y + size + 14), ", ".join(record["fingers"]), fill="dimgray")
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(out)
    return out

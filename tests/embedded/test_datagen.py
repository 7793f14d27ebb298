"""The embedded model's data generator: grasp labels, projection, and a small real run."""

import json
import math
import pathlib
import re

import numpy as np
import pytest

pytest.importorskip("franky_sim", reason="franky-sim not installed (pip install -e '.[sim]')")

from PIL import Image

from realvlg.data.realvlg11b import load_annotations, parse_splits
from realvlg.embedded.datagen import (
    FINGER_WIDTH,
    DatagenConfig,
    generate,
    grasp_candidates,
    project_grasps,
)
from realvlg.embedded.vocabulary import CLOSERS, HELD_OUT_TEMPLATES, OPENERS
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import RectGrasp
from realvlg.objects import OBJECTS, PALM_ABOVE_TCP, footprint_at, palm_footprint
from realvlg.sim.common import CameraConfig
from realvlg.sim.fr3_world import OBSERVATION_CAMERA


def pose(x, y, yaw=0.0):
    T = np.eye(4)
    T[:2, :2] = [[math.cos(yaw), -math.sin(yaw)], [math.sin(yaw), math.cos(yaw)]]
    T[:2, 3] = x, y
    return T


def test_round_part_alone_gets_every_closing_direction():
    grasps = grasp_candidates("orange", pose(0.45, 0.0), {})
    assert list(grasps) == ["body"]
    closings = np.array([c for _, c, _ in grasps["body"]])
    assert len(closings) == 6
    angles = np.degrees(np.arctan2(closings[:, 1], closings[:, 0])) % 180
    np.testing.assert_allclose(np.sort(angles), np.arange(0, 180, 30), atol=1e-6)


def test_tall_neighbour_removes_the_grasps_whose_palm_would_hit_it():
    neighbours = {"bottle": pose(0.45, 0.075)}  # 19 cm tall, 7.5 cm to the orange's left
    grasps = grasp_candidates("orange", pose(0.45, 0.0), neighbours)["body"]
    assert 0 < len(grasps) < 6
    bottle = footprint_at("bottle", neighbours["bottle"])
    for position, closing, _ in grasps:
        assert palm_footprint(position, closing).distance(bottle) > 0
    # what was dropped really collides
    kept = {round(math.degrees(math.atan2(c[1], c[0])) % 180) for _, c, _ in grasps}
    for angle in set(range(0, 180, 30)) - kept:
        c = np.array([math.cos(math.radians(angle)), math.sin(math.radians(angle)), 0.0])
        assert palm_footprint(grasps[0][0], c).distance(bottle) < 0.01
    assert grasps[0][0][2] + PALM_ABOVE_TCP < OBJECTS["bottle"].height


def test_elongated_part_slides_along_itself_but_the_mug_handle_does_not():
    screwdriver = grasp_candidates("screwdriver", pose(0.45, 0.0), {})["handle"]
    assert len(screwdriver) == 3
    centres = np.array([p for p, _, _ in screwdriver])
    assert np.ptp(centres[:, 0]) == pytest.approx(0.03, abs=1e-9) and np.ptp(centres[:, 1]) < 1e-9
    assert len(grasp_candidates("mug", pose(0.45, 0.0), {})["handle"]) == 1


def test_projection_puts_the_contacts_where_the_camera_sees_them():
    intrinsics = CameraConfig(320, 180).intrinsics()
    # a grasp straight below the observation camera, 0.5 m away, closing along base y
    grasp = (np.array([0.465, 0.0, 0.035]), np.array([0.0, 1.0, 0.0]), 0.04)
    contacts, rects = project_grasps([grasp], OBSERVATION_CAMERA, intrinsics)
    (x1, y1, x2, y2), = contacts
    half = intrinsics.fx * 0.02 / 0.5
    # image right = base −y: the +y end lies left of the centre
    assert (x1, y1) == pytest.approx((intrinsics.cx + half, intrinsics.cy), abs=0.01)
    assert (x2, y2) == pytest.approx((intrinsics.cx - half, intrinsics.cy), abs=0.01)
    rect = RectGrasp.from_corners(rects[0])
    assert rect.jaw == pytest.approx(intrinsics.fx * FINGER_WIDTH / 0.5, rel=1e-3)
    assert rect.width == pytest.approx(2 * half, abs=0.02)
    # a grasp outside the field of view is dropped
    far = (np.array([0.465, 0.6, 0.03]), np.array([0.0, 1.0, 0.0]), 0.04)
    assert project_grasps([far], OBSERVATION_CAMERA, intrinsics) == ([], [])


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("embedded-data")
    config = DatagenConfig(root=str(root), seed=3, train_scenes=3, test_scenes=1, views_per_scene=2)
    return config, generate(config, progress=False)


def test_a_small_run_writes_the_documented_format(dataset):
    config, meta = dataset
    root = pathlib.Path(config.root)
    assert meta["complete"] and meta["views"] == 12 and meta["image_size"] == [320, 180]
    splits = parse_splits(meta["splits"])
    assert list(splits) == ["train", "seen", "similar", "novel"]
    samples = load_annotations(root / "annotations" / "train.json", splits)
    assert samples and {s.split for s in samples} == {"train"}
    records = json.loads((root / "annotations" / "train.json").read_text())
    kinds = {r["kind"] for r in records}
    assert "absent" in kinds and "category" in kinds
    for r in records:
        depth = np.asarray(Image.open(root / r["depth_path"]))
        assert depth.dtype == np.uint16 and depth.shape == (180, 320)
        if not r["label"]:
            assert r["bbox"] is None and not r["grasps"] and not r["mask_path"]
            continue
        mask = np.asarray(Image.open(root / r["mask_path"])) > 0
        ys, xs = np.nonzero(mask)
        assert r["bbox"] == [xs.min() - 0.5, ys.min() - 0.5, xs.max() + 0.5, ys.max() + 0.5]
        assert 0.3 < depth[mask].mean() / 1000 < 0.7  # the table is 0.45–0.6 m below the wrist camera
        seg = np.asarray(Image.open(root / r["seg_path"]))
        assert np.array_equal(seg[mask] > 0, np.ones(mask.sum(), bool))
        for polygon, contact in zip(r["grasps"], r["contact_points"]):
            rect = RectGrasp.from_corners(polygon)
            # the grasp centre lies on the target (or within a pixel of its outline)
            cx, cy = int(round(rect.x)), int(round(rect.y))
            assert mask[max(cy - 1, 0):cy + 2, max(cx - 1, 0):cx + 2].any(), r
            np.testing.assert_allclose(np.ravel(rect.contacts().points), contact, atol=0.05)


def test_the_paraphrase_split_asks_about_the_seen_views_in_held_out_phrasings(dataset):
    config, meta = dataset
    annotations = pathlib.Path(config.root) / "annotations"
    seen = json.loads((annotations / "seen.json").read_text())
    paraphrase = json.loads((annotations / "paraphrase.json").read_text())
    assert meta["records"]["paraphrase"] == len(paraphrase) > 0
    assert {r["image_path"] for r in paraphrase} == {r["image_path"] for r in seen}
    assert {(r["image_path"], r["label"]) for r in paraphrase if r["label"]} \
        == {(r["image_path"], r["label"]) for r in seen if r["label"]}
    opener = "(" + "|".join(map(re.escape, OPENERS)) + ")?"
    closer = "(" + "|".join(map(re.escape, CLOSERS)) + ")?"
    templates = [re.compile(opener + re.escape(t).replace(re.escape("{ref}"), ".+") + closer + r"[.!]?$", re.IGNORECASE)
                 for t in HELD_OUT_TEMPLATES]
    typed = [r["description"] for r in paraphrase]
    assert sum(any(t.match(d) for t in templates) for d in typed) >= 0.85 * len(typed)  # all but typos
    assert not {r["description"] for r in seen} & set(typed)


def test_rerun_renders_nothing_and_other_settings_are_refused(dataset):
    config, meta = dataset
    root = pathlib.Path(config.root)
    stamp = (root / "scenes" / "scene_000000" / "00_rgb.png").stat().st_mtime_ns
    again = generate(config, progress=False)
    assert again["records"] == meta["records"]
    assert (root / "scenes" / "scene_000000" / "00_rgb.png").stat().st_mtime_ns == stamp
    with pytest.raises(InvalidInputError, match="other settings"):
        generate(DatagenConfig(root=config.root, seed=4, train_scenes=3, test_scenes=1, views_per_scene=2),
                 progress=False)

"""The grasp generator: a small real run on the orange (tripods, validation, the arm), the tripod
posture and its closing, validation failures, resuming."""

import contextlib
import dataclasses
import importlib.util
import json
import pathlib
import shutil

import numpy as np
import pytest

pytest.importorskip("mujoco")
if importlib.util.find_spec("gymnasium_robotics") is None:
    pytest.skip("gymnasium-robotics (the Shadow Hand MJCF) is not installed", allow_module_level=True)

from realvlg.cli import main
from realvlg.dexvlg.datagen import (
    ARM_YAWS,
    CHECKS,
    PENETRATION_TOL,
    TRIPOD_APERTURES,
    DexDatagenConfig,
    GraspValidator,
    TripodCloser,
    _Pads,
    generate,
    tripod_candidates,
    tripod_joints,
)
from realvlg.dexvlg.dataset import load_dataset, record_grasp
from realvlg.dexvlg.hand import ShadowHand
from realvlg.dexvlg.objects import ObjectSDF, object_cloud
from realvlg.dexvlg.preview import TILE, contact_sheet, pick_grasps
from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.frames import UR_BASE_FRAME
from realvlg.geometry.grasps import DexGrasp
from realvlg.robots.ur10e_shadow.model import TableCollision
from realvlg.shadow_hand import PADS
from realvlg.sim.dex_arm_check import UR10eArmCheck

# A seed and size for which this small batch yields valid grasps (the generator is deterministic).
CONFIG = DexDatagenConfig(seed=0, objects=("orange",), parts=("orange/body",), batch_size=8, max_batches_per_part=2,
                          target_per_part=2, cloud_points=1024, arm="lift")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("dexdata")
    config = dataclasses.replace(CONFIG, root=str(root))
    return config, generate(config, progress=False, arm_check=UR10eArmCheck)


@pytest.fixture(scope="module")
def validator():
    return GraspValidator("orange")


def shifted(grasp: DexGrasp, along_palm_y: float) -> DexGrasp:
    """The grasp moved along the palm's y axis (−y faces the object)."""
    return DexGrasp(grasp.position + along_palm_y * grasp.rotation.as_matrix()[:, 1], grasp.rotation, grasp.joints)


def test_generated_grasps_pass_validation_and_lift_with_the_arm(run, validator):
    config, meta = run
    counts = meta["counts"]
    # the first batch reaches target_per_part: the second is marked done without work
    assert counts["attempted"] == config.batch_size and counts["valid"] >= config.target_per_part
    assert counts["valid"] + sum(counts["rejected"].values()) == counts["attempted"]
    assert set(counts["rejected"]) == set(CHECKS) and counts["rejected"]["reach"] >= 1
    assert meta["done"] == ["orange/body/0", "orange/body/1"] and counts["cpu_s"] > 0
    _, objects, grasps = load_dataset(config.root)
    assert len(grasps) == counts["valid"] and objects["orange"].points.shape == (1024, 3)
    for record in grasps:
        assert record["part"] == "body" and record["checks"]["stable_directions"] == 6
        assert record["id"].startswith("orange-body-s0-0000-")  # the seed in the id: seeds train together
        assert record["checks"]["penetration_mm"] <= 1000 * PENETRATION_TOL
        result = validator.validate(record_grasp(record), "body")  # the stored (rounded) grasp still passes
        assert result.ok, result
        assert result.fingers == record["fingers"] and len(record["fingers"]) >= 2
        assert record["checks"]["arm_yaws"] >= config.min_arm_yaws and record["checks"]["lift_mm"] >= 30


def test_tripod_posture_opens_to_its_aperture():
    hand = ShadowHand()
    pads = _Pads(hand)
    gaps = np.linalg.norm(pads.fingers - pads.thumb, axis=1)
    assert np.abs(gaps - TRIPOD_APERTURES)[3:].max() < 0.003  # the fit; below 3 cm the pads touch first
    assert np.all(np.diff(gaps) > 0)
    mid = tripod_joints(0.045)
    assert np.allclose(mid, (tripod_joints(0.04) + tripod_joints(0.05)) / 2)
    assert set(PADS) == {"thumb", "index", "middle"}
    # the executor measures the same aperture on the robot's MuJoCo model (its pinch pre-shape)
    robot = TableCollision()
    assert np.allclose([robot.thumb_aperture(tripod_joints(a)) for a in TRIPOD_APERTURES], gaps, atol=1e-6)


def test_a_thin_part_lifts_with_the_pinch_pre_shape_and_not_without(tmp_path):
    config = DexDatagenConfig(root=str(tmp_path), seed=0, objects=("razor",), parts=("razor/handle",), batch_size=8,
                              max_batches_per_part=1, target_per_part=8, cloud_points=1024, arm="lift")
    generate(config, progress=False, arm_check=UR10eArmCheck)
    _, _, grasps = load_dataset(config.root)
    assert grasps, "no razor handle grasp lifted"
    check = UR10eArmCheck("razor")
    world, executor = check.world, check.executor
    for record in grasps:
        grasp = record_grasp(record)
        assert record["checks"]["lift_mm"] >= 30 and executor.planner.is_pinch(grasp.joints)
    grasp = record_grasp(grasps[0])
    lifted = {}
    for pinch_aperture in (executor.config.pinch_aperture, 0.01):  # 1 cm: no grasp is a pinch
        executor.planner.config = dataclasses.replace(executor.config, pinch_aperture=pinch_aperture)
        lifted[pinch_aperture] = 0
        for yaw in ARM_YAWS:
            world.reset([check._placement(yaw)])
            with contextlib.suppress(GraspRefusedError):
                executor.grasp(grasp.transformed(world.object_pose("razor"), UR_BASE_FRAME))
                lifted[pinch_aperture] += world.lift_check("razor").success
    assert lifted[executor.config.pinch_aperture] >= 1 and lifted[0.01] == 0, lifted


def test_tripods_close_onto_the_part():
    hand, sdf, cloud = ShadowHand(), ObjectSDF("marker"), object_cloud("marker", 1024, 0)
    palms, joints, axes = tripod_candidates(cloud, sdf, "body", 6, np.random.default_rng(0), _Pads(hand))
    assert len(palms) == 6
    # the closing axis crosses the marker horizontally-ish, thumb side first
    assert np.all(np.abs(axes[:, 2]) <= 0.6) and np.allclose(np.linalg.norm(axes, axis=1), 1)
    closed_palms, closed, ok = TripodCloser(hand).close(sdf, "body", palms, joints, axes)
    assert ok.any()
    import torch

    for i in np.flatnonzero(ok):
        points = hand.points_torch(hand.fk(torch.as_tensor(closed_palms[i:i + 1]), torch.as_tensor(closed[i:i + 1])))[0]
        clearance = torch.minimum(sdf(points), points[:, 2])
        assert clearance.min() > -0.003  # nothing deep in the marker or the table
        index = [k for k, f in enumerate(hand.point_finger) if f == "index"]
        assert clearance[index].min() < 0.002  # the index finger closed onto the marker
        # the index moved along the path from the opened posture towards the closed one (FFJ2, FFJ1)
        start, end = joints[i, 1:3], tripod_joints(0.0)[1:3]
        fraction = (closed[i, 1:3] - start) / (end - start)
        assert 0 < fraction[0] <= 1 and abs(fraction[0] - fraction[1]) < 1e-3

def test_penetrating_and_mid_air_grasps_fail(run, validator):
    config, _ = run
    grasp = record_grasp(load_dataset(config.root)[2][0])
    pushed = validator.validate(shifted(grasp, -0.02), "body")  # 2 cm into the orange
    assert not pushed.ok and pushed.reason == "penetration"
    away = shifted(grasp, 0.15)  # 15 cm back: holds nothing
    stable, worst = validator.stability(away)
    assert stable == 0 and worst > 1.0  # the object falls in every direction
    assert validator.validate(away, "body").reason == "fingers"


def test_part_alignment_rejects_contacts_on_another_part():
    bottle = GraspValidator("bottle")
    on_body = [(0, np.array([0.03, 0.0, 0.06]))]  # (hand geom, closest object point)
    assert bottle.contact_parts_ok(on_body, "body")
    assert not bottle.contact_parts_ok(on_body, "cap")
    assert not bottle.contact_parts_ok(on_body + [(1, np.array([0.0, 0.0, 0.2]))], "body")  # one on the cap


def test_resume_skips_finished_units_and_drops_cut_off_ones(run):
    config, meta = run
    path = pathlib.Path(config.root) / "grasps.jsonl"
    before = path.read_text()
    record = json.loads(before.splitlines()[0])
    record["id"] = "orange-body-s0-0007-00"  # a unit meta.json does not list as finished
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
    again = generate(config, progress=False, arm_check=UR10eArmCheck)
    assert again["counts"] == meta["counts"]
    assert path.read_text() == before
    with pytest.raises(InvalidInputError, match="other settings"):
        generate(dataclasses.replace(config, arm="reach"), progress=False, arm_check=UR10eArmCheck)


def test_cli_rejects_bad_input(tmp_path, capsys):
    assert main(["dex-datagen", "--out", str(tmp_path), "--objects", "teapot", "--no-progress"]) == 2
    assert "unknown objects" in capsys.readouterr().err
    assert main(["dex-datagen", "--out", str(tmp_path / "b"), "--objects", "mug", "--parts", "mug/spout",
                 "--no-progress"]) == 2
    assert "no part" in capsys.readouterr().err


def test_preview_renders_the_generated_grasps(run, tmp_path):
    from PIL import Image

    config, meta = run
    out = tmp_path / "sheet.png"
    assert main(["dex-datagen", "--out", config.root, "--preview", str(out), "--preview-count", "2"]) == 0
    sheet = np.asarray(Image.open(out).convert("RGB"))
    tiles = min(2, meta["counts"]["valid"])
    assert sheet.shape[1] == 4 * TILE and sheet.shape[0] == TILE + 28
    for k in range(tiles):  # each tile shows the hand and the orange on the black background
        assert sheet[:TILE, k * TILE:(k + 1) * TILE].max(-1).mean() > 10
    assert sheet[:TILE, 3 * TILE:].max() == 255  # the unused tile stays white
    empty = tmp_path / "empty"
    shutil.copytree(config.root, empty, ignore=shutil.ignore_patterns("grasps.jsonl"))
    with pytest.raises(InvalidInputError, match="no grasps"):
        contact_sheet(empty, tmp_path / "x.png")


def test_pick_grasps_goes_round_robin_over_parts():
    records = [{"object": o, "part": p, "id": i} for i, (o, p) in
               enumerate([("mug", "body")] * 3 + [("mug", "handle")] + [("orange", "body")] * 2)]
    assert [r["id"] for r in pick_grasps(records, 4)] == [0, 3, 4, 1]
    assert len(pick_grasps(records, 10)) == 6 and pick_grasps([], 3) == []


def test_predicted_sheet_shows_one_tile_per_part(tmp_path, monkeypatch):
    from PIL import Image

    from realvlg.dexvlg.model import build_model

    build_model("tiny", seed=1).save_pretrained(tmp_path / "models" / "tiny")
    monkeypatch.setenv("REALVLG_MODELS", str(tmp_path / "models"))
    out = tmp_path / "predicted.png"
    assert main(["dex-datagen", "--objects", "apple,orange", "--preview", str(out), "--preview-model", "tiny"]) == 0
    sheet = np.asarray(Image.open(out).convert("RGB"))
    assert sheet.shape[:2] == (TILE + 28, 6 * TILE)  # apple body, apple stem, orange body: one row of six
    for k in range(3):
        assert sheet[:TILE, k * TILE:(k + 1) * TILE].max(-1).mean() > 10  # a rendered scene, not the white page
    assert sheet[:TILE, 3 * TILE:].min() == 255

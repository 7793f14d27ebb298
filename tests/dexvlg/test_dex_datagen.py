"""The grasp generator: a small real run on the bottle's body, validation failures, resuming."""

import dataclasses
import importlib.util
import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

pytest.importorskip("mujoco")
if importlib.util.find_spec("gymnasium_robotics") is None:
    pytest.skip("gymnasium-robotics (the Shadow Hand MJCF) is not installed", allow_module_level=True)

from realvlg.cli import main  # noqa: E402
from realvlg.dexvlg.datagen import (CHECKS, PENETRATION_TOL, DexDatagenConfig, GraspValidator,  # noqa: E402
                                    generate)
from realvlg.dexvlg.dataset import load_dataset, record_grasp  # noqa: E402
from realvlg.dexvlg.grasp import DexGrasp  # noqa: E402
from realvlg.errors import InvalidInputError  # noqa: E402

# A seed and size for which this small batch yields valid grasps (the generator is deterministic).
CONFIG = DexDatagenConfig(seed=3, objects=("bottle",), parts=("bottle/body",), batches_per_part=1, batch_size=8,
                          steps=200, cloud_points=1024)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("dexdata")
    config = dataclasses.replace(CONFIG, root=str(root))
    return config, generate(config, progress=False)


@pytest.fixture(scope="module")
def validator():
    return GraspValidator("bottle")


def shifted(grasp: DexGrasp, along_palm_y: float) -> DexGrasp:
    """The grasp moved along the palm's y axis (−y faces the object)."""
    return DexGrasp(grasp.position + along_palm_y * grasp.rotation.as_matrix()[:, 1], grasp.rotation, grasp.joints)


def test_generated_grasps_pass_validation(run, validator):
    config, meta = run
    counts = meta["counts"]
    assert counts["attempted"] == config.batch_size
    assert counts["valid"] >= 1
    assert counts["valid"] + sum(counts["rejected"].values()) == counts["attempted"]
    assert set(counts["rejected"]) == set(CHECKS)
    assert meta["done"] == ["bottle/body/0"]
    loaded_meta, objects, grasps = load_dataset(config.root)
    assert len(grasps) == counts["valid"] and objects["bottle"].points.shape == (1024, 3)
    for record in grasps:
        assert record["part"] == "body" and record["checks"]["stable_directions"] == 6
        assert record["checks"]["penetration_mm"] <= 1000 * PENETRATION_TOL
        result = validator.validate(record_grasp(record), "body")  # the stored (rounded) grasp still passes
        assert result.ok, result
        assert result.fingers == record["fingers"] and len(record["fingers"]) >= 2


def test_penetrating_and_mid_air_grasps_fail(run, validator):
    config, _ = run
    grasp = record_grasp(load_dataset(config.root)[2][0])
    pushed = validator.validate(shifted(grasp, -0.02), "body")  # 2 cm into the bottle
    assert not pushed.ok and pushed.reason == "penetration"
    away = shifted(grasp, 0.15)  # 15 cm back: holds nothing
    stable, worst = validator.stability(away)
    assert stable == 0 and worst > 1.0  # the object falls in every direction
    assert validator.validate(away, "body").reason == "fingers"


def test_part_alignment_rejects_contacts_on_another_part(validator):
    # The same hand on the mug's handle region would be off-part; here: a bottle grasp checked
    # against the cap, whose contacts all lie on the body.
    pts = [(0, np.array([0.03, 0.0, 0.06]))]
    assert validator.contact_parts_ok(pts, "body")
    assert not validator.contact_parts_ok(pts, "cap")


def test_resume_skips_finished_units_and_drops_cut_off_ones(run):
    config, meta = run
    path = f"{config.root}/grasps.jsonl"
    before = open(path).read()
    record = json.loads(before.splitlines()[0])
    record["id"] = "bottle-body-0007-00"  # a unit meta.json does not list as finished
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")
    again = generate(config, progress=False)
    assert again["counts"] == meta["counts"]
    assert open(path).read() == before
    with pytest.raises(InvalidInputError, match="other settings"):
        generate(dataclasses.replace(config, steps=config.steps + 1), progress=False)


def test_cli_rejects_bad_input(tmp_path, capsys):
    assert main(["dex-datagen", "--out", str(tmp_path), "--objects", "teapot", "--no-progress"]) == 2
    assert "unknown objects" in capsys.readouterr().err
    assert main(["dex-datagen", "--out", str(tmp_path / "b"), "--objects", "mug", "--parts", "mug/spout",
                 "--no-progress"]) == 2
    assert "no part" in capsys.readouterr().err

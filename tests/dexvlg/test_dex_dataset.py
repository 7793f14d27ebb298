"""The grasp dataset format: captions, writer/loader round trip, validation, split."""

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.dexvlg import dataset as ds
from realvlg.dexvlg.objects import object_cloud
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import DexGrasp
from realvlg.shadow_hand import SHADOW_JOINTS


def test_caption_template():
    assert ds.caption("body", "mug", ["thumb"]) == "Grasp the body of the mug object, with contacts on thumb"
    assert ds.caption("cap", "bottle", ["index", "thumb"]) == \
        "Grasp the cap of the bottle object, with contacts on thumb and index"
    assert ds.caption("handle", "mug", ["little", "thumb", "middle", "index"]) == \
        "Grasp the handle of the mug object, with contacts on thumb, index, middle and little"
    with pytest.raises(InvalidInputError):
        ds.caption("body", "mug", ["pinky"])
    with pytest.raises(InvalidInputError):
        ds.caption("body", "mug", [])


def make_dataset(root, grasps=3, obj="mug"):
    """A dataset of ``grasps`` random (not physically checked) grasps of ``obj``'s body."""
    (root / "objects").mkdir(parents=True)
    ds.save_object_cloud(root / "objects" / f"{obj}.npz", object_cloud(obj, 256, 0))
    ds.write_meta(root, {"generator": ds.GENERATOR, "version": ds.FORMAT_VERSION, "seed": 0, "hand": "shadow",
                         "joints": list(SHADOW_JOINTS), "objects": [obj], "counts": {"attempted": 9, "valid": grasps}})
    rng = np.random.default_rng(0)
    records = [ds.grasp_record(f"{obj}-body-0000-{i:02d}", obj, "body", ["index", "thumb"],
                               DexGrasp(rng.normal(size=3) * 0.1, Rotation.random(random_state=i), rng.uniform(0, 1, 22)),
                               {"penetration_mm": 0.5, "stable_directions": 6}) for i in range(grasps)]
    ds.append_records(root, records)
    return records


def test_round_trip(tmp_path):
    records = make_dataset(tmp_path)
    meta, objects, grasps = ds.load_dataset(tmp_path)
    assert meta["counts"]["valid"] == 3 and list(objects) == ["mug"]
    assert objects["mug"].part_names == ("body", "handle") and objects["mug"].points.shape == (256, 3)
    assert grasps == records
    g = ds.record_grasp(grasps[1])
    assert g.extras["caption"] == "Grasp the body of the mug object, with contacts on thumb and index"
    np.testing.assert_allclose(g.joints, records[1]["joints"])
    np.testing.assert_allclose(g.rotation.as_quat(), records[1]["quaternion_xyzw"], atol=1e-6)


def test_several_roots_merge_keeping_identical_repeats_once(tmp_path):
    first = make_dataset(tmp_path / "a", grasps=2)
    make_dataset(tmp_path / "b", grasps=3)
    (tmp_path / "b" / "grasps.jsonl").write_text("".join(
        json.dumps({**r, "id": r["id"].replace("0000", "0001")}) + "\n"
        for r in map(json.loads, (tmp_path / "b" / "grasps.jsonl").read_text().splitlines())))
    metas, objects, grasps = ds.load_datasets([tmp_path / "a", str(tmp_path / "b")])
    assert len(metas) == 2 and list(objects) == ["mug"] and len(grasps) == 5 and grasps[:2] == first
    assert ds.load_datasets(tmp_path / "a")[2] == first == ds.load_datasets([tmp_path / "a", tmp_path / "a"])[2]
    changed = make_dataset(tmp_path / "c", grasps=1)[0]
    assert changed == first[0]  # the same generator output …
    (tmp_path / "c" / "grasps.jsonl").write_text(json.dumps({**changed, "joints": [0.1] * 22}) + "\n")
    with pytest.raises(InvalidInputError, match="differs"):  # … but not here
        ds.load_datasets([tmp_path / "a", tmp_path / "c"])
    with pytest.raises(InvalidInputError, match="no grasp dataset"):
        ds.load_datasets([])


@pytest.mark.parametrize("corrupt, message", [
    (lambda r: r.pop("joints"), "missing"),
    (lambda r: r.update(joints=[0.0] * 21), "joints must be 22"),
    (lambda r: r.update(position=[0.0, float("nan"), 0.0]), "position"),
    (lambda r: r.update(quaternion_xyzw=[0.0, 0.0, 0.0, 2.0]), "unit quaternion"),
    (lambda r: r.update(part="spout"), "no part"),
    (lambda r: r.update(object="teapot"), "teapot"),
    (lambda r: r.update(caption="Grasp the mug"), "caption"),
])
def test_malformed_records_are_rejected_with_their_line(tmp_path, corrupt, message):
    records = make_dataset(tmp_path)
    corrupt(records[2])
    (tmp_path / "grasps.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(InvalidInputError, match=message) as err:
        ds.load_dataset(tmp_path)
    assert "grasps.jsonl:3" in str(err.value)


def test_malformed_files(tmp_path):
    with pytest.raises(InvalidInputError, match="no meta.json"):
        ds.load_dataset(tmp_path)
    make_dataset(tmp_path)
    with open(tmp_path / "grasps.jsonl", "a") as f:
        f.write("{not json\n")
    with pytest.raises(InvalidInputError, match="grasps.jsonl:4: invalid JSON"):
        ds.load_dataset(tmp_path)
    (tmp_path / "grasps.jsonl").unlink()
    np.savez(tmp_path / "objects" / "mug.npz", points=np.zeros((3, 3)))
    with pytest.raises(InvalidInputError, match="mug.npz"):
        ds.load_dataset(tmp_path)
    (tmp_path / "meta.json").write_text(json.dumps({"generator": "other", "version": 1}))
    with pytest.raises(InvalidInputError, match="expected generator"):
        ds.load_dataset(tmp_path)


def test_split_is_deterministic_by_object_and_id_hash():
    grasps = [{"id": f"{o}-body-{i:04d}-00", "object": o} for o in ("mug", "pear") for i in range(2000)]
    split = ds.split_grasps(grasps)
    assert all(r["object"] == "pear" for r in split["test_unseen"]) and len(split["test_unseen"]) == 2000
    assert 0.07 < len(split["test_seen"]) / 2000 < 0.13
    assert split == ds.split_grasps(list(grasps))
    assert ds.split_of({"id": "x", "object": "pear"}, test_objects=()) in ("train", "test_seen")

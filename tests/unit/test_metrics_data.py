"""RealVLG-11B annotation loading and the Seen / Similar / Novel split."""

import json

import numpy as np
import pytest

from realvlg.data.realvlg11b import DEFAULT_SPLITS, load_annotations, parse_splits, scene_of, split_of
from realvlg.errors import InvalidInputError


def record(scene, obj=1, **kw):
    r = {"image_name": "0000.png", "image_path": f"scenes/scene_{scene:04d}/kinect/rgb/0000.png",
         "object_id": obj, "mask_path": f"masks/scene_{scene:04d}/{obj}.png", "description": "the red mug",
         "label": "mug", "bbox": [1, 2, 30, 40], "grasps": [[0, 0, 10, 0, 10, 5, 0, 5]],
         "contact_points": [[1, 2, 9, 2], [1, 3, 9, 3]]}
    r.update(kw)
    return r


@pytest.mark.parametrize("scene, split", [(100, "seen"), (129, "seen"), (130, "similar"), (159, "similar"),
                                          (160, "novel"), (189, "novel"), (99, "other"), (190, "other")])
def test_official_split_boundaries(scene, split):
    assert split_of(scene, DEFAULT_SPLITS) == split


def test_scene_from_path_name_or_mask():
    assert scene_of({"image_path": "a/scene_0142/kinect/rgb/0003.png"}) == 142
    assert scene_of({"image_name": "scene_0105_0000.png"}) == 105
    assert scene_of({"mask_path": "m/scene_0170/x.png"}) == 170
    assert scene_of({"image_path": "cornell/pcd0100r.png"}) is None


def test_file_loads_arrays_and_splits(tmp_path):
    path = tmp_path / "ann.json"
    path.write_text(json.dumps([record(101), record(145, obj=3, grasps=[], bbox=[]), record(180)]))
    samples = load_annotations(path)
    assert [s.split for s in samples] == ["seen", "similar", "novel"]
    assert samples[0].key == ("0000.png", "1") and samples[1].object_id == "3"
    assert samples[0].grasps.shape == (1, 4, 2) and samples[0].contact_points.shape == (2, 4)
    assert samples[1].grasps.shape == (0, 4, 2) and samples[1].bbox is None
    np.testing.assert_array_equal(samples[2].bbox, [1, 2, 30, 40])
    custom = load_annotations(path, parse_splits("a=100-140,b=141-200"))
    assert [s.split for s in custom] == ["a", "b", "b"]


def test_dataset_root_reads_frame_0000_per_scene(tmp_path):
    for scene in (100, 131):
        d = tmp_path / "metadata" / "kinect" / f"scene_{scene:04d}"
        d.mkdir(parents=True)
        (d / "0000.json").write_text(json.dumps([record(scene)]))
        (d / "0001.json").write_text(json.dumps([record(scene, obj=9)]))
    samples = load_annotations(tmp_path)
    assert [(s.scene, s.object_id) for s in samples] == [(100, "1"), (131, "1")]


@pytest.mark.parametrize("content, message", [
    ("{not json", "cannot read"), ('{"a": 1}', "JSON list"), ('[{"image_name": "x"}]', "object_id"),
    ('[{"image_name": "x", "object_id": 1, "grasps": [[1, 2, 3]]}]', "grasps")])
def test_bad_files_raise_clear_errors(tmp_path, content, message):
    path = tmp_path / "ann.json"
    path.write_text(content)
    with pytest.raises(InvalidInputError, match=message):
        load_annotations(path)
    with pytest.raises(InvalidInputError, match="not found"):
        load_annotations(tmp_path / "missing.json")


def test_parse_splits_rejects_nonsense():
    with pytest.raises(InvalidInputError):
        parse_splits("seen=130-100")
    with pytest.raises(InvalidInputError):
        parse_splits("seen:100-129")

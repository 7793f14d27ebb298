"""Where the realvlg-r1 protocol must differ from standard, and where they agree."""

import dataclasses
import math

import numpy as np
import pytest
import shapely

from realvlg.data.realvlg11b import Sample
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import RectGrasp, rect_corners
from realvlg.metrics.benchmark import evaluate, needed_ground_truth
from realvlg.metrics.protocols import (
    PROTOCOLS,
    check_values,
    get_protocol,
    realvlg_r1_values,
    score_boxes,
    score_contacts,
    score_grasps,
    standard_values,
)

STD, R1 = PROTOCOLS["standard"], PROTOCOLS["realvlg-r1"]


@pytest.mark.parametrize("task, text, standard, official", [
    ("bbox", "<think>x</think><answer>(10,20),(30,40)</answer>", [10, 20, 30, 40], [10, 20, 30, 40]),
    ("bbox", "(10,20),(30,40)", "no_answer_tag", [10, 20, 30, 40]),                 # tag optional there
    ("bbox", "<answer>(30,40),(10,20)</answer>", "degenerate_box", [30, 40, 10, 20]),
    ("bbox", "<answer>box: (10，20)，(30，40) px</answer>", "malformed", [10, 20, 30, 40]),
    ("grasp", "<answer>x=10, y=20, theta=30, w=40</answer>", "malformed", [10, 20, 30, 40]),
    ("grasp", "<answer>(10, 20, 30, 0)</answer>", "zero_length_pair", [10, 20, 30, 0]),
    ("grasp", "<answer>(10, 20, 30)</answer>", "wrong_count", None),
    ("contact", "<answer>10, 20, 30, 40</answer>", [10, 20, 30, 40], None),         # r1 needs ( )
    ("contact", "<answer>(10,20),(10,20)</answer>", "zero_length_pair", [10, 20, 10, 20]),
    ("contact", "", "empty", None),
])
def test_answer_validity(task, text, standard, official):
    assert standard_values(task, text) == standard
    assert realvlg_r1_values(task, text) == official


def test_out_of_image_only_in_standard():
    assert check_values("bbox", [10, 10, 700, 50], STD, (640, 480)) == "out_of_image"
    assert check_values("bbox", [10, 10, 700, 50], R1, (640, 480)) == [10, 10, 700, 50]
    assert check_values("grasp", [10, 10, 90, 5000], STD, (640, 480)) == [10, 10, 90, 5000]  # only the centre
    assert check_values("bbox", [1, 2, float("nan"), 4], R1) == "non_finite"


def test_bbox_ciou_is_diou_in_r1():
    pred, gt = [[0, 0, 4, 2]], [[0, 0, 2, 2]]
    std, r1 = score_boxes(pred, gt, STD), score_boxes(pred, gt, R1)
    assert r1["ciou"][0] == pytest.approx(std["diou"][0]) and std["ciou"][0] < std["diou"][0]
    assert r1["giou"][0] == pytest.approx(std["giou"][0])


def test_grasp_small_angles_read_as_radians_in_r1():
    gt = RectGrasp.from_degrees(100, 100, 1.0, 60, 40).corners().reshape(1, 8)
    pred = [[100, 100, 2.0, 60]]     # 1° from the ground truth
    assert score_grasps(pred, gt, [0], STD)["correct"][0] == 1
    assert score_grasps(pred, gt, [0], R1)["correct"][0] == 0    # "2 rad vs 1 rad" = 57°
    pred_big = [[100, 100, 44.0, 60]]
    gt_big = RectGrasp.from_degrees(100, 100, 40.0, 60, 40).corners().reshape(1, 8)
    for protocol in (STD, R1):
        assert score_grasps(pred_big, gt_big, [0], protocol)["correct"][0] == 1


def test_contact_rectangles_are_80_px_in_r1():
    pred, gt = [[0, 0, 100, 0]], [[0, 30, 100, 30]]     # parallel, 30 px apart
    std, r1 = score_contacts(pred, gt, [0], STD), score_contacts(pred, gt, [0], R1)
    assert std["iou"][0] == pytest.approx(10 / 70) and std["correct"][0] == 0
    assert r1["iou"][0] == pytest.approx(50 / 110) and r1["correct"][0] == 1
    jaw80 = score_contacts(pred, gt, [0], get_protocol("standard", jaw_px=80))
    assert jaw80["iou"][0] == pytest.approx(r1["iou"][0])


def test_protocol_overrides():
    assert get_protocol("standard", jaw_px=25).grasp_jaw_px == 25
    assert get_protocol("standard", iou_mode="raster").iou_mode == "raster"
    with pytest.raises(ValueError):
        get_protocol("realvlg-r1", jaw_px=25)


def samples_for(task_boxes):
    out = []
    for i, (box, grasps) in enumerate(task_boxes):
        out.append(Sample(image_name=f"scene_0100/{i}.png", object_id="1", bbox=np.array(box, float),
                          grasps=np.asarray(grasps, float).reshape(-1, 4, 2), split="seen"))
    return out


def test_validity_and_means_over_valid_outputs_only():
    g = RectGrasp(50, 50, 0.0, 40, 20).corners()
    samples = samples_for([([0, 0, 2, 2], [g]), ([0, 0, 2, 2], [g]), ([0, 0, 2, 2], [g]), ([0, 0, 2, 2], [])])
    preds = [{"image_name": "scene_0100/0.png", "object_id": 1, "bbox": [0, 0, 2, 2]},
             {"image_name": "scene_0100/1.png", "object_id": "1", "bbox": [1, 1, 3, 3]},
             {"image_name": "scene_0100/2.png", "object_id": "1", "answer": "nothing here"},
             {"image_name": "scene_0100/3.png", "object_id": "1", "bbox": [0, 0, 2, 2]},
             {"image_name": "elsewhere.png", "object_id": "1", "bbox": [0, 0, 2, 2]}]
    std = evaluate("bbox", samples, preds, STD, progress=False).results()
    assert std["n"] == 4 and std["unmatched_predictions"] == 1
    assert std["overall"]["validity"] == pytest.approx(3 / 4)
    assert std["overall"]["iou"] == pytest.approx((1 + 1 / 7 + 1) / 3)
    assert std["invalid_reasons"] == {"no_answer_tag": 1}
    r1 = evaluate("bbox", samples, preds, R1, progress=False).results()
    assert r1["n"] == 3 and r1["skipped_without_ground_truth"] == 1   # official loader drops grasp-less objects
    assert r1["overall"]["validity"] == pytest.approx(2 / 3) and r1["invalid_reasons"] == {"malformed": 1}


def test_nothing_valid_reports_none_or_official_zero():
    samples = samples_for([([0, 0, 2, 2], [RectGrasp(5, 5, 0, 4, 2).corners()])])
    preds = [{"image_name": "scene_0100/0.png", "object_id": "1", "grasp": [1, 2, 3]}]
    assert evaluate("grasp", samples, preds, STD, progress=False).results()["overall"] == \
        {"miou": None, "gacc": None, "validity": 0.0}
    assert evaluate("grasp", samples, preds, R1, progress=False).results()["overall"] == \
        {"miou": 0.0, "gacc": 0.0, "validity": 0.0}


def test_nothing_valid_in_a_bbox_split_is_null_in_r1_as_the_official_nan():
    """The official bbox code averages an empty list there (NaN); its other tasks report 0."""
    g = [RectGrasp(5, 5, 0, 4, 2).corners()]
    seen, novel = samples_for([([0, 0, 2, 2], g), ([0, 0, 2, 2], g)])
    samples = [seen, dataclasses.replace(novel, split="novel")]
    preds = [{"image_name": "scene_0100/0.png", "object_id": "1", "bbox": [0, 0, 2, 2]},
             {"image_name": "scene_0100/1.png", "object_id": "1", "answer": "no box"}]
    r1 = evaluate("bbox", samples, preds, R1, progress=False).results()
    assert r1["splits"]["novel"] == {"iou": None, "giou": None, "diou": None, "ciou": None, "validity": 0.0}
    assert r1["splits"]["seen"]["giou"] == 1.0 and r1["overall"]["giou"] == 1.0
    assert r1["notes"] == ["novel: no valid answer, so the bbox metrics are null "
                           "(NaN in the official code, which averages the empty list of valid scores)"]
    none_valid = evaluate("bbox", samples, preds[1:], R1, progress=False).results()
    assert none_valid["overall"]["ciou"] is None and [n.split(":")[0] for n in none_valid["notes"]] == \
        ["overall", "seen", "novel"]
    assert evaluate("bbox", samples, preds, STD, progress=False).results()["notes"] == []


def test_non_finite_grasp_angle_is_valid_with_iou_0_in_r1_where_the_official_code_crashes():
    """θ = 1e999 reads as inf: the official code's rectangle has NaN corners, shapely refuses the
    polygon and the whole split stops. A number cannot reproduce a crash: r1 scores it IoU 0."""
    samples = samples_for([([0, 0, 2, 2], [RectGrasp(100, 100, 0.7, 40).corners()])])
    key = {"image_name": "scene_0100/0.png", "object_id": "1"}
    answer = [{**key, "answer": "<answer>(100, 100, 1e999, 40)</answer>"}]
    r1 = evaluate("grasp", samples, answer, R1, progress=False).results()
    assert r1["overall"] == {"miou": 0.0, "gacc": 0.0, "validity": 1.0} and r1["invalid_reasons"] == {}
    assert evaluate("grasp", samples, answer, STD, progress=False).results()["invalid_reasons"] == {"non_finite": 1}
    parsed = [{**key, "grasp": [100, 100, math.inf, 40]}]
    assert evaluate("grasp", samples, parsed, R1, progress=False).results()["invalid_reasons"] == {"non_finite": 1}
    with np.errstate(invalid="ignore"), pytest.raises(shapely.errors.GEOSException):   # the official code's fate
        shapely.Polygon(rect_corners(100, 100, math.radians(math.inf), 40))


def test_missing_predictions_count_as_invalid():
    g = RectGrasp(50, 50, 0.3, 40)        # the default 40 px jaw, as predictions are drawn
    samples = samples_for([([0, 0, 2, 2], [g.corners()]), ([0, 0, 2, 2], [g.corners()])])
    preds = [{"image_name": "scene_0100/0.png", "object_id": "1",
              "grasp": [g.x, g.y, math.degrees(g.theta), g.width]}]
    r = evaluate("grasp", samples, preds, STD, progress=False).results()
    assert r["overall"] == {"miou": pytest.approx(1.0), "gacc": 1.0, "validity": 0.5}
    assert r["invalid_reasons"] == {"missing": 1}


def test_which_samples_enter_each_task():
    g = RectGrasp(5, 5, 0, 4, 2).corners().reshape(1, 4, 2)
    full = Sample("a.png", "1", mask_path="m.png", bbox=np.array([0, 0, 2, 2.0]), grasps=g,
                  contact_points=np.array([[0, 0, 1, 1.0]]))
    no_grasps = Sample("b.png", "1", mask_path="m.png", bbox=np.array([0, 0, 2, 2.0]),
                       contact_points=np.array([[0, 0, 1, 1.0]]))
    no_box = Sample("c.png", "1", mask_path="m.png", grasps=g)
    for task in ("bbox", "seg", "grasp", "contact"):
        assert needed_ground_truth(task, full, STD, None) and needed_ground_truth(task, full, R1, None)
        assert not needed_ground_truth(task, no_grasps, R1, None)
    assert needed_ground_truth("bbox", no_grasps, STD, None) and needed_ground_truth("contact", no_grasps, STD, None)
    assert needed_ground_truth("seg", no_box, STD, None) and not needed_ground_truth("seg", no_box, R1, None)
    assert needed_ground_truth("contact", no_box, R1, None) and not needed_ground_truth("contact", no_box, STD, None)


def test_repeated_image_names_need_the_image_path():
    g = RectGrasp(50, 50, 0.0, 40).corners()
    samples = [Sample("0000.png", "1", image_path=f"scenes/scene_{s:04d}/rgb/0000.png", bbox=np.array([0, 0, 2, 2.0]),
                      grasps=g[None], split="seen") for s in (100, 101)]
    by_path = [{"image_name": "0000.png", "image_path": "scenes/scene_0101/rgb/0000.png", "object_id": 1,
                "bbox": [0, 0, 2, 2]}]
    r = evaluate("bbox", samples, by_path, STD, progress=False)
    assert r.valid.tolist() == [False, True]
    with pytest.raises(InvalidInputError, match="image_path"):
        evaluate("bbox", samples, [{"image_name": "0000.png", "object_id": 1, "bbox": [0, 0, 2, 2]}], STD)

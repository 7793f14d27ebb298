"""Rewards against hand-computed values, per task and variant (training/rewards.py)."""

import math

import numpy as np
import pytest
from PIL import Image

from realvlg.errors import InvalidInputError
from training.difficulty import difficulty_weight
from training.rewards import RewardConfig, box_mask, compute_reward, grasp_parameters, huber

PAPER = RewardConfig(variant="paper")
OFFICIAL = RewardConfig(variant="official")


def answer(content: str) -> str:
    return f"<think>look</think>\n<answer>{content}</answer>"


# ---------------------------------------------------------------- format
def test_format_weight_splits_total():
    sample = {"bbox": [0, 0, 10, 10]}
    strict = compute_reward("bbox", answer("(0,0),(10,10)"), sample, OFFICIAL)
    assert (strict.format, strict.task, strict.total) == (1.0, 1.0, pytest.approx(1.0))
    no_think = compute_reward("bbox", "<answer>(0,0),(10,10)</answer>", sample, OFFICIAL)
    assert (no_think.format, no_think.task, no_think.total) == (0.0, 1.0, pytest.approx(0.9))
    garbage = compute_reward("bbox", "a cup", sample, OFFICIAL)
    assert (garbage.total, garbage.valid, garbage.parts["invalid"]) == (0.0, False, "no_answer_tag")
    formatted_wrong_task = compute_reward("grasp", answer("(0,0),(10,10)"), {"grasps": []}, OFFICIAL)
    assert formatted_wrong_task.total == 0.0


# ---------------------------------------------------------------- bbox
def test_bbox_official_is_continuous_iou():
    # gt 10×10, prediction shifted by 5: inter 50, union 150 → IoU 1/3
    r = compute_reward("bbox", answer("(5,0),(15,10)"), {"bbox": [0, 0, 10, 10]}, OFFICIAL)
    assert r.task == pytest.approx(1 / 3)
    assert r.total == pytest.approx(0.1 + 0.9 / 3)


def test_bbox_paper_is_thresholded():
    sample = {"bbox": [0, 0, 10, 10]}
    assert compute_reward("bbox", answer("(5,0),(15,10)"), sample, PAPER).total == pytest.approx(0.1)
    low_tau = RewardConfig(variant="paper", iou_threshold=0.3)
    assert compute_reward("bbox", answer("(5,0),(15,10)"), sample, low_tau).total == pytest.approx(1.0)
    assert compute_reward("bbox", answer("(0,0),(10,10)"), sample, PAPER).total == pytest.approx(1.0)


def test_bbox_out_of_image_scores_format_only_when_size_known():
    sample = {"bbox": [0, 0, 10, 10], "image_size": [20, 20]}
    r = compute_reward("bbox", answer("(0,0),(30,10)"), sample, OFFICIAL)
    assert (r.valid, r.task, r.total) == (False, 0.0, pytest.approx(0.1))


# ---------------------------------------------------------------- seg
def test_seg_with_empty_ground_truth_mask():
    # pred box covers pixel centres 0..9 × 0..9 = 100 of 400 px; empty gt mask → S = 1 − 0.25
    gt_mask = np.zeros((20, 20), dtype=bool)
    sample = {"bbox": [0, 0, 9, 9]}
    official = compute_reward("seg", answer("(0,0),(9,9)"), sample, OFFICIAL, gt_mask=gt_mask)
    assert official.parts["s_measure"] == pytest.approx(0.75)
    assert official.task == pytest.approx(0.7 * 1.0 + 0.3 * 0.75)
    assert official.total == pytest.approx(0.1 + 0.9 * 0.925)
    paper = compute_reward("seg", answer("(0,0),(9,9)"), sample, PAPER, gt_mask=gt_mask)
    assert paper.task == pytest.approx((1.0 + 0.75) / 2)


def test_seg_reads_mask_path_and_perfect_mask_scores_one(tmp_path):
    gt = box_mask([4, 6, 11, 13], (20, 24))
    Image.fromarray((gt * 255).astype(np.uint8)).save(tmp_path / "m.png")
    sample = {"bbox": [4, 6, 11, 13], "mask_path": "m.png", "root": str(tmp_path)}
    for config in (OFFICIAL, PAPER):
        assert compute_reward("seg", answer("(4,6),(11,13)"), sample, config).total == pytest.approx(1.0)


def test_seg_uses_the_segmenter():
    gt_mask = np.zeros((20, 20), dtype=bool)
    full = compute_reward("seg", answer("(0,0),(9,9)"), {"bbox": [0, 0, 9, 9]}, OFFICIAL, gt_mask=gt_mask,
                          segmenter=lambda image, box, shape: np.zeros(shape, dtype=bool))
    assert full.parts["s_measure"] == pytest.approx(1.0)


def test_seg_without_mask_is_a_sample_error():
    with pytest.raises(InvalidInputError, match="mask_path"):
        compute_reward("seg", answer("(0,0),(9,9)"), {"bbox": [0, 0, 9, 9]}, OFFICIAL)


# ---------------------------------------------------------------- grasp
GT_GRASP = [40, 45, 60, 45, 60, 55, 40, 55]  # centre (50, 50), θ = 0°, width 20, jaw 10


def test_grasp_parameters_of_polygon():
    np.testing.assert_allclose(grasp_parameters([GT_GRASP]), [[50, 50, 0, 20]])


def test_grasp_official_huber():
    # Δx = 1 → 0.5; Δw = 2 → 2 − 0.5 = 1.5; total loss 2 → reward 1/3
    r = compute_reward("grasp", answer("(51, 50, 0, 22)"), {"grasps": [GT_GRASP]}, OFFICIAL)
    assert r.parts["huber"] == pytest.approx(2.0)
    assert r.task == pytest.approx(1 / 3)
    assert r.total == pytest.approx(0.1 + 0.3)


def test_grasp_angle_enters_through_cos_sin():
    # θ = 90°: Δcos = −1 → 0.5, Δsin = 1 → 0.5 → loss 1
    r = compute_reward("grasp", answer("(50, 50, 90, 20)"), {"grasps": [GT_GRASP]}, OFFICIAL)
    assert r.task == pytest.approx(0.5)


def test_grasp_paper_exp_and_best_ground_truth():
    far = [0, 0, 10, 0, 10, 10, 0, 10]
    r = compute_reward("grasp", answer("(51, 50, 0, 22)"), {"grasps": [far, GT_GRASP]}, PAPER)
    assert r.task == pytest.approx(math.exp(-2.0))
    assert r.total == pytest.approx(0.1 + 0.9 * math.exp(-2.0))


def test_grasp_without_ground_truth_scores_zero():
    assert compute_reward("grasp", answer("(51, 50, 0, 22)"), {"grasps": []}, OFFICIAL).task == 0.0


def test_huber_both_branches():
    np.testing.assert_allclose(huber([0.5, -3.0], 1.0), [0.125, 2.5])


# ---------------------------------------------------------------- contact
GT_PAIR = [40, 50, 60, 50]


def test_contact_official_rectangle_iou_80px():
    exact = compute_reward("contact", answer("(40,50),(60,50)"), {"contact_points": [GT_PAIR]}, OFFICIAL)
    assert exact.total == pytest.approx(1.0)
    # shifted 10 px: 20×80 rectangles overlap 10×80 → 800 / 2400
    shifted = compute_reward("contact", answer("(50,50),(70,50)"), {"contact_points": [GT_PAIR]}, OFFICIAL)
    assert shifted.task == pytest.approx(1 / 3)


def test_contact_paper_indicator_and_distance():
    sample = {"contact_points": [GT_PAIR], "image_size": [300, 400]}  # diagonal 500 px
    shifted = compute_reward("contact", answer("(50,50),(70,50)"), sample, PAPER)
    # IoU 1/3 < τ; distance 10 + 10 = 20 px → closeness 0.96
    assert shifted.parts["distance_px"] == pytest.approx(20.0)
    assert shifted.task == pytest.approx((0 + 0.96) / 2)
    swapped = compute_reward("contact", answer("(60,50),(40,50)"), sample, PAPER)
    assert swapped.task == pytest.approx(1.0)


def test_contact_paper_needs_image_size():
    with pytest.raises(InvalidInputError, match="image_size"):
        compute_reward("contact", answer("(50,50),(70,50)"), {"contact_points": [GT_PAIR]}, PAPER)


# ---------------------------------------------------------------- config
def test_config_rejects_unknown_variant_and_keys():
    with pytest.raises(InvalidInputError):
        RewardConfig(variant="mine")
    with pytest.raises(InvalidInputError, match="unknown reward settings"):
        RewardConfig.from_dict({"tau": 0.5})


# ---------------------------------------------------------------- UniVG-R1 difficulty weights
def test_difficulty_weights():
    m = np.array([0.0, 0.5, 1.0])
    np.testing.assert_allclose(difficulty_weight(m, "exp"), [math.e, math.exp(0.5), 1.0])
    np.testing.assert_allclose(difficulty_weight(m, "square"), [1.0, 0.25, 0.0])
    neg_log = difficulty_weight(m, "neg_log")
    assert neg_log[1] == pytest.approx(math.log(2)) and neg_log[2] == 0.0 and np.isfinite(neg_log[0])
    with pytest.raises(InvalidInputError):
        difficulty_weight(m, "cube")


def test_seg_with_tiny_sam2(tmp_path):
    from realvlg.grounding.sam2 import build_tiny_sam2
    from training.rewards import sam2_segmenter

    segment = sam2_segmenter(build_tiny_sam2(tmp_path / "sam2", image_size=64), device="cpu")
    image = np.zeros((20, 24, 3), dtype=np.uint8)
    gt_mask = box_mask([4, 6, 11, 13], (20, 24))
    r = compute_reward("seg", answer("(4,6),(11,13)"), {"bbox": [4, 6, 11, 13]}, OFFICIAL, gt_mask=gt_mask,
                       segmenter=segment, image=image)
    mask = segment(image, np.array([4, 6, 11, 13]), (20, 24))
    from realvlg.metrics.masks import s_measure
    # the random SAM2's mask, whatever it is, is what the S-measure scores
    assert r.parts["s_measure"] == pytest.approx(max(0.0, s_measure(mask, gt_mask)))
    assert r.task == pytest.approx(0.7 + 0.3 * r.parts["s_measure"])
    with pytest.raises(InvalidInputError, match="needs the sample's image"):
        compute_reward("seg", answer("(4,6),(11,13)"), {"bbox": [4, 6, 11, 13]}, OFFICIAL, gt_mask=gt_mask,
                       segmenter=segment)


def test_group_weights_follow_trl_group_layout():
    from training.difficulty import group_weights

    np.testing.assert_allclose(group_weights([1, 1, 0, 0.5], 2, "square"), [0, 0, 0.5625, 0.5625])

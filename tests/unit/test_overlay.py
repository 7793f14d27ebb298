"""Overlays draw where the answer is, and say why when it is invalid."""

import numpy as np

from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.grasps import ContactPair, Grasp6D, RectGrasp
from realvlg.grounding.backend import Grounding, InvalidGrounding, InvalidReason
from realvlg.overlay import draw_grasp, draw_grounding, hershey_text, save_image

from tabletop import INTRINSICS


def _changed(a, b):
    return np.any(a != b, axis=2)


def test_answers_are_drawn_where_they_are(tmp_path):
    image = np.full((240, 320, 3), 90, np.uint8)
    mask = np.zeros((240, 320), bool)
    mask[150:200, 200:260] = True
    answer = Grounding("seg", box=BoundingBox(20, 100, 80, 150), mask=mask,
                       rect=RectGrasp(160, 120, 0.3, 40, 20), contact=ContactPair(100, 200, 140, 210), backend="t")
    out = draw_grounding(image, answer, "the mug")
    changed = _changed(out, image)
    assert changed[100, 50] and changed[150, 20]                  # box edges
    assert changed[170:180, 220:240].all()                       # mask tint
    assert changed[200, 100] and changed[210, 140]               # contacts
    assert not changed[225:, :60].any()                          # untouched elsewhere
    assert image.sum() == 90 * image.size                        # input not modified
    assert save_image(out, tmp_path / "a" / "o.png").stat().st_size > 0


def test_invalid_answers_only_caption():
    image = np.zeros((240, 320, 3), np.uint8)
    out = draw_grounding(image, InvalidGrounding("bbox", InvalidReason.NO_ANSWER_TAG, "no tag"), "x")
    assert _changed(out, image)[:60].any() and not _changed(out, image)[80:].any()


def test_grasp_projection_lands_on_the_grasp_and_skips_grasps_behind_the_camera():
    image = np.zeros((240, 320, 3), np.uint8)
    grasp = Grasp6D.from_axes([0, 0, 0.5], [0, 0, 1], [1, 0, 0], 0.06)
    out = draw_grasp(image, grasp, INTRINSICS)
    u = int(round(INTRINSICS.fx * 0.03 / 0.5 + INTRINSICS.cx))
    assert _changed(out, image)[118:122, u - 2:u + 3].any()
    behind = Grasp6D.from_axes([0, 0, -0.5], [0, 0, 1], [1, 0, 0], 0.06)
    assert not _changed(draw_grasp(image, behind, INTRINSICS), image).any()


def test_captions_spell_out_the_symbols_the_hershey_font_lacks():
    assert hershey_text("pre_grasp ended 7.4 cm / 7° from its target … fr3_link0←fr3_hand_tcp") == \
        "pre_grasp ended 7.4 cm / 7 deg from its target ... fr3_link0<-fr3_hand_tcp"
    image = np.full((120, 320, 3), 90, np.uint8)
    assert np.array_equal(draw_grounding(image, None, message="7°"), draw_grounding(image, None, message="7 deg"))

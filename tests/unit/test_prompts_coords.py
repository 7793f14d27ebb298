"""Prompts are the paper's, verbatim; coordinates map back to the camera image exactly."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from realvlg.errors import InvalidInputError
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.grasps import ContactPair, RectGrasp
from realvlg.grounding.backend import Grounding
from realvlg.grounding.coords import CoordinateConvention, smart_resize
from realvlg.grounding.prompts import build_messages, build_prompt


def test_prompts_match_the_paper_verbatim():
    # Copied by hand from the paper, §8 Prompts 8.4–8.6, with the instruction substituted.
    assert build_prompt("bbox", "  the red mug \n") == (
        'Predict the bounding box of the referred object in the image based on the instruction: "the red mug". '
        'First, output the thinking process in <think> </think> tags, then output the final answer in '
        '<answer> </answer> tags. Follow the format: <think> thinking process </think>\n'
        '<answer>(x_min,y_min), (x_max,y_max)</answer>')
    assert build_prompt("seg", "the red mug") == build_prompt("bbox", "the red mug")
    assert build_prompt("grasp", "the cup handle").startswith(
        'Predict a stable 2D rectangular grasp pose for the target object based on the instruction: "the cup handle". '
        'First, output your reasoning process in <think> </think> tags, then output the final grasp pose')
    assert build_prompt("grasp", "x").endswith("<answer>(x, y, theta, width)</answer>")
    assert build_prompt("contact", "x").startswith(
        'Predict one stable two-finger grasp contact pair (two 2D coordinates) for the target object described '
        'in the instruction: "x". ')
    assert build_prompt("contact", "x").endswith("<answer>(x1,y1),(x2,y2)</answer>")


def test_univg_prompt_and_multi_image_messages():
    prompt = build_prompt("bbox", "Grasp the object shown in the first image.", style="univg-r1")
    assert prompt.endswith("output the bounding box in <answer> </answer> tags.")
    messages = build_messages("bbox", "the mug", ["ref.png", "scene.png"], style="univg-r1")
    content = messages[0]["content"]
    assert [c["type"] for c in content] == ["image", "image", "text"] and content[1]["image"] == "scene.png"
    with pytest.raises(InvalidInputError):
        build_prompt("grasp", "x", style="univg-r1")
    with pytest.raises(InvalidInputError):
        build_prompt("bbox", "   ")
    with pytest.raises(InvalidInputError):
        build_prompt("pose", "x")


def test_smart_resize_known_sizes():
    assert smart_resize(720, 1280) == (728, 1288)     # the official RealVLG-R1 training input
    assert smart_resize(480, 640) == (476, 644)
    assert smart_resize(10, 10) == (56, 56)           # raised to min_pixels
    h, w = smart_resize(3000, 4000)
    assert h * w <= 28 * 28 * 1280 and h % 28 == 0 and w % 28 == 0
    with pytest.raises(InvalidInputError):
        smart_resize(1, 500)


@given(h=st.integers(28, 4000), w=st.integers(28, 4000))
def test_smart_resize_invariants(h, w):
    if max(h, w) / min(h, w) > 200:
        return
    rh, rw = smart_resize(h, w)
    assert rh % 28 == 0 and rw % 28 == 0
    assert 56 * 56 <= rh * rw <= 28 * 28 * 1280 or rh * rw <= 56 * 56 * 2


def test_to_camera_per_convention():
    g = Grounding("bbox", box=BoundingBox(0, 0, 1288, 728))
    assert CoordinateConvention("absolute_resized").to_camera(g, 1280, 720).box.as_array().tolist() == [0, 0, 1280, 720]
    assert CoordinateConvention("absolute_original").to_camera(g, 1280, 720) is g
    rel = Grounding("contact", contact=ContactPair(500, 500, 1000, 0))
    assert CoordinateConvention("relative_1000").to_camera(rel, 640, 480).contact.points.tolist() == [[320, 240], [640, 0]]
    with pytest.raises(InvalidInputError):
        CoordinateConvention("pixels")


def test_rect_under_anisotropic_scaling_keeps_its_contacts():
    rect = RectGrasp(100, 100, math.radians(30), 40)
    out = CoordinateConvention("relative_1000").to_camera(Grounding("grasp", rect=rect), 2000, 500).rect
    before = rect.contacts().points * [2.0, 0.5]
    assert out.contacts().points == pytest.approx(before) or out.contacts().points[::-1] == pytest.approx(before)
    assert out.jaw == rect.jaw

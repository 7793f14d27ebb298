"""The answer parser on the paper's formats, on malformed answers, and under fuzzing."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from realvlg.grounding.backend import TASKS, Grounding, InvalidGrounding, InvalidReason
from realvlg.grounding.parsing import check_format, extract_answer, parse_answer

THINK = "<think> The mug is on the left, its handle points right. </think>\n"


@pytest.mark.parametrize("answer", [
    "(412,188), (655,430)", "(412, 188),(655, 430)", " ( 412 , 188 ) , ( 655 , 430 ) ",
    "(412.0,188.0), (655.0,430.0)", "412,188,655,430", "(412,188,655,430)", "(412，188)，(655，430)",
    "(4.12e2,188), (655,4.3E2)", "(+412,188), (655,430)",
])
def test_bbox_answers_the_official_code_accepts(answer):
    result = parse_answer("bbox", f"{THINK}<answer>{answer}</answer>", (1280, 720))
    assert isinstance(result, Grounding)
    assert result.box.as_array().tolist() == pytest.approx([412, 188, 655, 430])


def test_each_task_in_the_papers_format():
    grasp = parse_answer("grasp", f"{THINK}<answer>(640, 360, -30.5, 85)</answer>", (1280, 720))
    assert grasp.rect.x == 640 and grasp.rect.y == 360 and grasp.rect.width == 85
    assert grasp.rect.theta == pytest.approx(math.radians(-30.5))
    contact = parse_answer("contact", f"{THINK}<answer>(600,350),(680,370)</answer>", (1280, 720))
    assert contact.contact.points.tolist() == [[600, 350], [680, 370]]
    seg = parse_answer("seg", f"{THINK}<answer>(1,2), (3,4)</answer>")
    assert seg.box.as_array().tolist() == [1, 2, 3, 4] and seg.mask is None


@pytest.mark.parametrize("task,text,reason", [
    ("bbox", "", InvalidReason.EMPTY),
    ("bbox", "   \n", InvalidReason.EMPTY),
    ("bbox", f"{THINK}<answer></answer>", InvalidReason.EMPTY),
    ("bbox", f"{THINK}(1,2),(3,4)", InvalidReason.NO_ANSWER_TAG),
    ("bbox", f"{THINK}<answer>(1,2),(3,4)", InvalidReason.NO_ANSWER_TAG),
    ("bbox", "<answer>[1,2,3,4]</answer>", InvalidReason.MALFORMED),
    ("bbox", "<answer>(1,2) to (3,4)</answer>", InvalidReason.MALFORMED),
    ("bbox", "<answer>(1px,2),(3,4)</answer>", InvalidReason.MALFORMED),
    ("bbox", "<answer>(1),(2,3,4)</answer>", InvalidReason.MALFORMED),
    ("grasp", "<answer>(1,2),(3,4)</answer>", InvalidReason.MALFORMED),
    ("bbox", "<answer>(1,2),(3,4),(5,6)</answer>", InvalidReason.WRONG_COUNT),
    ("grasp", "<answer>(1,2,3)</answer>", InvalidReason.WRONG_COUNT),
    ("contact", "<answer>(1,2)</answer>", InvalidReason.WRONG_COUNT),
    ("bbox", "<answer>(nan,2),(3,4)</answer>", InvalidReason.NON_FINITE),
    ("grasp", "<answer>(1,2,inf,4)</answer>", InvalidReason.NON_FINITE),
    ("bbox", "<answer>(1e400,2),(3,4)</answer>", InvalidReason.NON_FINITE),
    ("bbox", "<answer>(10,20),(1400,40)</answer>", InvalidReason.OUT_OF_IMAGE),
    ("contact", "<answer>(-5,20),(30,40)</answer>", InvalidReason.OUT_OF_IMAGE),
    ("grasp", "<answer>(100,800,0,20)</answer>", InvalidReason.OUT_OF_IMAGE),
    ("bbox", "<answer>(30,20),(10,40)</answer>", InvalidReason.DEGENERATE_BOX),
    ("seg", "<answer>(10,20),(10,40)</answer>", InvalidReason.DEGENERATE_BOX),
    ("contact", "<answer>(10,20),(10,20)</answer>", InvalidReason.ZERO_LENGTH_PAIR),
    ("grasp", "<answer>(10,20,30,0)</answer>", InvalidReason.ZERO_LENGTH_PAIR),
    ("grasp", "<answer>(10,20,30,-5)</answer>", InvalidReason.ZERO_LENGTH_PAIR),
])
def test_invalid_answers_give_their_reason(task, text, reason):
    result = parse_answer(task, text, (1280, 720))
    assert isinstance(result, InvalidGrounding)
    assert result.reason is reason, result.message
    assert result.message and result.raw_answer == text


def test_image_border_tolerance_is_one_pixel():
    assert parse_answer("bbox", "<answer>(0,0),(1280,720)</answer>", (1280, 720)).valid
    assert parse_answer("bbox", "<answer>(-1,0),(1281,720)</answer>", (1280, 720)).valid
    assert not parse_answer("bbox", "<answer>(-1.5,0),(1280,720)</answer>", (1280, 720)).valid


def test_grasp_angle_is_not_checked_against_the_image():
    assert parse_answer("grasp", "<answer>(10,10,1000,5)</answer>", (20, 20)).valid


def test_first_answer_tag_wins_and_official_fallback():
    text = "<answer>(1,2),(3,4)</answer> <answer>(5,6),(7,8)</answer>"
    assert parse_answer("bbox", text).box.x_min == 1
    assert extract_answer("no tag") is None
    assert parse_answer("bbox", "(1,2),(3,4)", require_answer_tag=False).valid


def test_strict_format_check():
    assert check_format("bbox", f"{THINK}<answer>(1,2), (3,4)</answer>")
    assert check_format("grasp", "<think>a</think><answer>(1, 2, 3, 4)</answer>")
    assert not check_format("bbox", "<answer>(1,2), (3,4)</answer>")            # no think
    assert not check_format("bbox", f"{THINK}<answer>(1,2), (3,4)</answer> extra")
    assert not check_format("grasp", f"{THINK}<answer>(1,2), (3,4)</answer>")   # wrong layout


def test_unknown_task_is_a_programming_error():
    with pytest.raises(ValueError):
        parse_answer("pose", "<answer>(1,2),(3,4)</answer>")


_fragments = st.sampled_from([
    "<think>", "</think>", "<answer>", "</answer>", "(", ")", ",", "，", " ", "\n", "-", "+", ".",
    "e", "E", "nan", "inf", "[", "]", "x", "0", "1", "7", "42", "1280", "3.5", "1e3", "-0.0", "999999",
])
_answers = st.lists(_fragments, max_size=40).map("".join) | st.text(max_size=60)


@settings(max_examples=10_500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(task=st.sampled_from(TASKS), text=_answers,
       size=st.none() | st.tuples(st.integers(1, 2000), st.integers(1, 2000)))
def test_fuzz_parser_returns_a_result_or_a_typed_reason(task, text, size):
    result = parse_answer(task, text, size)
    if isinstance(result, InvalidGrounding):
        assert isinstance(result.reason, InvalidReason) and result.message
        return
    assert isinstance(result, Grounding) and result.task == task
    values = {"bbox": result.box, "seg": result.box, "contact": result.contact, "grasp": result.rect}[task]
    assert values is not None
    numbers = [float(v) for v in vars(values).values()]
    assert all(math.isfinite(v) for v in numbers)


@settings(max_examples=500, deadline=None)
@given(x1=st.integers(0, 600), y1=st.integers(0, 300), w=st.integers(1, 600), h=st.integers(1, 400),
       sep=st.sampled_from([",", ", ", "，", " , "]))
def test_well_formed_boxes_always_parse_exactly(x1, y1, w, h, sep):
    text = f"<think>t</think><answer>({x1}{sep}{y1}){sep}({x1 + w}{sep}{y1 + h})</answer>"
    box = parse_answer("bbox", text, (1280, 720)).box
    assert box.as_array().tolist() == [x1, y1, x1 + w, y1 + h]

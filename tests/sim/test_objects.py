"""The ten object models: metadata, sizes the Franka hand can grasp, MJCF that MuJoCo compiles."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

mujoco = pytest.importorskip("mujoco")

from realvlg.errors import InvalidInputError  # noqa: E402
from realvlg.frames import FR3_BASE_FRAME  # noqa: E402
from realvlg.objects import FINGERTIP_CLEARANCE, OBJECTS, find_object, ground_truth_grasp  # noqa: E402

PAPER_OBJECTS = {"mug", "orange", "pear", "apple", "banana", "stapler", "bottle", "marker", "screwdriver", "razor"}


def test_the_papers_ten_objects_with_words_for_instructions():
    assert set(OBJECTS) == PAPER_OBJECTS
    for o in OBJECTS.values():
        assert o.colors and o.words[0] == o.name
        assert {g.part for g in o.grasps} <= set(o.parts)
    assert find_object("Cup") is OBJECTS["mug"]
    assert find_object("water bottle") is OBJECTS["bottle"]
    assert find_object("pen") is OBJECTS["marker"]
    assert find_object("teapot") is None
    assert "handle" in OBJECTS["mug"].parts and "cap" in OBJECTS["bottle"].parts


@pytest.mark.parametrize("name", sorted(PAPER_OBJECTS))
def test_object_is_graspable_from_above_and_plausible(name):
    o = OBJECTS[name]
    assert 0.01 <= o.mass <= 0.4
    fp = o.footprint()
    assert 0.0003 < fp.area < 0.02  # between a marker and a large mug, m²
    for g in o.grasps:
        assert 0.005 < g.width <= 0.075  # leaves room inside the hand's 8 cm
        assert g.center[2] >= FINGERTIP_CLEARANCE - 1e-9
        assert g.center[2] <= o.height
        assert abs(np.linalg.norm(g.closing) - 1) < 1e-9 and g.closing[2] == 0


@pytest.mark.parametrize("name", sorted(PAPER_OBJECTS))
def test_mjcf_compiles_with_mass_and_rests_on_a_plane(name):
    o = OBJECTS[name]
    root = ET.Element("mujoco")
    ET.SubElement(root, "option", timestep="0.001", cone="elliptic", impratio="10")
    asset = ET.SubElement(root, "asset")
    for m in o.mjcf_assets():
        asset.append(m)
    wb = ET.SubElement(root, "worldbody")
    ET.SubElement(wb, "geom", type="plane", size="1 1 0.1")
    wb.append(o.mjcf_body("obj/" + o.name, (0, 0, 0.0005), 0.3))
    model = mujoco.MjModel.from_xml_string(ET.tostring(root, encoding="unicode"))
    body = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, "obj/" + o.name)
    assert model.body_subtreemass[body] == pytest.approx(o.mass, rel=1e-4)
    data = mujoco.MjData(model)
    mujoco.mj_step(model, data, 1000)  # 1 s: settles where it was put, no drift or explosion
    assert np.linalg.norm(data.xpos[body] - (0, 0, 0.0005)) < 2e-3
    assert np.linalg.norm(data.qvel) < 1e-3


def test_ground_truth_grasp_follows_the_object_pose():
    mug = OBJECTS["mug"]
    T = np.eye(4)
    T[:3, :3] = np.array([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])  # yaw 90°
    T[:3, 3] = (0.5, 0.1, 0.0)
    g = ground_truth_grasp(mug, T, "handle")
    handle = next(p for p in mug.grasps if p.part == "handle")
    np.testing.assert_allclose(g.position, (0.5 - handle.center[1], 0.1 + handle.center[0], handle.center[2]))
    np.testing.assert_allclose(g.approach, (0, 0, -1))
    np.testing.assert_allclose(abs(g.closing @ (1, 0, 0)), 1, atol=1e-12)  # object y → base x
    assert g.frame == FR3_BASE_FRAME and g.extras["part"] == "handle"
    with pytest.raises(InvalidInputError, match="no ground-truth grasp on part 'lid'"):
        ground_truth_grasp(mug, T, "lid")


def _at(x, y):
    T = np.eye(4)
    T[:2, 3] = (x, y)
    return T


def test_round_grasp_turns_the_palm_away_from_tall_neighbours():
    orange = OBJECTS["orange"]
    # A bottle 9 cm away along base y: the default closing (object y) would put the palm on it.
    default = ground_truth_grasp(orange, _at(0.45, 0.0))
    assert abs(default.closing @ (0, 1, 0)) == pytest.approx(1)
    g = ground_truth_grasp(orange, _at(0.45, 0.0), neighbours={"bottle": _at(0.45, 0.09)})
    assert abs(g.closing @ (0, 1, 0)) < 0.3  # turned towards base x
    np.testing.assert_allclose(g.position, default.position)
    # Low neighbours (under the palm) change nothing; non-round parts keep their closing axis.
    low = ground_truth_grasp(orange, _at(0.45, 0.0), neighbours={"marker": _at(0.45, 0.09)})
    np.testing.assert_allclose(low.closing, default.closing)
    banana = ground_truth_grasp(OBJECTS["banana"], _at(0.45, 0.0), neighbours={"bottle": _at(0.45, 0.09)})
    np.testing.assert_allclose(banana.closing, (1, 0, 0), atol=1e-12)

"""The simulation oracle resolves instructions against the scene and answers exactly; its answers
lift, through the real geometry core, onto the true object."""

import numpy as np
import pytest

from realvlg.geometry.lift import lift_grasp
from realvlg.grounding.backend import InvalidReason
from realvlg.grounding.sim_oracle import SimOracle
from realvlg.objects import OBJECTS
from realvlg.sim.scenes import generate_scene

pytestmark = pytest.mark.sim
ORACLE = SimOracle()


@pytest.fixture(scope="module")
def clutter(module_world_factory):
    world = module_world_factory(generate_scene("clutter", 3).placements, settle_s=0.5)
    return world, world.render(), world.object_poses()


@pytest.mark.parametrize("instruction,expected", [
    ("grasp the banana", ("banana", None)),
    ("grasp the mug", ("mug", "body")),
    ("pick up the coffee cup by its handle", ("mug", "handle")),
    ("the blue bottle's cap", ("bottle", "cap")),
    ("hand me the screwdriver", ("screwdriver", None)),
])
def test_instructions_resolve_to_objects_and_parts(instruction, expected):
    assert ORACLE.resolve(instruction, tuple(OBJECTS)) == expected


def test_absent_and_ambiguous_instructions_are_not_found(clutter):
    _, obs, poses = clutter
    for instruction, words in (("grasp the giraffe", "nothing in the scene"), ("grasp the cup and the pear", "ambiguous")):
        result = ORACLE.ground("contact", obs, poses, instruction)
        assert result.reason is InvalidReason.NOT_FOUND and words in result.message
    assert ORACLE.resolve("the apple", ("banana",)).startswith("nothing in the scene")


@pytest.mark.parametrize("name", ["banana", "mug", "apple", "marker"])
def test_answers_match_the_segmentation_and_lift_onto_the_object(clutter, name):
    world, obs, poses = clutter
    mask = obs.labels.object_mask(name)
    box = ORACLE.ground("bbox", obs, poses, f"the {name}").box
    ys, xs = np.nonzero(mask)
    assert (box.x_min, box.y_max) == (xs.min() - 0.5, ys.max() + 0.5)
    seg = ORACLE.ground("seg", obs, poses, f"the {name}")
    assert (seg.mask == mask).all()
    pair = ORACLE.ground("contact", obs, poses, f"grasp the {name}").contact
    grasp = lift_grasp(pair, obs.depth, obs.intrinsics)
    in_base = obs.base_from_camera.matrix[:3, :3] @ grasp.position + obs.base_from_camera.matrix[:3, 3]
    object_xy = poses[name][:2, 3]
    assert np.linalg.norm(in_base[:2] - object_xy) < 0.08     # on the object, not beside it
    rect = ORACLE.ground("grasp", obs, poses, f"grasp the {name}").rect
    assert rect.contacts().length == pytest.approx(pair.length)

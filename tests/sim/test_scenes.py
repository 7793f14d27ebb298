"""Seeded scene generation (pure: no simulator)."""

import pytest

pytest.importorskip("mujoco")

from realvlg.errors import InvalidInputError  # noqa: E402
from realvlg.objects import OBJECTS  # noqa: E402
from realvlg.sim.scenes import VIEW_REGION, generate_scene, in_view, placed_footprint  # noqa: E402


def test_same_seed_same_scene_other_seed_other_scene():
    assert generate_scene("clutter", 7) == generate_scene("clutter", 7)
    assert generate_scene("clutter", 7) != generate_scene("clutter", 8)
    assert generate_scene("single", 3) == generate_scene("single", 3)


@pytest.mark.parametrize("seed", range(8))
def test_clutter_places_all_ten_apart_in_view(seed):
    scene = generate_scene("clutter", seed)
    assert set(scene.object_names) == set(OBJECTS)
    prints = [placed_footprint(p) for p in scene.placements]
    for i, a in enumerate(prints):
        assert VIEW_REGION.contains(a)
        assert all(a.distance(b) >= 0.015 - 1e-9 for b in prints[i + 1:])
    assert all(in_view(p, margin_px=16) for p in scene.placements)


def test_single_setting_draws_or_takes_one_object():
    names = {generate_scene("single", s).object_names for s in range(30)}
    assert all(len(n) == 1 for n in names) and len(names) > 3
    assert generate_scene("single", 0, ["banana"]).object_names == ("banana",)


def test_bad_requests_are_clear_errors():
    with pytest.raises(InvalidInputError, match="unknown setting"):
        generate_scene("pile", 0)
    with pytest.raises(InvalidInputError, match="unknown object 'teapot'"):
        generate_scene("clutter", 0, ["mug", "teapot"])
    with pytest.raises(InvalidInputError, match="one object"):
        generate_scene("single", 0, ["mug", "apple"])
    with pytest.raises(InvalidInputError, match="seed must be ≥ 0"):
        generate_scene("single", -1)

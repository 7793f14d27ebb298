"""Ranking with the real Shadow Hand model (realvlg.dexvlg.hand) and a real part-labelled object
cloud (realvlg.dexvlg.objects): the mug on a table, seen by the UR10e's base frame."""

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from realvlg.dexvlg.ranking import (
    LabelledCloud,
    RankingConfig,
    hand_points,
    rank_grasps,
    rank_with_hand,
)
from realvlg.geometry.grasps import DexGrasp
from realvlg.shadow_hand import FINGERS

hand_module = pytest.importorskip("realvlg.dexvlg.hand")       # helper dex-data's hand model
objects_module = pytest.importorskip("realvlg.dexvlg.objects")

MUG_AT = np.array([0.8, 0.2, 0.0])


@pytest.fixture(scope="module")
def hand():
    return hand_module.ShadowHand(points_per_link=32)


@pytest.fixture(scope="module")
def scene():
    mug = objects_module.object_cloud("mug", 3000, seed=0)
    tx, ty = np.meshgrid(np.arange(0.55, 1.05, 0.005), np.arange(-0.05, 0.45, 0.005))
    table = np.column_stack([tx.ravel(), ty.ravel(), np.zeros(tx.size)])
    points = np.concatenate([mug.points + MUG_AT, table])
    normals = np.concatenate([mug.normals, np.tile([0.0, 0.0, 1.0], (len(table), 1))])
    part_ids = np.concatenate([mug.part_ids, np.full(len(table), -1)])
    return LabelledCloud(points, part_ids, tuple(mug.part_names), normals, np.where(part_ids >= 0, 0, -1), "base")


def _touching(hand, point, normal, finger="index", gap=0.004):
    """A straight (open) hand, fingers pointing down and palm facing the surface at ``point``
    (outward ``normal``), moved so that the distal end of ``finger``'s pad sits ``gap`` outside it."""
    y = np.asarray(normal, float)
    z = np.array([0.0, 0.0, -1.0]) - y * -y[2]
    z /= np.linalg.norm(z)
    R = Rotation.from_matrix(np.column_stack([np.cross(y, z), y, z]))   # palm −y towards the surface
    g = DexGrasp(np.zeros(3), R, np.zeros(22), "base")
    pts = hand.finger_points(g)[finger]
    palmar = pts[pts @ y < (pts @ y).min() + 0.003]      # the finger's pad side
    nearest = palmar[np.argmax(palmar @ z)]               # its most distal point
    return DexGrasp(point + gap * y - nearest, R, np.zeros(22), "base")


def test_real_hand_points_rank_contact_and_collision(hand, scene):
    ids = scene.part_ids
    handle = np.flatnonzero(ids == scene.part_names.index("handle"))
    body = np.flatnonzero(ids == scene.part_names.index("body"))
    # the handle's outer face (+x) and the body's side away from it (−x), at mid-height
    h = handle[np.argmax(scene.points[handle, 0] - 5 * np.abs(scene.points[handle, 2] - 0.05))]
    b = body[np.argmin(scene.points[body, 0] + 5 * np.abs(scene.points[body, 2] - 0.05))]
    touch_handle = _touching(hand, scene.points[h], scene.normals[h])
    touch_body = _touching(hand, scene.points[b], scene.normals[b])
    inside = DexGrasp(MUG_AT + [0.0, 0.0, 0.05], touch_body.rotation, np.zeros(22), "base")
    grasps = [touch_handle, touch_body, inside]
    fingers, surface = hand_points(hand, grasps, n_surface=512)
    assert fingers.shape[:2] == (3, len(FINGERS)) and surface.shape == (3, 512, 3)

    config = RankingConfig(collision_tolerance=0.02)
    ranking = rank_grasps(grasps, scene, "handle", fingers, surface, np.eye(4), config)
    # with the hand's collision capsules and boxes (rank_with_hand): the volume measure
    by_volume = rank_with_hand(grasps, hand, scene, "handle", np.eye(4))
    assert [r.grasp for r in by_volume.rejected] == [inside]
    assert by_volume.rejected[0].reason.startswith("collision: observed scene points lie")
    assert all(r.details["volume_penetration_m"] == 0.0 for r in by_volume.accepted)
    result = {id(r.grasp): r for r in ranking.accepted + ranking.rejected}
    r_handle, r_body, r_inside = (result[id(g)] for g in grasps)
    assert r_inside.reason.startswith("collision") and r_inside.details["surface_penetration_m"] > 0.02
    assert "index" in r_handle.details["fingers_on_part"] and r_handle.details["pta"]
    assert r_handle.details["surface_penetration_m"] < 0.005
    assert r_body.details["fingers_on_part"] == [] and not r_body.details["pta"]
    assert r_handle.terms["contact"] > r_body.terms["contact"]


def test_batched_hand_points_equal_the_per_grasp_interface(hand):
    rng = np.random.default_rng(1)
    grasps = [DexGrasp(rng.normal(0, 0.1, 3), Rotation.random(random_state=i),
                       rng.uniform(hand.joint_lower, hand.joint_upper), "base") for i in range(4)]
    fingers, surface = hand_points(hand, grasps, n_surface=300, seed=3)

    class PerGrasp:   # the same hand through the spec's per-grasp interface only
        finger_points = staticmethod(hand.finger_points)
        surface_points = staticmethod(hand.surface_points)

    slow_fingers, slow_surface = hand_points(PerGrasp(), grasps, n_surface=300, seed=3)
    assert np.allclose(fingers, slow_fingers, atol=1e-9) and np.allclose(surface, slow_surface, atol=1e-9)

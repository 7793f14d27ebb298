"""Ranking of sampled Shadow Hand grasps: each term on geometry where the answer is known by
construction (tests/dexvlg/scene_geometry.py), rejections with reasons, frame invariance."""

import math

import numpy as np
import pytest

from realvlg.dexvlg.ranking import (
    TERMS,
    HandVolume,
    LabelledCloud,
    RankingConfig,
    _scene_in_hand,
    hand_points,
    rank_grasps,
)
from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.robots.ur10e_shadow.kinematics import UR10eReach
from realvlg.shadow_hand import FINGERS
from tests.dexvlg.scene_geometry import (
    CENTRE,
    HANDLE_LO,
    grasp_at,
    hand,
    handle_face,
    mug_scene,
)

PALM = np.array([0.86, 0.2, 0.12])   # above the handle, fingers along +x, palm facing down
UR10E = UR10eReach()


def _case(name):
    if name == "pga":     # thumb against index + middle + ring across the handle
        return hand({"thumb": handle_face(-1, 0.05), "index": handle_face(1, 0.04),
                     "middle": handle_face(1, 0.055), "ring": handle_face(1, 0.07)}, PALM), PALM
    if name == "pinch":   # two fingers each side: pushes cancel
        return hand({"thumb": handle_face(-1, 0.045), "little": handle_face(-1, 0.065),
                     "index": handle_face(1, 0.045), "middle": handle_face(1, 0.065)}, PALM), PALM
    if name == "pta":     # one finger on the handle
        return hand({"index": handle_face(1, 0.05)}, PALM), PALM
    if name == "body":    # fingers on the mug's body, away from the handle
        pts = {f: CENTRE + [-0.043 * math.cos(a), 0.043 * math.sin(a), 0.05]
               for f, a in zip(("thumb", "index", "middle"), (-0.6, 0.0, 0.6))}
        return hand(pts, PALM), PALM
    if name == "collide":  # the palm plate cuts through the body
        palm = CENTRE + [0.0, 0.0, 0.05]
        return hand({"index": handle_face(1, 0.05)}, palm), palm
    if name == "far":     # beyond the UR10e's reach
        palm = np.array([2.0, 0.0, 0.5])
        return hand({}, palm), palm
    raise KeyError(name)


def _rank(names, cloud=None, config=None, **kw):
    cases = [_case(n) for n in names]
    grasps = [grasp_at(palm) for _, palm in cases]
    for g, n in zip(grasps, names):
        g.extras["case"] = n
    fingers = np.stack([f for (f, _), _ in cases])
    surface = np.stack([s for (_, s), _ in cases])
    kw.setdefault("reach", UR10E)
    return rank_grasps(grasps, cloud or mug_scene(), "handle", fingers, surface, np.eye(4),
                       config or RankingConfig(), **kw)


def test_contact_terms_follow_the_paper_pta_pga_rule():
    ranking = _rank(["pga", "pta", "body"])
    by = {r.grasp.extras["case"]: r for r in ranking.accepted}
    assert by["pga"].details["fingers_on_part"] == ["thumb", "index", "middle", "ring"]
    assert by["pga"].details["pga"] and by["pga"].terms["contact"] == 1.0
    assert by["pta"].details["fingers_on_part"] == ["index"]
    assert by["pta"].details["pta"] and not by["pta"].details["pga"]
    assert by["pta"].terms["contact"] == pytest.approx(1 / 3)
    assert by["body"].details["fingers_on_part"] == [] and not by["body"].details["pta"]
    assert [r.grasp.extras["case"] for r in ranking.accepted] == ["pga", "pta", "body"]


def test_a_finger_nearer_another_part_is_not_on_the_target():
    # a fingertip 5.5 mm from the handle but 4.5 mm from the body: it touches the body
    tip = np.array([CENTRE[0] + 0.0445, CENTRE[1], 0.05])
    cloud = mug_scene()
    d_handle = np.linalg.norm(cloud.points[cloud.part_ids == 1] - tip, axis=1).min()
    d_body = np.linalg.norm(cloud.points[cloud.part_ids == 0] - tip, axis=1).min()
    assert d_body < d_handle < 0.01
    fingers, surface = hand({"index": tip}, PALM)
    r = rank_grasps([grasp_at(PALM)], cloud, "handle", fingers[None], surface[None], np.eye(4))
    assert r.accepted[0].details["fingers_on_part"] == []
    r_body = rank_grasps([grasp_at(PALM)], cloud, "body", fingers[None], surface[None], np.eye(4))
    assert r_body.accepted[0].details["fingers_on_part"] == ["index"]


def test_score_is_the_weighted_sum_and_every_term_is_reported():
    config = RankingConfig(w_collision=0.3, w_contact=1.7, w_reach=0.2, w_closure=0.9)
    for r in _rank(["pga", "pta"], config=config).accepted:
        assert set(r.terms) == set(TERMS) and all(0.0 <= v <= 1.0 for v in r.terms.values())
        assert r.score == pytest.approx(sum(config.weights[t] * r.terms[t] for t in TERMS))
        assert r.terms["reach"] > 0 and r.terms["collision"] == 1.0
        assert len(r.details["q"]) == 6


def test_closure_proxy_prefers_opposing_contacts():
    by = {r.grasp.extras["case"]: r for r in _rank(["pinch", "pga", "pta"]).accepted}
    assert by["pinch"].details["spread"] == pytest.approx(1.0, abs=1e-6)
    assert by["pga"].details["spread"] == pytest.approx(0.5, abs=1e-6)
    assert by["pta"].details["spread"] == 0.0 and by["pta"].terms["closure"] == 0.0
    assert by["pinch"].details["sigma_min"] > 0
    assert by["pinch"].terms["closure"] > by["pga"].terms["closure"] > 0


def test_collisions_and_unreachable_poses_are_rejected_with_reasons():
    ranking = _rank(["collide", "far", "pga"])
    assert [r.grasp.extras["case"] for r in ranking.accepted] == ["pga"]
    reasons = {r.grasp.extras["case"]: r.reason for r in ranking.rejected}
    assert reasons["collide"].startswith("collision: the hand lies")
    assert reasons["far"].startswith("unreachable:")
    collide = next(r for r in ranking.rejected if r.grasp.extras["case"] == "collide")
    assert collide.details["surface_penetration_m"] > 0.02
    assert ranking.best.grasp.extras["case"] == "pga"


def test_without_an_arm_every_grasp_is_reachable():
    ranking = _rank(["far", "pga"], reach=None)                 # a floating hand
    assert {r.grasp.extras["case"] for r in ranking.accepted} == {"far", "pga"}
    assert all(r.terms["reach"] == 1.0 and r.details["q"] == [] for r in ranking.accepted)


def test_require_contact_and_no_feasible_grasp():
    ranking = _rank(["body", "far"], config=RankingConfig(require_contact=True))
    assert not ranking.accepted
    assert {r.reason.split(":")[0] for r in ranking.rejected} == {"no contact", "unreachable"}
    with pytest.raises(GraspRefusedError, match="none of the 2 sampled grasps is feasible"):
        _ = ranking.best


def test_ranking_in_the_camera_frame_matches_the_base_frame():
    from scipy.spatial.transform import Rotation

    T_cam_base = np.eye(4)
    T_cam_base[:3, :3] = Rotation.from_euler("xyz", [2.5, 0.2, -0.4]).as_matrix()
    T_cam_base[:3, 3] = [0.1, -0.3, 1.1]
    base = mug_scene()
    R, t = T_cam_base[:3, :3], T_cam_base[:3, 3]
    cam = LabelledCloud(base.points @ R.T + t, base.part_ids, base.part_names, base.normals @ R.T,
                        base.object_ids, "camera")
    names = ["pga", "pinch", "pta", "collide"]
    cases = [_case(n) for n in names]
    fingers = np.stack([f for (f, _), _ in cases]) @ R.T + t
    surface = np.stack([s for (_, s), _ in cases]) @ R.T + t
    grasps = [grasp_at(p).transformed(T_cam_base, "camera") for _, p in cases]
    in_cam = rank_grasps(grasps, cam, "handle", fingers, surface, np.linalg.inv(T_cam_base), reach=UR10E)
    in_base = _rank(names)
    # equal up to which of two equidistant cloud points a finger's contact snaps to (2 mm grid)
    assert [r.score for r in in_cam.accepted] == pytest.approx([r.score for r in in_base.accepted], abs=0.03)
    assert [r.terms["contact"] for r in in_cam.accepted] == [r.terms["contact"] for r in in_base.accepted]
    assert [r.details["surface_penetration_m"] for r in in_cam.rejected] == pytest.approx(
        [r.details["surface_penetration_m"] for r in in_base.rejected], abs=1e-9)
    assert [r.reason for r in in_cam.rejected] == [r.reason for r in in_base.rejected]


def test_missing_normals_are_estimated_and_face_the_camera():
    scene = mug_scene()
    visible = np.einsum("ij,ij->i", scene.normals, np.asarray(scene.viewpoint) - scene.points) > 0
    seen = LabelledCloud(scene.points[visible], scene.part_ids[visible], scene.part_names, None,
                         None, "base", scene.viewpoint)
    estimated = seen.with_normals(0.01).normals
    agreement = np.einsum("ij,ij->i", estimated, scene.normals[visible])
    assert np.mean(agreement > 0.9) > 0.9


def test_hand_points_pads_fingers_and_stacks_surfaces():
    class TwoPointFingers:   # any object with the ShadowHand's two point methods
        def finger_points(self, grasp):
            return {f: grasp.position + np.arange(1 + (f == "thumb")) [:, None] * [0, 0, 0.01] for f in FINGERS}

        def surface_points(self, grasp, n, seed=0):
            return np.tile(grasp.position, (n, 1))

    fingers, surface = hand_points(TwoPointFingers(), [grasp_at(PALM), grasp_at(PALM + 0.1)], n_surface=7)
    assert fingers.shape == (2, 5, 2, 3) and surface.shape == (2, 7, 3)
    assert np.allclose(fingers[1, 1], PALM + 0.1)          # one point repeated


def test_bad_inputs_are_refused():
    (fingers, surface), palm = _case("pga")
    cloud = mug_scene()
    with pytest.raises(InvalidInputError, match="frame"):
        rank_grasps([grasp_at(palm, frame="camera")], cloud, "handle", fingers[None], surface[None], np.eye(4))
    with pytest.raises(InvalidInputError, match="lid"):
        rank_grasps([grasp_at(palm)], cloud, "lid", fingers[None], surface[None], np.eye(4))
    with pytest.raises(InvalidInputError, match="finger_points"):
        rank_grasps([grasp_at(palm)], cloud, "handle", fingers, surface[None], np.eye(4))
    with pytest.raises(InvalidInputError):
        RankingConfig(contact_distance=0.0)
    with pytest.raises(InvalidInputError):
        LabelledCloud(np.zeros((3, 3)), [0, 1, 2], ("a", "b"))


def _capsule_points(a, b, r, n=200):
    """Points on a capsule's cylinder (a→b, radius r)."""
    rng = np.random.default_rng(0)
    axis = (np.asarray(b) - a) / np.linalg.norm(np.asarray(b) - a)
    u = np.cross(axis, [1.0, 0.0, 0.0] if abs(axis[0]) < 0.9 else [0.0, 1.0, 0.0])
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    t, phi = rng.uniform(0, 1, n), rng.uniform(0, 2 * np.pi, n)
    return np.asarray(a) + t[:, None] * (np.asarray(b) - a) + r * (np.cos(phi)[:, None] * u + np.sin(phi)[:, None] * v)


def test_volume_measure_is_the_depth_of_scene_points_inside_the_primitives():
    cloud = LabelledCloud(np.array([[0.004, 0.0, 0.05], [0.5, 0.5, 0.5], [1.015, 0.0, 0.0]]), [0, 0, 0], ("p",),
                          np.tile([0.0, 0.0, 1.0], (3, 1)), frame="base")
    box = np.tile(np.eye(4), (2, 1, 1, 1))
    box[0, 0, :3, 3] = [1.0, 0.0, 0.0]                       # grasp 0: the box holds the third point
    box[1, 0, :3, 3] = [2.0, 0.0, 0.0]
    ends = np.array([[[[0.0, 0.0, 0.0], [0.0, 0.0, 0.1]]], [[[0.1, 0.0, 0.0], [0.1, 0.0, 0.1]]]])
    volume = HandVolume(ends, np.array([0.01]), box, np.array([[0.02, 0.02, 0.02]]))
    from scipy.spatial import cKDTree

    depth = _scene_in_hand(volume, cloud, cKDTree(cloud.points))
    assert depth == pytest.approx([0.006, 0.0])               # capsule: 1 cm − 4 mm; box: 5 mm < 6 mm


def test_a_finger_behind_a_thin_part_in_a_single_view_cloud():
    full = mug_scene()
    seen = np.einsum("ij,ij->i", full.normals, np.asarray(full.viewpoint) - full.points) > 0
    cloud = LabelledCloud(full.points[seen], full.part_ids[seen], full.part_names, full.normals[seen],
                          full.object_ids[seen], "base", full.viewpoint)
    # the handle's −y face is not seen from the viewpoint (y = 0.6); a finger rests 1 mm behind it
    assert not np.any((cloud.normals[:, 1] < -0.9) & (cloud.part_ids == 1))
    a, b = [0.86, HANDLE_LO[1] - 0.008, 0.04], [0.86, HANDLE_LO[1] - 0.008, 0.07]
    fingers, surface = hand({"thumb": handle_face(-1, 0.055)}, PALM)
    surface = np.concatenate([surface, _capsule_points(a, b, 0.007)])
    ends = np.array([[[a, b]]])
    volume = HandVolume(ends, np.array([0.007]), np.zeros((1, 0, 4, 4)), np.zeros((0, 3)))
    args = ([grasp_at(PALM)], cloud, "handle", fingers[None], surface[None], np.eye(4))
    by_surface = rank_grasps(*args, RankingConfig(collision_measure="surface"))
    by_volume = rank_grasps(*args, RankingConfig(), volume)      # auto: the volume measure
    assert by_surface.rejected and by_surface.rejected[0].reason.startswith("collision")
    assert by_volume.accepted and by_volume.accepted[0].details["volume_penetration_m"] == 0.0
    assert by_surface.rejected[0].details["surface_penetration_m"] > 0.01
    both = rank_grasps(*args, RankingConfig(collision_measure="both"), volume)
    assert both.rejected and both.rejected[0].details["volume_penetration_m"] == 0.0
    with pytest.raises(InvalidInputError, match="needs the hand's volume"):
        rank_grasps(*args, RankingConfig(collision_measure="volume"))

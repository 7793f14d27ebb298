"""The antipodal sampler on synthetic primitives with known antipodal axes, and its GraspGroup output."""

import math

import graspnetAPI  # installed by scripts/setup.sh: a missing install must fail, not skip
import numpy as np
import pytest

from realvlg.errors import DepthError, GraspRefusedError, InvalidInputError
from realvlg.planning.antipodal import AntipodalConfig, in_hand_counts, sample_antipodal, voxel_downsample
from realvlg.planning.object_grasp import SupportPlane

CENTRE = np.array([0.02, -0.01, 0.5])  # in front of the camera: preferred approach ≈ the optical axis
TABLE = 0.6  # depth of a table seen from straight above [m]
TABLE_PLANE = SupportPlane(np.array([0.0, 0.0, 1.0]), np.array([0.0, 0.0, TABLE]))  # normal away from the camera


def _box_surface(size, n=20000, seed=0):
    """Points uniformly on the surface of an axis-aligned box of ``size`` (x, y, z) at CENTRE."""
    rng = np.random.default_rng(seed)
    size = np.asarray(size, float)
    areas = np.array([size[1] * size[2], size[0] * size[2], size[0] * size[1]])
    axis = rng.choice(3, n, p=np.repeat(areas, 1) / areas.sum())
    p = (rng.random((n, 3)) - 0.5) * size
    p[np.arange(n), axis] = np.where(rng.random(n) < 0.5, -0.5, 0.5) * size[axis]
    return p + CENTRE


def _cylinder_surface(radius, length, n=20000, seed=0):
    """A cylinder lying along x (side surface and caps) at CENTRE."""
    rng = np.random.default_rng(seed)
    side = int(n * length / (length + radius))
    phi = rng.random(side) * 2 * np.pi
    sides = np.c_[(rng.random(side) - 0.5) * length, radius * np.cos(phi), radius * np.sin(phi)]
    r = radius * np.sqrt(rng.random(n - side))
    phi = rng.random(n - side) * 2 * np.pi
    caps = np.c_[np.where(rng.random(n - side) < 0.5, -0.5, 0.5) * length, r * np.cos(phi), r * np.sin(phi)]
    return np.vstack([sides, caps]) + CENTRE


def _sphere_surface(radius, n=20000, seed=0):
    v = np.random.default_rng(seed).normal(size=(n, 3))
    return radius * v / np.linalg.norm(v, axis=1, keepdims=True) + CENTRE


def test_box_is_closed_across_one_pair_of_opposite_faces():
    size = np.array([0.04, 0.06, 0.12])  # z too long for the gripper
    result = sample_antipodal(_box_surface(size))
    grasps = result.grasps(top=8)
    assert len(grasps) >= 3
    for g in grasps:
        axis = int(np.argmax(np.abs(g.closing)))
        assert axis in (0, 1) and abs(g.closing[axis]) > 0.97          # along x or y, never z
        assert g.width == pytest.approx(size[axis], abs=0.006)           # the faces' distance
        assert abs(g.closing @ g.approach) < 1e-9
        assert g.extras["score_parts"]["antipodal"] > 0.5


def test_lying_cylinder_is_closed_across_its_axis_through_it():
    radius = 0.025
    for g in sample_antipodal(_cylinder_surface(radius, 0.15)).grasps(top=8):
        assert abs(g.closing[0]) < 0.1                                   # across the axis (x)
        assert g.width == pytest.approx(2 * radius, abs=0.006)
        # the closing line passes through the axis: the centre lies on it (y, z of the axis)
        np.testing.assert_allclose(g.position[1:], CENTRE[1:], atol=0.005)


def test_sphere_is_closed_along_a_diameter():
    radius = 0.03
    for g in sample_antipodal(_sphere_surface(radius)).grasps(top=8):
        off_line = (CENTRE - g.position) - g.closing * ((CENTRE - g.position) @ g.closing)
        assert np.linalg.norm(off_line) < 0.005                           # the line goes through the centre
        assert g.width == pytest.approx(2 * radius, abs=0.006)


def test_output_is_a_graspnet_group_sorted_and_suppressed():
    cfg = AntipodalConfig()
    result = sample_antipodal(_box_surface([0.04, 0.06, 0.12]), config=cfg)
    group = result.group
    assert isinstance(group, graspnetAPI.GraspGroup) and group.grasp_group_array.shape[1] == 17
    assert np.all(np.diff(group.scores) <= 0) and np.all(group.object_ids == -1)
    assert set(result.parts) == {"antipodal", "centroid", "approach"}
    w = np.array(cfg.weights) / sum(cfg.weights)
    total = w[0] * result.parts["antipodal"] + w[1] * result.parts["centroid"] + w[2] * result.parts["approach"]
    np.testing.assert_allclose(group.scores, total, atol=1e-9)
    # graspnetAPI's x axis is realvlg's approach, its t the grasp centre
    for i, g in enumerate(result.grasps()):
        np.testing.assert_allclose(group.rotation_matrices[i][:, 0], g.approach, atol=1e-9)
        np.testing.assert_allclose(group.translations[i], g.position)
    # NMS: no two survivors close in both translation and rotation
    t, R = group.translations, group.rotation_matrices
    for i in range(len(group)):
        for j in range(i):
            close = np.linalg.norm(t[i] - t[j]) < cfg.nms_translation
            angle = np.arccos(np.clip((np.trace(R[i].T @ R[j]) - 1) / 2, -1, 1))
            assert not (close and angle < cfg.nms_rotation)


def test_deterministic_for_a_seed():
    cloud = _sphere_surface(0.03)
    a, b = sample_antipodal(cloud), sample_antipodal(cloud)
    np.testing.assert_array_equal(a.group.grasp_group_array, b.group.grasp_group_array)


def test_errors():
    with pytest.raises(GraspRefusedError, match="wider than the gripper"):
        sample_antipodal(_sphere_surface(0.06))
    with pytest.raises(InvalidInputError):
        sample_antipodal(np.full((50, 3), np.nan))
    with pytest.raises(DepthError):
        sample_antipodal(CENTRE + np.zeros((5, 3)))
    with pytest.raises(InvalidInputError):
        AntipodalConfig(min_width=0.1, max_width=0.08)
    # a shell around the sphere that every finger passes through: everything collides
    with pytest.raises(GraspRefusedError, match="collide"):
        sample_antipodal(_sphere_surface(0.03), scene_points=_sphere_surface(0.042, n=40000),
                         config=AntipodalConfig(collision_tolerance=0, max_collision_checks=64))


def test_friction_narrows_the_cone():
    cloud = _sphere_surface(0.03) + np.random.default_rng(1).normal(scale=0.001, size=(20000, 3))  # noisy normals
    loose = sample_antipodal(cloud, config=AntipodalConfig(friction=1.0))
    tight = sample_antipodal(cloud, config=AntipodalConfig(friction=0.1))
    assert loose.stats["antipodal_pairs"] > tight.stats["antipodal_pairs"] > 0
    assert math.isfinite(tight.group.scores[0])


def _standing_pear(step=0.0015):
    """A pear on the table (depth ``TABLE``) seen from straight above (camera frame, optical z down):
    a 6.8 cm body, a 4.4 cm neck up to 9.8 cm and a stem up to 11 cm (the simulated pear's shapes);
    the object's and the scene's points (pear and table)."""
    x, y = np.meshgrid(np.arange(-0.06, 0.06, step), np.arange(-0.06, 0.06, step))
    r2 = x ** 2 + y ** 2
    top = np.full(x.shape, -np.inf)
    for radius, half_height, centre in ((0.034, 0.032, 0.032), (0.022, 0.03, 0.068)):  # ellipsoids
        inside = r2 < radius ** 2
        top[inside] = np.maximum(top[inside], centre + half_height * np.sqrt(1 - r2[inside] / radius ** 2))
    top[r2 < 0.002 ** 2] = 0.11
    on = np.isfinite(top)
    pear = np.c_[x[on], y[on], TABLE - top[on]]
    return pear, np.vstack([pear, np.c_[x[~on], y[~on], np.full((~on).sum(), TABLE)]])


def _hits(grasps, points, cfg):
    """Points of ``points`` (voxel-downsampled as the sampler does) inside each grasp's hand."""
    points = voxel_downsample(points, cfg.collision_voxel)
    return [int(in_hand_counts(points, g.position[None], g.rotation.as_matrix()[None],
                               np.array([g.width + cfg.width_clearance]), cfg.gripper)[0]) for g in grasps]


def test_an_object_taller_than_the_fingers_is_grasped_where_the_palm_clears_its_top():
    """Issue 19: the best-scored grasps of a standing pear close across its body, where the palm
    lands on its own neck and stem; the 400 of them the sampler used to check all collided and the
    pear was refused. The free grasps (higher up the neck, backed off along their approach so the
    palm clears the top, or tilted) are found, and clear of it."""
    pear, scene = _standing_pear()
    cfg = AntipodalConfig()
    result = sample_antipodal(pear, scene, TABLE_PLANE, cfg)
    assert result.stats["collision_checked"] > 400 and result.stats["backed_off"] > 0 and len(result) >= 3
    assert max(_hits(result.grasps(), pear, cfg)) <= cfg.collision_tolerance


def test_a_neighbour_beside_the_tall_object_still_rejects_the_grasps_that_hit_it():
    """Checking every candidate lets no neighbour collision through: a tall box 1.5 cm beside the
    pear's body is hit by some of the grasps found without it, by none of those found with it."""
    pear, scene = _standing_pear()
    x, z = np.meshgrid(np.arange(-0.06, 0.06, 0.002), np.arange(0.0, 0.2, 0.002))
    box = np.c_[np.full(x.size, 0.034 + 0.015), x.ravel(), TABLE - z.ravel()]  # its face towards the pear
    cfg = AntipodalConfig()
    alone = sample_antipodal(pear, scene, TABLE_PLANE, cfg).grasps()
    assert max(_hits(alone, box, cfg)) > cfg.collision_tolerance
    beside = sample_antipodal(pear, np.vstack([scene, box]), TABLE_PLANE, cfg).grasps()
    assert beside and max(_hits(beside, np.vstack([pear, box]), cfg)) <= cfg.collision_tolerance

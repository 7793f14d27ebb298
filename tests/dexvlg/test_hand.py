"""The floating Shadow Hand: MJCF, joint limits, torch FK against MuJoCo, surface points."""

import importlib.util

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

mujoco = pytest.importorskip("mujoco")
if importlib.util.find_spec("gymnasium_robotics") is None:
    pytest.skip("gymnasium-robotics (the Shadow Hand MJCF) is not installed", allow_module_level=True)

from realvlg.dexvlg.hand import FINGER_LINKS, ShadowHand, couple_distal
from realvlg.errors import InvalidInputError
from realvlg.geometry.grasps import DexGrasp
from realvlg.shadow_hand import FINGERS, J0_COUPLING, JOINT_LOWER, JOINT_UPPER, SHADOW_JOINTS


@pytest.fixture(scope="module")
def hand():
    return ShadowHand()


def random_grasp(rng, frame="object"):
    q = couple_distal(rng.uniform(JOINT_LOWER, JOINT_UPPER))
    return DexGrasp(rng.uniform(-0.3, 0.3, 3), Rotation.random(random_state=int(rng.integers(1 << 30))), q, frame)


def test_model_is_a_floating_hand_with_22_joints(hand):
    m = hand.model
    names = [mujoco.mj_id2name(m, mujoco.mjtObj.mjOBJ_JOINT, j).removeprefix("robot0:") for j in range(m.njnt)]
    assert tuple(names) == SHADOW_JOINTS  # no wrist joints
    assert m.nmocap == 1 and m.nu == 18  # the two wrist actuators are gone
    np.testing.assert_allclose(m.jnt_range[:, 0], JOINT_LOWER)
    np.testing.assert_allclose(m.jnt_range[:, 1], JOINT_UPPER)


def test_torch_fk_matches_mujoco(hand):
    rng = np.random.default_rng(0)
    for _ in range(5):
        g = random_grasp(rng)
        poses = hand.forward(g)
        hand.set_state(g)
        for name, b in zip(hand.body_names, hand.body_ids):
            np.testing.assert_allclose(poses[name][:3, 3], hand.data.xpos[b], atol=1e-9)
            np.testing.assert_allclose(poses[name][:3, :3], hand.data.xmat[b].reshape(3, 3), atol=1e-9)
        np.testing.assert_allclose(poses["robot0:palm"], g.homogeneous(), atol=1e-12)


def test_finger_points_lie_on_the_finger_links_and_follow_the_frame(hand):
    rng = np.random.default_rng(1)
    g = random_grasp(rng)
    pts = hand.finger_points(g)
    assert tuple(pts) == FINGERS
    hand.set_state(g)
    for finger, p in pts.items():
        assert p.shape == (128, 3)
        # each point is on the surface of one of the finger's middle/distal collision capsules
        dist = np.full(len(p), np.inf)
        for gid in hand.collision_geoms:
            body = mujoco.mj_id2name(hand.model, mujoco.mjtObj.mjOBJ_BODY, hand.model.geom_bodyid[gid])
            if body.removeprefix("robot0:") not in FINGER_LINKS[finger]:
                continue
            r, h = hand.model.geom_size[gid][:2]
            R, c = hand.data.geom_xmat[gid].reshape(3, 3), hand.data.geom_xpos[gid]
            local = (p - c) @ R
            axis = np.clip(local[:, 2], -h, h)
            d = np.linalg.norm(local - np.column_stack([0 * axis, 0 * axis, axis]), axis=1) - r
            dist = np.minimum(dist, np.abs(d))
        assert dist.max() < 1e-9
    T = np.eye(4)
    T[:3, :3] = Rotation.from_euler("xyz", (0.3, -0.2, 1.0)).as_matrix()
    T[:3, 3] = (0.5, -0.1, 0.2)
    moved = hand.finger_points(g.transformed(T, "base"))
    np.testing.assert_allclose(moved["thumb"], pts["thumb"] @ T[:3, :3].T + T[:3, 3], atol=1e-12)


def test_surface_points(hand):
    g = random_grasp(np.random.default_rng(2))
    all_pts = hand.surface_points(g)
    assert all_pts.shape == (18 * 64, 3)
    sub = hand.surface_points(g, 200, seed=3)
    assert sub.shape == (200, 3)
    np.testing.assert_array_equal(sub, hand.surface_points(g, 200, seed=3))
    with pytest.raises(InvalidInputError):
        hand.surface_points(g, 0)


def test_distal_coupling_satisfies_the_tendon(hand):
    q = couple_distal(np.tile(np.linspace(0, 1.3, 5)[:, None], (1, 22)))
    j1, j0 = SHADOW_JOINTS.index("FFJ1"), SHADOW_JOINTS.index("FFJ0")
    np.testing.assert_allclose(q[:, j0], J0_COUPLING * q[:, j1])
    assert np.all(np.abs(0.00705 * q[:, j0] - 0.00805 * q[:, j1]) <= 0.001)  # T_FFJ1c's range
    thumb = SHADOW_JOINTS.index("THJ0")
    np.testing.assert_array_equal(q[:, thumb], np.linspace(0, 1.3, 5))  # the thumb is not coupled

"""The simulated world: physics settles, poses match the documented constants, the wrist camera's
depth, intrinsics and pose agree with the true object poses."""

import numpy as np
import pytest

from realvlg.errors import InvalidInputError
from realvlg.objects import OBJECTS
from realvlg.robots.franka.config_franka import FR3_HOME_Q
from realvlg.sim.common import CameraConfig, Placement
from realvlg.sim.fr3_world import OBSERVATION_CAMERA, OBSERVATION_EE, FR3World, FR3WorldConfig, SimError
from realvlg.sim.scenes import generate_scene

pytestmark = pytest.mark.sim


@pytest.fixture(scope="module")
def clutter_world(module_world_factory):
    return module_world_factory(generate_scene("clutter", 5).placements, settle_s=0.5)


def test_objects_settle_without_jitter(clutter_world):
    w = clutter_world
    before = w.object_poses()
    w.wait(1.0)
    after = w.object_poses()
    for name in w.object_names:
        assert np.linalg.norm(after[name][:3, 3] - before[name][:3, 3]) < 1e-3, name
        assert abs(after[name][2, 3]) < 2e-3, name  # resting on the table top (z = 0)
    assert max(w.object_speeds().values()) < 5e-3


def test_observation_pose_matches_the_documented_constants(clutter_world):
    obs = clutter_world.render()
    np.testing.assert_allclose(clutter_world.ee_pose(), OBSERVATION_EE, atol=2e-3)
    np.testing.assert_allclose(obs.base_from_camera.matrix, OBSERVATION_CAMERA, atol=2e-3)


def test_render_shapes_and_every_object_visible(clutter_world):
    obs = clutter_world.render()
    K = obs.intrinsics
    assert (K.width, K.height) == (320, 240) and K.fx == K.fy == pytest.approx(910 / 4)
    assert obs.color.shape == (240, 320, 3) and obs.color.dtype == np.uint8
    assert obs.depth.shape == (240, 320) and obs.depth.dtype == np.float32
    assert obs.labels.objects.shape == (240, 320)
    for name in clutter_world.object_names:
        assert obs.labels.object_mask(name).sum() > 20, name
    handle = obs.labels.part_mask("mug", "handle")
    assert 0 < handle.sum() < obs.labels.object_mask("mug").sum()
    assert not (handle & ~obs.labels.object_mask("mug")).any()
    with pytest.raises(InvalidInputError):
        obs.labels.object_mask("teapot")


@pytest.mark.parametrize("name, local_point", [("bottle", (0, 0, 0.2)), ("orange", (0, 0, 0.0677)),
                                               ("stapler", (0.0, 0, 0.038))])
def test_depth_back_projects_onto_the_true_object_surface(clutter_world, name, local_point):
    """Project a known point on top of an object into the image, read the depth there and
    back-project it: it must land on that point (the object's pose from the simulator)."""
    obs = clutter_world.render()
    p_base = clutter_world.object_poses()[name] @ np.array([*local_point, 1.0])
    T_cam_base = np.linalg.inv(obs.base_from_camera.matrix)
    p_cam = (T_cam_base @ p_base)[:3]
    K = obs.intrinsics
    u, v = K.fx * p_cam[0] / p_cam[2] + K.cx, K.fy * p_cam[1] / p_cam[2] + K.cy
    ui, vi = int(round(u)), int(round(v))
    assert obs.labels.objects[vi, ui] == obs.labels.object_names.index(name)
    z = float(obs.depth[vi, ui])
    back = np.array([(ui - K.cx) * z / K.fx, (vi - K.cy) * z / K.fy, z])
    back_base = (obs.base_from_camera.matrix @ np.array([*back, 1.0]))[:3]
    # Top surfaces are flat or round near the top: allow the pixel's footprint (~2.4 mm here).
    assert abs(z - p_cam[2]) < 3e-3
    np.testing.assert_allclose(back_base, p_base[:3], atol=5e-3)


def test_depth_of_the_table_is_its_plane(clutter_world):
    obs = clutter_world.render()
    K = obs.intrinsics
    table = (obs.labels.objects < 0) & (obs.depth > 0)
    v, u = np.nonzero(table)
    z = obs.depth[v, u]
    pts = np.stack([(u - K.cx) * z / K.fx, (v - K.cy) * z / K.fy, z], axis=1)
    base = pts @ obs.base_from_camera.matrix[:3, :3].T + obs.base_from_camera.matrix[:3, 3]
    on_table = base[np.abs(base[:, 2]) < 0.01]
    assert len(on_table) > 0.5 * len(base)  # most background pixels are the table top
    assert np.abs(on_table[:, 2]).max() < 2e-3


def test_unknown_object_and_double_start_are_clear_errors(world_factory):
    with pytest.raises(InvalidInputError, match="unknown objects"):
        FR3World([Placement("teapot", 0.5, 0)])
    w = world_factory([Placement("apple", 0.45, 0.0)], settle_s=0.0)
    with pytest.raises(SimError, match="already started"):
        w.start()
    with pytest.raises(SimError, match="cannot serve"):
        FR3World([], FR3WorldConfig(hostname=w.hostname)).start()
    assert set(OBJECTS["apple"].parts) == {"body", "stem"}


def test_an_offline_world_poses_and_renders_without_a_robot_server():
    w = FR3World([Placement("apple", 0.45, 0.0), Placement("mug", 0.5, 0.1)], FR3WorldConfig(camera=CameraConfig(320, 240))).build()
    try:
        w.pose([Placement("apple", 0.45, 0.0)], FR3_HOME_Q)
        obs = w.render()
        np.testing.assert_allclose(obs.base_from_camera.matrix, OBSERVATION_CAMERA, atol=1e-3)
        assert obs.labels.object_mask("apple").sum() > 100 and obs.labels.object_mask("mug").sum() == 0  # the mug is parked
        q = np.array(FR3_HOME_Q) + [0.1, 0, 0, 0, 0, 0, 0]
        w.pose([Placement("apple", 0.45, 0.0)], q)
        assert np.abs(w.render().base_from_camera.matrix[:3, 3] - obs.base_from_camera.matrix[:3, 3]).max() > 0.02
        with pytest.raises(SimError, match="already started"):
            w.start()
    finally:
        w.stop()

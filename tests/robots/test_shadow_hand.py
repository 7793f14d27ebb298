"""ShadowHandCommander: driver joint names, limits (against the MJCF file), timing, refusals."""

import pathlib
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from realvlg.errors import GraspRefusedError, InvalidInputError
from realvlg.robots.ur10e_shadow.hand import ShadowHandCommander, ShadowHandConfig, driver_joint_name
from realvlg.shadow_hand import SHADOW_JOINTS, SHADOW_LIMITS

MID = np.array([(SHADOW_LIMITS[j][0] + SHADOW_LIMITS[j][1]) / 2 for j in SHADOW_JOINTS])


def test_limits_are_the_gymnasium_robotics_mjcf_ranges():
    gr = pytest.importorskip("gymnasium_robotics")
    xml = pathlib.Path(gr.__file__).parent / "envs" / "assets" / "hand" / "robot.xml"
    ranges = {j.get("name").removeprefix("robot0:"): tuple(map(float, j.get("range").split()))
              for j in ET.parse(xml).iter("joint")}
    assert ranges == SHADOW_LIMITS


def test_driver_names_count_from_one_with_the_prefix():
    cmd = ShadowHandCommander()
    assert cmd.joint_names[:2] == ("rh_WRJ2", "rh_WRJ1")
    assert cmd.joint_names[2:6] == ("rh_FFJ4", "rh_FFJ3", "rh_FFJ2", "rh_FFJ1")
    assert "rh_LFJ5" in cmd.joint_names and "rh_THJ5" in cmd.joint_names and len(cmd.joint_names) == 24
    left = ShadowHandCommander(ShadowHandConfig(prefix="lh_", naming="mjcf", include_wrist=False))
    assert left.joint_names == tuple("lh_" + j for j in SHADOW_JOINTS)
    assert driver_joint_name("THJ0") == "rh_THJ1"


def test_a_target_becomes_one_point_with_the_wrist_straight():
    traj = ShadowHandCommander().trajectory(MID)
    assert traj.positions.shape == (1, 24) and traj.times.tolist() == [1.0]
    assert np.array_equal(traj.positions[0, :2], [0.0, 0.0])
    assert np.allclose(traj.positions[0, 2:], MID)


def test_with_a_start_the_duration_follows_the_largest_move():
    cmd = ShadowHandCommander(ShadowHandConfig(max_velocity=0.5, waypoints=4))
    start = MID.copy()
    target = MID.copy()
    target[SHADOW_JOINTS.index("FFJ2")] = 1.5           # the largest move
    traj = cmd.trajectory(target, start=start)
    move = 1.5 - MID[SHADOW_JOINTS.index("FFJ2")]
    assert traj.times[-1] == pytest.approx(move / 0.5)
    assert np.allclose(np.diff(traj.times), traj.times[0])
    assert np.allclose(traj.positions[-1, 2:], target) and np.allclose(traj.positions[1, 2:], start + (target - start) / 2)
    with pytest.raises(GraspRefusedError, match="too fast"):
        cmd.trajectory(target, start=start, duration=0.5)


def test_targets_outside_the_limits_are_refused_small_excess_clipped():
    cmd = ShadowHandCommander()
    bad = MID.copy()
    bad[SHADOW_JOINTS.index("THJ0")] = 0.4
    with pytest.raises(GraspRefusedError, match=r"THJ0 = 0.400 not in \[-1.571, 0.000\]"):
        cmd.trajectory(bad)
    tiny = MID.copy()
    tiny[SHADOW_JOINTS.index("FFJ2")] = 1.5715
    assert cmd.trajectory(tiny).positions[0, 2 + SHADOW_JOINTS.index("FFJ2")] == 1.571
    with pytest.raises(InvalidInputError, match="22 finite finger angles"):
        cmd.trajectory(MID[:20])
    with pytest.raises(InvalidInputError):
        ShadowHandConfig(topic="relative/topic")

"""The FR3 robot description: franka_description's names, and its chain equal to the FR3 forward
kinematics at random joint angles — through realvlg's URDF reader and through Pinocchio's."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest

from realvlg.errors import InvalidInputError
from realvlg.frames import FR3_ARM_JOINTS, FR3_FINGER_JOINTS
from realvlg.robots.franka.description import JOINT_NAMES, joint_state, robot_description
from realvlg.robots.franka.kinematics import FR3_Q_MAX, FR3_Q_MIN, forward_kinematics
from realvlg.robots.urdf import UrdfKinematics

LINKS = {*(f"fr3_link{i}" for i in range(9)), "fr3_hand", "fr3_hand_tcp", "fr3_leftfinger", "fr3_rightfinger"}
JOINTS = {"fr3_joint1": "revolute", "fr3_joint2": "revolute", "fr3_joint3": "revolute", "fr3_joint4": "revolute",
          "fr3_joint5": "revolute", "fr3_joint6": "revolute", "fr3_joint7": "revolute", "fr3_joint8": "fixed",
          "fr3_hand_joint": "fixed", "fr3_hand_tcp_joint": "fixed", "fr3_finger_joint1": "prismatic",
          "fr3_finger_joint2": "prismatic"}


@pytest.fixture(scope="module")
def urdf():
    return robot_description()


def test_franka_description_names_and_limits(urdf):
    robot = ET.fromstring(urdf)
    assert {link.get("name") for link in robot.findall("link")} == LINKS
    assert {j.get("name"): j.get("type") for j in robot.findall("joint")} == JOINTS
    mimic = robot.find("joint[@name='fr3_finger_joint2']/mimic")
    assert mimic.get("joint") == "fr3_finger_joint1" and float(mimic.get("multiplier")) == 1.0
    lower = [float(robot.find(f"joint[@name='{j}']/limit").get("lower")) for j in FR3_ARM_JOINTS]
    np.testing.assert_array_equal(lower, FR3_Q_MIN)
    assert JOINT_NAMES == (*FR3_ARM_JOINTS, *FR3_FINGER_JOINTS)
    model = UrdfKinematics(urdf)
    assert model.root == "fr3_link0" and model.moving_joints == [*FR3_ARM_JOINTS, "fr3_finger_joint1"]
    assert {(t.parent, t.child) for t in model.fixed_transforms()} == {
        ("fr3_link7", "fr3_link8"), ("fr3_link8", "fr3_hand"), ("fr3_hand", "fr3_hand_tcp")}


def test_chain_equals_forward_kinematics_at_random_angles(urdf):
    model = UrdfKinematics(urdf)
    rng = np.random.default_rng(15)
    for q in rng.uniform(FR3_Q_MIN, FR3_Q_MAX, (50, 7)):
        state = joint_state(q, 0.06)
        np.testing.assert_allclose(model.link_pose("fr3_hand_tcp", state).matrix, forward_kinematics(q)[0],
                                   atol=1e-12)
        _, frames = forward_kinematics(q, joint_frames=True)   # each DH joint frame is a URDF link frame
        for i in range(7):
            np.testing.assert_allclose(model.link_pose(f"fr3_link{i + 1}", state).matrix, frames[0, i], atol=1e-12)
        # the fingers: 3 cm each side of the hand's centre line along its y (closing) axis
        hand = model.link_pose("fr3_hand", state).matrix
        left, right = (model.link_pose(f"fr3_{s}finger", state).matrix for s in ("left", "right"))
        np.testing.assert_allclose(hand[:3, :3].T @ (left[:3, 3] - right[:3, 3]), [0.0, 0.06, 0.0], atol=1e-12)


def test_pinocchio_reads_the_same_chain(urdf):
    pin = pytest.importorskip("pinocchio")
    model = pin.buildModelFromXML(urdf)
    data = model.createData()
    frame = model.getFrameId("fr3_hand_tcp")
    rng = np.random.default_rng(16)
    for q in rng.uniform(FR3_Q_MIN, FR3_Q_MAX, (20, 7)):
        config = np.concatenate([q, np.zeros(model.nq - 7)])
        pin.framesForwardKinematics(model, data, config)
        np.testing.assert_allclose(data.oMf[frame].homogeneous, forward_kinematics(q)[0], atol=1e-12)


def test_joint_state_and_bad_input():
    state = joint_state(np.arange(7) * 0.1, 0.08)
    assert list(state) == list(JOINT_NAMES) and state["fr3_finger_joint1"] == state["fr3_finger_joint2"] == 0.04
    with pytest.raises(InvalidInputError, match="7 joints"):
        joint_state(np.zeros(6), 0.0)
    model = UrdfKinematics(robot_description())
    with pytest.raises(InvalidInputError, match="no position for joint 'fr3_joint7'"):
        model.link_pose("fr3_hand_tcp", {j: 0.0 for j in FR3_ARM_JOINTS[:6]})
    assert len(model.moving_transforms({"fr3_joint1": 0.0, "fr3_finger_joint1": 0.01})) == 3   # + the mimic finger
    with pytest.raises(InvalidInputError, match="not a URDF"):
        UrdfKinematics("<robot")
    with pytest.raises(InvalidInputError, match="type 'floating' is not supported"):
        UrdfKinematics('<robot><joint name="j" type="floating"><parent link="a"/><child link="b"/></joint></robot>')

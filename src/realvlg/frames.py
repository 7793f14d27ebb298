"""realvlg's vocabulary of frames and hardware constants, each defined here once.

Units: metres, radians. Frames follow REP-103 (optical frames: x right, y down, z forward) and
REP-105, with the names the drivers a lab already runs publish, so realvlg's TF composes with them:

* **Franka FR3** (franka_description): ``fr3_link0`` (the robot base) → ``fr3_link1`` … ``fr3_link8``
  (the flange, 0.107 m past joint 7) → ``fr3_hand`` (turned −45° about the flange z) →
  ``fr3_hand_tcp`` (0.1034 m further along z, midway between the fingertip pads: franky's and
  libfranka's default end effector with the Franka hand). realvlg's gripper frame *is*
  ``fr3_hand_tcp``: z = approach (palm → object), y = closing (finger to finger), x = y × z.
* **RealSense** (realsense-ros): ``camera_link`` (the camera's root, on the housing) →
  ``camera_color_frame`` → ``camera_color_optical_frame``; aligned depth is published in the colour
  optical frame.
* **UR10e** (ur_description / the UR controller): ``base`` — the frame the controller reports poses
  in (ur_description's ``base_link`` turned π about z) and the DH base of
  :mod:`realvlg.robots.ur10e_shadow.kinematics`; ``tool0`` the flange. The Shadow Hand's palm frame
  (the MJCF's ``robot0:palm``) hangs on ``tool0`` at :data:`TOOL0_T_PALM`.
"""

from __future__ import annotations

import math

import numpy as np

# -- Franka FR3 + Franka hand -----------------------------------------------------------------------
FR3_BASE_FRAME = "fr3_link0"
FR3_FLANGE_FRAME = "fr3_link8"
FR3_HAND_FRAME = "fr3_hand"
FR3_TCP_FRAME = "fr3_hand_tcp"
FR3_ARM_JOINTS = tuple(f"fr3_joint{i}" for i in range(1, 8))
FR3_FINGER_JOINTS = ("fr3_finger_joint1", "fr3_finger_joint2")
FR3_LINK8_OFFSET = 0.107              # joint 7 → flange along z
FR3_HAND_YAW = -math.pi / 4           # flange → hand: turned −45° about the flange z
FR3_HAND_TCP_OFFSET = 0.1034          # hand → TCP along z
FRANKA_HAND_STROKE = 0.08             # widest opening of the Franka hand (each finger 0–0.04 m)
FINGERTIP_BELOW_TCP = 0.0098          # the fingertips reach this far past the TCP along the approach

# -- RealSense ---------------------------------------------------------------------------------------
CAMERA_LINK_FRAME = "camera_link"
COLOR_FRAME = "camera_color_frame"
COLOR_OPTICAL_FRAME = "camera_color_optical_frame"
DEPTH_OPTICAL_FRAME = "camera_depth_optical_frame"
OPTICAL_RPY = (-math.pi / 2, 0.0, -math.pi / 2)
"""REP-103: a sensor's body frame (x forward, y left, z up) ← its optical frame (x right, y down,
z forward), as fixed-axis roll, pitch, yaw (scipy ``"xyz"``): the quaternion (−½, ½, −½, ½)
(x, y, z, w) realsense-ros puts on every ``*_frame → *_optical_frame`` edge."""
D435I_COLOR_IN_CAMERA_LINK = (0.0, 0.015, 0.0)
"""Nominal ``camera_link←camera_color_frame`` translation [m] of a D435i (the colour imager 15 mm
to the left of the left infrared imager, whose origin realsense-ros makes ``camera_link``; the
rotation between the two is identity at this precision). Used where the backend has no
depth→colour extrinsics (the simulator, recordings) and to convert old calibration files."""

# -- UR10e + Shadow Hand -------------------------------------------------------------------------------
UR_BASE_FRAME = "base"
UR_FLANGE_FRAME = "tool0"
SHADOW_PALM_FRAME = "palm"
TOOL0_T_PALM = np.array([
    [1.0, 0.0, 0.0, 0.0],
    [0.0, 1.0, 0.0, 0.0],
    [0.0, 0.0, 1.0, 0.03 + 0.034],
    [0.0, 0.0, 0.0, 1.0],
])
"""tool0←palm: gymnasium-robotics' ``robot0:wrist`` body (wrist joints locked at 0) on a 3 cm
adapter plate, ``robot0:palm`` 0.034 m further along the flange z, unrotated: fingers along tool0
+z, palm facing tool0 −y. A real mount with another adapter changes it here."""
PALM_NORMAL = np.array([0.0, -1.0, 0.0])
"""The Shadow palm's grasping side in the palm frame: the fingers flex towards −y; a pre-grasp
backs the palm off along −PALM_NORMAL."""

# -- grasp motions shared by planners and executors ----------------------------------------------------
PRE_GRASP_DISTANCE = 0.10             # the pre-grasp, back from the grasp along the approach
LIFT_HEIGHT = 0.10                    # the lift after closing, straight up

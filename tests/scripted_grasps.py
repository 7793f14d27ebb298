"""A scripted Shadow Hand grasp for the UR10e + Shadow Hand tests: palm down over a sphere (the
simulated orange), known to lift it, so that execution and scoring are tested on a grasp whose
outcome is known."""

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.frames import UR_BASE_FRAME
from realvlg.geometry.grasps import DexGrasp
from realvlg.shadow_hand import SHADOW_JOINTS


def top_grasp(position, joints: dict, frame: str = UR_BASE_FRAME) -> DexGrasp:
    """Palm facing down, fingers pointing away from the robot (+x), thumb on +y."""
    R = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    j = np.array([joints.get(name, 0.0) for name in SHADOW_JOINTS])
    return DexGrasp(position, Rotation.from_matrix(R), j, frame)


# A palm-down five-finger fingertip grasp of a 7 cm sphere (fitted once by least squares of the
# fingertips onto the sphere, below its equator, thumb opposite the fingers; then written down).
ORANGE_GRASP = {
    "FFJ3": 0.101, "FFJ2": 0.574, "FFJ1": 0.154, "FFJ0": 0.176, "MFJ3": 0.084, "MFJ2": 0.556, "MFJ1": 0.202,
    "MFJ0": 0.23, "RFJ3": 0.215, "RFJ2": 0.557, "RFJ1": 0.195, "RFJ0": 0.223, "LFJ4": 0.345, "LFJ3": 0.226,
    "LFJ2": 0.345, "LFJ1": 0.129, "LFJ0": 0.147, "THJ4": 0.317, "THJ3": 0.617, "THJ2": 0.209, "THJ1": -0.315,
    "THJ0": -0.13}
SPHERE_IN_PALM = np.array([0.0248, -0.0483, 0.1317])  # the sphere's centre in the palm frame [m]

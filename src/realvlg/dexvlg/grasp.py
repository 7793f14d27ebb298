"""The dexterous grasp type: a Shadow Hand wrist pose and its 22 finger joint angles.

Conventions: metres, radians. ``position`` and ``rotation`` are the pose of the hand's **palm
frame** — the frame of the Shadow Hand MJCF's ``robot0:palm`` body in gymnasium-robotics — in the
frame named ``frame`` (an object frame, the camera's REP-103 optical frame or the robot base).
``joints`` are the 22 finger joints in :data:`SHADOW_JOINTS` order (the MJCF's joint order without
the two wrist joints; per finger from the knuckle (J3/J4) to the fingertip (J0)).

The network's vector (:meth:`DexGrasp.to_vector`, length :data:`VECTOR_SIZE` = 31): translation
(3), the rotation in the continuous 6-D representation of Zhou et al. 2019 (the first two columns
of the rotation matrix, 6), the joint angles (22). :meth:`DexGrasp.from_vector` maps any 6-D
vector back to a rotation by Gram–Schmidt.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.errors import InvalidInputError

FINGERS = ("thumb", "index", "middle", "ring", "little")
SHADOW_JOINTS = (
    "FFJ3", "FFJ2", "FFJ1", "FFJ0",
    "MFJ3", "MFJ2", "MFJ1", "MFJ0",
    "RFJ3", "RFJ2", "RFJ1", "RFJ0",
    "LFJ4", "LFJ3", "LFJ2", "LFJ1", "LFJ0",
    "THJ4", "THJ3", "THJ2", "THJ1", "THJ0",
)
"""The 22 finger joints (gymnasium-robotics' Shadow Hand names without the ``robot0:`` prefix)."""
FINGER_OF_JOINT = {"FF": "index", "MF": "middle", "RF": "ring", "LF": "little", "TH": "thumb"}
VECTOR_SIZE = 3 + 6 + len(SHADOW_JOINTS)


def rotation_to_6d(matrix: np.ndarray) -> np.ndarray:
    """(..., 3, 3) rotation matrices → (..., 6): the first two columns."""
    m = np.asarray(matrix, dtype=float)
    return np.concatenate([m[..., :, 0], m[..., :, 1]], axis=-1)


def rotation_from_6d(vector: np.ndarray) -> np.ndarray:
    """(..., 6) → (..., 3, 3) rotation matrices by Gram–Schmidt (columns a, b → x, y, z = x × y)."""
    v = np.asarray(vector, dtype=float)
    a, b = v[..., :3], v[..., 3:6]
    x = a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)
    b = b - (x * b).sum(-1, keepdims=True) * x
    y = b / np.maximum(np.linalg.norm(b, axis=-1, keepdims=True), 1e-12)
    return np.stack([x, y, np.cross(x, y)], axis=-1)


@dataclass(frozen=True)
class DexGrasp:
    """A Shadow Hand grasp (module docstring); ``extras`` carries scores, part and caption."""

    position: np.ndarray
    rotation: Rotation
    joints: np.ndarray
    frame: str = "object"
    extras: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        position = np.asarray(self.position, dtype=float).reshape(-1)
        joints = np.asarray(self.joints, dtype=float).reshape(-1)
        if position.shape != (3,) or not np.isfinite(position).all():
            raise InvalidInputError(f"a grasp position is 3 finite numbers, got {self.position!r}")
        if joints.shape != (len(SHADOW_JOINTS),) or not np.isfinite(joints).all():
            raise InvalidInputError(f"a Shadow Hand grasp has {len(SHADOW_JOINTS)} finite joint angles, "
                                    f"got shape {joints.shape}")
        object.__setattr__(self, "position", position)
        object.__setattr__(self, "joints", joints)

    def homogeneous(self) -> np.ndarray:
        T = np.eye(4)
        T[:3, :3] = self.rotation.as_matrix()
        T[:3, 3] = self.position
        return T

    def transformed(self, T_new_old: np.ndarray, frame: str) -> "DexGrasp":
        """The same grasp expressed in another frame (``T_new_old``: new←old, 4x4)."""
        T = np.asarray(T_new_old, dtype=float) @ self.homogeneous()
        return DexGrasp(T[:3, 3], Rotation.from_matrix(T[:3, :3]), self.joints, frame, dict(self.extras))

    def to_vector(self) -> np.ndarray:
        return np.concatenate([self.position, rotation_to_6d(self.rotation.as_matrix()), self.joints])

    @classmethod
    def from_vector(cls, vector, frame: str = "object", extras: dict | None = None) -> "DexGrasp":
        v = np.asarray(vector, dtype=float).reshape(-1)
        if v.shape != (VECTOR_SIZE,):
            raise InvalidInputError(f"a grasp vector has {VECTOR_SIZE} numbers, got {v.shape}")
        return cls(v[:3], Rotation.from_matrix(rotation_from_6d(v[3:9])), v[9:], frame, extras or {})

    def as_dict(self) -> dict:
        return {"frame": self.frame, "position": self.position.tolist(),
                "quaternion_xyzw": self.rotation.as_quat().tolist(),
                "joints": dict(zip(SHADOW_JOINTS, self.joints.tolist())), **self.extras}

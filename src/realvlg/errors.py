"""Typed errors of realvlg. Each carries one sentence a person can act on; nothing returns NaN."""


class RealVLGError(Exception):
    """Base class of every error realvlg raises on purpose."""


class InvalidInputError(RealVLGError, ValueError):
    """Malformed input: non-finite numbers, wrong shapes, pixels outside the image, bad files."""


class DepthError(RealVLGError):
    """Too little valid depth where a grasp needs it."""


class GraspRefusedError(RealVLGError):
    """A grasp that must not be executed: wider than the gripper, outside the workspace, ..."""


class UnreachableError(GraspRefusedError):
    """A grasp the robot cannot reach: outside the workspace box, no inverse-kinematics solution."""


class SimError(RealVLGError):
    """A simulator could not do what was asked (start-up, unknown object, render, bad joint vector)."""

"""Hand-eye solving: every OpenCV method, their consistency, residuals, and the degenerate-data checks.

Two set-ups (``mode``):

* ``eye-in-hand``: the camera rides on the hand, the board lies still in the workspace. Unknown
  X = ee←camera. For every sample i: base←board = base←ee_i · X · camera←board_i is constant.
* ``eye-to-hand``: the camera is fixed, the board is held by the hand. Unknown X = base←camera.
  For every sample i: ee←board = (base←ee_i)⁻¹ · X · camera←board_i is constant.

Solvers: ``cv2.calibrateHandEye`` (AX = XB; ``tsai``, ``park``, ``horaud``, ``andreff``,
``daniilidis``; eye-to-hand feeds it ee←base instead of base←ee) and
``cv2.calibrateRobotWorldHandEye`` (AX = ZB, solving the board pose at the same time; ``shah``,
``li``). All seven run on the same samples; the result is the one with the lowest reprojection
error, and the spread around it of the methods that agree (reprojection error within
:data:`OUTLIER_REPROJECTION_RATIO` × the best) is reported as their consistency; the others are
named in a warning.

Residuals of a solution (:class:`MethodResult`), all over the samples used:

* board spread: the constant pose above (the board in the base frame, eye-in-hand; in the ee
  frame, eye-to-hand) computed from each sample, compared with their mean: RMS and max distance
  of the board centre [m], RMS and max angle [rad]. Millimetres here are millimetres of grasp
  error.
* reprojection: the board corners projected through mean board pose, robot pose and X into each
  image, against the detected corners: RMS [px]. The per-image PnP RMS (detection quality alone)
  is reported beside it.

Degenerate data raise :class:`CalibrationDataError` before solving: fewer than
:data:`MIN_POSES` usable images, the board found in fewer than half the images, robot rotations
that are too small or all about one axis (the translation along that axis is then unobservable).
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Sequence

import cv2
import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.calibration.board import BoardSpec, Detection, detect
from realvlg.errors import InvalidInputError
from realvlg.frames import COLOR_OPTICAL_FRAME, FR3_BASE_FRAME, FR3_TCP_FRAME
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.camera_mount import camera_mount
from realvlg.geometry.transforms import Transform

MODES = ("eye-in-hand", "eye-to-hand")
HAND_EYE_METHODS = {"tsai": "CALIB_HAND_EYE_TSAI", "park": "CALIB_HAND_EYE_PARK",
                    "horaud": "CALIB_HAND_EYE_HORAUD", "andreff": "CALIB_HAND_EYE_ANDREFF",
                    "daniilidis": "CALIB_HAND_EYE_DANIILIDIS"}
ROBOT_WORLD_METHODS = {"shah": "CALIB_ROBOT_WORLD_HAND_EYE_SHAH", "li": "CALIB_ROBOT_WORLD_HAND_EYE_LI"}
METHODS = (*HAND_EYE_METHODS, *ROBOT_WORLD_METHODS)
MIN_POSES = 5                    # usable images below this: refuse
MIN_DETECTED_FRACTION = 0.5      # board found in fewer images than this fraction: refuse
MIN_ROTATION_RAD = np.radians(10)   # largest rotation between two poses must exceed this
MIN_AXIS_SPREAD = 0.2            # 2nd/1st singular value of the stacked rotation axes
OUTLIER_REPROJECTION_RATIO = 2.0  # a method over this × the best reprojection error is an outlier
SPREAD_WARNING_M = 0.005         # warn above this board spread or disagreement between methods
DEFAULT_FRAMES = {"ee": FR3_TCP_FRAME, "base": FR3_BASE_FRAME, "camera": COLOR_OPTICAL_FRAME}  # role → frame name


class CalibrationDataError(InvalidInputError):
    """The samples cannot give a trustworthy calibration; the message says what to collect instead."""


@dataclass(frozen=True)
class BoardObservation:
    """One usable sample: robot pose base←ee (4x4), the detected corners, camera←board (4x4) by
    PnP and its reprojection RMS [px]. ``name`` is the image's name (for messages)."""

    name: str
    base_T_ee: np.ndarray
    detection: Detection
    camera_T_board: np.ndarray
    pnp_rms_px: float


@dataclass(frozen=True)
class MethodResult:
    """One solver's X (4x4, see the module docstring) and its residuals."""

    method: str
    X: np.ndarray
    board_spread_m: tuple[float, float]      # RMS, max
    board_spread_rad: tuple[float, float]    # RMS, max
    reprojection_px: float

    def as_dict(self) -> dict:
        return {"board_spread_rms_m": self.board_spread_m[0], "board_spread_max_m": self.board_spread_m[1],
                "board_spread_rms_rad": self.board_spread_rad[0], "board_spread_max_rad": self.board_spread_rad[1],
                "reprojection_rms_px": self.reprojection_px}


@dataclass
class CalibrationResult:
    """The chosen solution as a :class:`Transform` and everything reported about it."""

    mode: str
    transform: Transform
    method: str
    methods: dict[str, MethodResult]
    samples: int
    images: int
    rejected: dict[str, str]            # image name → why it was not used
    pnp_reprojection_px: float          # mean of the per-image PnP RMS
    consistency: dict                   # translation_m, rotation_rad: max deviation of the agreeing
                                        # methods (listed in "methods") from the chosen one
    warnings: list[str] = field(default_factory=list)

    def mount(self) -> Transform:
        """What ``realvlg calibrate`` writes: the solution to the camera's root frame — ee←``camera_link``
        (eye-in-hand) or base←``camera_link`` — through the nominal colour chain
        (:func:`realvlg.geometry.camera_mount.camera_mount`), when it locates the colour optical frame;
        a solution to any other camera frame (``--camera-frame``) as it is."""
        if self.transform.child != COLOR_OPTICAL_FRAME:
            return self.transform
        return camera_mount(self.transform)

    @property
    def residuals(self) -> dict:
        return {**self.methods[self.method].as_dict(), "pnp_reprojection_rms_px": self.pnp_reprojection_px,
                "methods_max_translation_m": self.consistency["translation_m"],
                "methods_max_rotation_rad": self.consistency["rotation_rad"]}

    def metadata(self) -> dict:
        """The calibration file's metadata (method, date, samples, residuals)."""
        return {"method": self.method, "mode": self.mode, "date": datetime.date.today().isoformat(),
                "samples": self.samples, "residuals": _rounded(self.residuals)}

    def as_dict(self) -> dict:
        """The JSON report: the transform, its residuals, every method's solution and residuals."""
        def pose(X: np.ndarray) -> dict:
            return {"translation": X[:3, 3].tolist(),
                    "quaternion": Rotation.from_matrix(X[:3, :3]).as_quat(canonical=True).tolist()}
        return {"transform": self.transform.to_dict(), "mount": self.mount().to_dict(),
                "mode": self.mode, "method": self.method, "samples": self.samples, "images": self.images,
                "rejected": self.rejected, "residuals": self.residuals, "consistency": self.consistency,
                "methods": {m: pose(r.X) | r.as_dict() for m, r in self.methods.items()},
                "warnings": self.warnings}


def _rounded(d: dict) -> dict:
    return {k: float(f"{v:.6g}") for k, v in d.items()}


def _inverse(T: np.ndarray) -> np.ndarray:
    """Batched inverse of rigid 4x4 transforms (..., 4, 4)."""
    R, t = T[..., :3, :3], T[..., :3, 3]
    out = np.zeros_like(T)
    out[..., :3, :3] = np.swapaxes(R, -1, -2)
    out[..., :3, 3] = -np.einsum("...ji,...j->...i", R, t)
    out[..., 3, 3] = 1.0
    return out


def _homogeneous(R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """4x4 from a rotation (projected onto SO(3): solvers return it orthonormal only to ~1e-9)."""
    u, _, vt = np.linalg.svd(R)
    T = np.eye(4)
    T[:3, :3] = u @ np.diag([1.0, 1.0, np.linalg.det(u @ vt)]) @ vt
    T[:3, 3] = np.ravel(t)
    return T


def _split(T: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return [m[:3, :3] for m in T], [m[:3, 3].reshape(3, 1) for m in T]


def observe(board: BoardSpec, intrinsics: CameraIntrinsics,
            samples: Sequence[tuple[str, np.ndarray, np.ndarray]]) -> tuple[list[BoardObservation], dict[str, str]]:
    """Detect the board and solve PnP in each ``(name, image, base_T_ee)``; returns the usable
    observations and, per rejected image name, why it was rejected."""
    observations, rejected = [], {}
    for name, image, base_T_ee in samples:
        if image.shape[:2] != (intrinsics.height, intrinsics.width):
            raise InvalidInputError(f"{name}: image is {image.shape[1]}×{image.shape[0]}, the camera "
                                    f"intrinsics are for {intrinsics.width}×{intrinsics.height}")
        detection = detect(board, image)
        if detection is None:
            rejected[name] = "board not found"
            continue
        try:
            T, rms = detection.pose(intrinsics)
        except InvalidInputError as exc:
            rejected[name] = str(exc)
            continue
        observations.append(BoardObservation(name, np.asarray(base_T_ee, dtype=float), detection, T, rms))
    return observations, rejected


def check_samples(observations: Sequence[BoardObservation], images: int, rejected: dict[str, str]) -> None:
    """Raise :class:`CalibrationDataError` for too few samples, a board missing from most images,
    or robot rotations that are too small or all about one axis (module docstring)."""
    n = len(observations)
    if images and n < MIN_DETECTED_FRACTION * images:
        names = ", ".join(list(rejected)[:8]) + (", …" if len(rejected) > 8 else "")
        raise CalibrationDataError(
            f"the board was found in only {n} of {images} images (not in: {names}). Check that the board "
            f"in samples.yaml (type, squares, lengths, dictionary) matches the printed one, that the whole "
            f"board is in view, in focus and evenly lit, and that the camera intrinsics are right")
    if n < MIN_POSES:
        raise CalibrationDataError(
            f"{n} usable robot pose(s); hand-eye calibration needs at least {MIN_POSES} (10–20 recommended): "
            f"collect more images of the board from poses tilted 15–30° about different axes")
    R = np.stack([o.base_T_ee[:3, :3] for o in observations])
    i, j = np.triu_indices(n, 1)
    rotvecs = Rotation.from_matrix(np.swapaxes(R[i], 1, 2) @ R[j]).as_rotvec()
    angles = np.linalg.norm(rotvecs, axis=1)
    if angles.max() < MIN_ROTATION_RAD:
        raise CalibrationDataError(
            f"the robot hand turned at most {np.degrees(angles.max()):.1f}° between poses; hand-eye calibration "
            f"needs rotations: tilt the hand 15–30° about at least two different axes while keeping the board "
            f"in view")
    axes = rotvecs[angles > np.radians(2)] / angles[angles > np.radians(2), None]
    s = np.linalg.svd(axes, compute_uv=False)
    if len(s) < 2 or s[1] / s[0] < MIN_AXIS_SPREAD:
        axis = np.linalg.svd(axes)[2][0]
        raise CalibrationDataError(
            f"every rotation between robot poses is about (nearly) one axis, {np.round(axis, 2).tolist()} in the "
            f"ee frame: the camera offset along that axis cannot be determined. Add poses tilted about a second, "
            f"different axis (e.g. pitch and roll, not only yaw)")


def _solve_all(P: np.ndarray, C: np.ndarray, mode: str) -> dict[str, np.ndarray]:
    """X per method. ``P`` (N,4,4) base←ee, ``C`` (N,4,4) camera←board."""
    # AX = XB (calibrateHandEye): eye-in-hand takes base←ee, eye-to-hand ee←base.
    robot = P if mode == "eye-in-hand" else _inverse(P)
    R_robot, t_robot = _split(robot)
    R_cam, t_cam = _split(C)
    out = {}
    for name, const in HAND_EYE_METHODS.items():
        try:
            R, t = cv2.calibrateHandEye(R_robot, t_robot, R_cam, t_cam, method=getattr(cv2, const))
        except cv2.error:   # e.g. "determinant(R) is null" on inconsistent data: that method failed
            continue
        if np.all(np.isfinite(R)) and np.all(np.isfinite(t)):
            out[name] = _homogeneous(R, t)
    # AX = ZB (calibrateRobotWorldHandEye): A = camera←board, B = the inverse robot pose, Z = camera←X's parent.
    R_b, t_b = _split(_inverse(robot))
    for name, const in ROBOT_WORLD_METHODS.items():
        try:
            _, _, R, t = cv2.calibrateRobotWorldHandEye(R_cam, t_cam, R_b, t_b, method=getattr(cv2, const))
        except cv2.error:
            continue
        if np.all(np.isfinite(R)) and np.all(np.isfinite(t)):
            out[name] = _inverse(_homogeneous(R, t))
    return out


def _residuals(method: str, X: np.ndarray, P: np.ndarray, observations: Sequence[BoardObservation],
               intrinsics: CameraIntrinsics, centre: np.ndarray, mode: str) -> MethodResult:
    C = np.stack([o.camera_T_board for o in observations])
    robot = P if mode == "eye-in-hand" else _inverse(P)
    chains = robot @ X @ C                                   # the constant pose, once per sample
    rotations = Rotation.from_matrix(chains[:, :3, :3])
    mean_rotation = rotations.mean()
    centres = chains[:, :3, :3] @ centre + chains[:, :3, 3]
    mean_board = _homogeneous(mean_rotation.as_matrix(), centres.mean(axis=0) - mean_rotation.apply(centre))
    dist = np.linalg.norm(centres - centres.mean(axis=0), axis=1)
    ang = (mean_rotation.inv() * rotations).magnitude()
    predicted = _inverse(robot @ X) @ mean_board              # camera←board from the chain
    K, d = intrinsics.K, np.asarray(intrinsics.distortion, dtype=np.float64)
    sq = []
    for T, o in zip(predicted, observations):
        rvec = cv2.Rodrigues(T[:3, :3])[0]
        proj, _ = cv2.projectPoints(o.detection.object_points, rvec, T[:3, 3], K, d)
        sq.append(np.sum((proj.reshape(-1, 2) - o.detection.image_points) ** 2, axis=1))
    sq = np.concatenate(sq)
    return MethodResult(method, X, (float(np.sqrt(np.mean(dist ** 2))), float(dist.max())),
                        (float(np.sqrt(np.mean(ang ** 2))), float(ang.max())), float(np.sqrt(sq.mean())))


def solve(observations: Sequence[BoardObservation], intrinsics: CameraIntrinsics, board: BoardSpec,
          mode: str = "eye-in-hand", *, images: int | None = None, rejected: dict[str, str] | None = None,
          method: str | None = None, ee_frame: str = DEFAULT_FRAMES["ee"],
          base_frame: str = DEFAULT_FRAMES["base"], camera_frame: str = DEFAULT_FRAMES["camera"]) -> CalibrationResult:
    """Check the samples, run every method, pick ``method`` (default: the lowest reprojection
    error) and return the result: ee←camera (eye-in-hand) or base←camera (eye-to-hand)."""
    if mode not in MODES:
        raise InvalidInputError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if method is not None and method not in METHODS:
        raise InvalidInputError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
    rejected = dict(rejected or {})
    images = len(observations) + len(rejected) if images is None else images
    check_samples(observations, images, rejected)
    P = np.stack([o.base_T_ee for o in observations])
    C = np.stack([o.camera_T_board for o in observations])
    results = {}
    for name, X in _solve_all(P, C, mode).items():
        results[name] = _residuals(name, X, P, observations, intrinsics, board.centre, mode)
    if not results:
        raise CalibrationDataError("every hand-eye method failed on these samples: collect more varied poses")
    chosen = method or min(results, key=lambda m: results[m].reprojection_px)
    if chosen not in results:
        raise CalibrationDataError(f"method {chosen!r} failed on these samples; others worked: {', '.join(results)}")
    X = results[chosen].X
    best = results[chosen]
    # Methods whose reprojection error is close to the best agree; the others (Andreff and Li are
    # linear and noise-sensitive) are named as outliers rather than counted in the consistency.
    limit = max(OUTLIER_REPROJECTION_RATIO * best.reprojection_px, best.reprojection_px + 0.1)
    agreeing = [m for m, r in results.items() if r.reprojection_px <= limit]
    dt = [float(np.linalg.norm(results[m].X[:3, 3] - X[:3, 3])) for m in agreeing]
    dr = [float(Rotation.from_matrix(X[:3, :3].T @ results[m].X[:3, :3]).magnitude()) for m in agreeing]
    warnings = [f"method {m} failed" for m in METHODS if m not in results]
    outliers = [m for m in results if m not in agreeing]
    if outliers:
        warnings.append(f"{', '.join(outliers)}: reprojection error over {limit:.2f} px, left out of the consistency")
    if best.board_spread_m[1] > SPREAD_WARNING_M or max(dt) > SPREAD_WARNING_M:
        warnings.append(f"board spread up to {best.board_spread_m[1] * 1000:.1f} mm and methods disagreeing by "
                        f"up to {max(dt) * 1000:.1f} mm: check the robot pose timing, the intrinsics and the board "
                        f"dimensions, and add poses with larger rotations")
    parent = ee_frame if mode == "eye-in-hand" else base_frame
    transform = Transform(parent, camera_frame, X)
    return CalibrationResult(mode, transform, chosen, results, len(observations), images, rejected,
                             float(np.mean([o.pnp_rms_px for o in observations])),
                             {"translation_m": max(dt), "rotation_rad": max(dr), "methods": agreeing}, warnings)

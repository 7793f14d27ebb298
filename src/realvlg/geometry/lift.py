"""2D grasp + depth + intrinsics → 6-DoF grasp in the camera optical frame (the paper's §7, eq. 15).

Algorithm of :func:`lift_grasp` (all lengths in metres, pixels as in :mod:`realvlg.geometry`):

1. Contacts. A :class:`ContactPair` is used as given; a :class:`RectGrasp` contributes the ends of
   its opening segment (:meth:`RectGrasp.contacts`). Both must lie on the image and be at least
   1 px apart.
2. Depth along the closing line. Depth is sampled (nearest pixel) at ≤ 1 px steps along the
   segment c1→c2 (parameter t ∈ [0, 1]) and on ``band_px`` parallel lines either side of it. Fewer
   than ``min_valid_fraction`` valid samples (or fewer than ``min_valid_samples``) → DepthError.
3. Robust surface depth. The reference depth is the median of the valid samples in the central
   half of the line (t ∈ [¼, ¾], where a rectangle's centre sits on the object; the whole line when
   that part has too few). Samples within ``max(3·1.4826·MAD, depth_tolerance)`` of it are
   inliers; the rest (background seen past an object edge, flying pixels) is dropped. Inverse
   depth 1/z is fitted linearly in t over the inliers (exact for a planar surface under
   perspective), giving the surface depths z(0), z(1) at the contacts, clamped to the inliers'
   range; when the inliers span less than half the line, a constant (their median) is used.
4. Surface contacts s_i = z_i · K⁻¹ [u_i, v_i, 1]ᵀ (eq. 15); closing axis y = (s2 − s1)/|s2 − s1|;
   surface centre s_c = (s1 + s2)/2.
5. Approach axis (``approach``): ``"ray"`` — the viewing ray through s_c (camera → object);
   ``"normal"`` — the normal of a plane fitted (SVD, same inlier rule) to the back-projected depth
   patch of (2·normal_patch_px+1)² pixels around the grasp's image centre, oriented away from the
   camera (into the surface; the paper's "normal vector" of the back-projected rectangle);
   ``"blend"`` — normalise((1 − w)·ray + w·normal) with w = ``blend_weight``. The approach is then
   orthogonalised against the closing axis (the closing axis, measured from the contacts, is kept);
   closer than ``min_closing_approach_deg`` to each other → GraspRefusedError.
6. Position. The grasp centre is the surface centre pushed along the approach by
   d = min(max(insertion_depth, insertion_ratio · |s2 − s1|), max_insertion): t = s_c + d · a. A
   contact pair spans the object's width; on a round cross-section (fruit, handles, bottles) the
   widest chord lies half that width beneath the visible top, so closing there does not slip off.
7. Width. The contacts are silhouette points; their separation is evaluated at the grasp depth:
   w_obj = |s2 − s1| · t_z / s_c,z. w_obj > ``max_width`` → GraspRefusedError; otherwise the
   commanded opening is min(w_obj + ``width_clearance``, ``max_width``).

The result is a :class:`Grasp6D` (z = approach, y = closing) in ``config.frame`` whose ``extras``
hold the diagnostics (contacts in px, surface depth, valid fraction, object width, approach mode).
No output is NaN: every path that could produce one raises a typed error instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from realvlg.errors import DepthError, GraspRefusedError, InvalidInputError
from realvlg.frames import FRANKA_HAND_STROKE
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import ContactPair, Grasp6D, RectGrasp
from realvlg.geometry.projection import DEFAULT_DEPTH_SCALE, as_depth_image, backproject_pixels, sample_depth

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class LiftConfig:
    """Parameters of :func:`lift_grasp` (metres unless stated)."""

    max_width: float = FRANKA_HAND_STROKE  # widest opening the gripper has
    width_clearance: float = 0.01  # added to the object width for the commanded opening
    insertion_depth: float = 0.01  # grasp centre at least this far past the visible surface, along the approach
    insertion_ratio: float = 0.0   # … and this share of the object's width (0.5: the widest chord of a round section)
    max_insertion: float = 0.04    # … but no deeper than the fingers reach
    approach: Literal["ray", "normal", "blend"] = "ray"
    blend_weight: float = 0.5  # weight of the surface normal in "blend"
    min_valid_fraction: float = 0.3  # of the depth samples along the closing band
    min_valid_samples: int = 5
    band_px: int = 2  # parallel sampling lines either side of the closing line
    depth_tolerance: float = 0.02  # smallest inlier band around the reference surface depth
    normal_patch_px: int = 7  # half-size of the square patch for the surface normal
    min_closing_approach_deg: float = 15.0
    frame: str = "camera_color_optical_frame"

    def __post_init__(self) -> None:
        if self.approach not in ("ray", "normal", "blend"):
            raise InvalidInputError(f"approach must be 'ray', 'normal' or 'blend', got {self.approach!r}")
        numbers = (self.max_width, self.width_clearance, self.insertion_depth, self.insertion_ratio,
                   self.max_insertion, self.blend_weight,
                   self.min_valid_fraction, self.depth_tolerance, self.min_closing_approach_deg)
        if not all(math.isfinite(float(x)) for x in numbers):
            raise InvalidInputError(f"lift parameters must be finite, got {self}")
        if self.max_width <= 0 or self.width_clearance < 0 or self.depth_tolerance <= 0:
            raise InvalidInputError("max_width and depth_tolerance must be > 0, width_clearance >= 0")
        if not 0 <= self.min_valid_fraction <= 1 or not 0 <= self.blend_weight <= 1:
            raise InvalidInputError("min_valid_fraction and blend_weight must lie in [0, 1]")
        if self.band_px < 0 or self.normal_patch_px < 2 or self.min_valid_samples < 2:
            raise InvalidInputError("band_px must be >= 0, normal_patch_px >= 2, min_valid_samples >= 2")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def _inliers(z: np.ndarray, reference: float, tolerance: float) -> np.ndarray:
    mad = float(np.median(np.abs(z - reference))) * MAD_TO_SIGMA
    return np.abs(z - reference) <= max(3.0 * mad, tolerance)


def _surface_depths(t: np.ndarray, z: np.ndarray, cfg: LiftConfig) -> tuple[float, float, float, float]:
    """Fitted surface depth at t = 0 and t = 1, the reference (median) depth, the inlier share."""
    central = np.abs(t - 0.5) <= 0.25
    pool = z[central] if central.sum() >= cfg.min_valid_samples else z
    reference = float(np.median(pool))
    keep = _inliers(z, reference, cfg.depth_tolerance)
    t_in, z_in = t[keep], z[keep]
    lo, hi = float(z_in.min()), float(z_in.max())
    if np.ptp(t_in) < 0.5:
        z0 = z1 = float(np.median(z_in))
    else:
        slope, intercept = np.polyfit(t_in, 1.0 / z_in, 1)
        w0, w1 = intercept, intercept + slope
        if w0 <= 0 or w1 <= 0:
            z0 = z1 = float(np.median(z_in))
        else:
            z0, z1 = float(np.clip(1.0 / w0, lo, hi)), float(np.clip(1.0 / w1, lo, hi))
    return z0, z1, reference, float(keep.mean())


def _surface_normal(depth: np.ndarray, centre_px: np.ndarray, intrinsics: CameraIntrinsics,
                    depth_scale: float, cfg: LiftConfig) -> np.ndarray:
    """Unit normal of the depth patch around ``centre_px``, pointing away from the camera."""
    r = cfg.normal_patch_px
    du, dv = np.meshgrid(np.arange(-r, r + 1), np.arange(-r, r + 1))
    u = np.rint(centre_px[0]) + du.ravel()
    v = np.rint(centre_px[1]) + dv.ravel()
    z = sample_depth(depth, u, v, depth_scale)
    valid = z > 0
    needed = max(6, int(math.ceil(cfg.min_valid_fraction * z.size)))
    if valid.sum() < needed:
        raise DepthError(f"only {int(valid.sum())} of the {z.size} depth pixels around the grasp centre are "
                         f"valid; the surface normal needs {needed} (use approach='ray' here)")
    u, v, z = u[valid], v[valid], z[valid]
    keep = _inliers(z, float(np.median(z)), cfg.depth_tolerance)
    points = backproject_pixels(u[keep], v[keep], z[keep], intrinsics)
    _, singular, vt = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)
    if singular[1] < 1e-9:
        raise DepthError("the depth patch around the grasp centre is degenerate (a line); no surface normal")
    normal = vt[2]
    centre_ray = points.mean(axis=0)
    return normal if normal @ centre_ray > 0 else -normal


def lift_grasp(grasp: ContactPair | RectGrasp, depth: Any, intrinsics: CameraIntrinsics,
               config: LiftConfig = LiftConfig(), depth_scale: float = DEFAULT_DEPTH_SCALE) -> Grasp6D:
    """Lift a 2D grasp to a 6-DoF grasp in the camera optical frame (module docstring: algorithm).

    ``depth`` is raw integer depth (times ``depth_scale`` m/unit) or float metres, registered to
    the image the grasp was predicted on, of the size of ``intrinsics``.

    Raises InvalidInputError (contacts off the image, coincident contacts, mismatched or distorted
    intrinsics), DepthError (too little valid depth) and GraspRefusedError (wider than the gripper,
    closing direction along the approach).
    """
    depth = as_depth_image(depth, intrinsics)
    if isinstance(grasp, RectGrasp):
        contacts = grasp.contacts()
    elif isinstance(grasp, ContactPair):
        contacts = grasp
    else:
        raise InvalidInputError(f"lift_grasp needs a ContactPair or a RectGrasp, got {type(grasp).__name__}")
    ends = contacts.points
    if not intrinsics.contains(ends[:, 0], ends[:, 1]).all():
        raise InvalidInputError(f"grasp contacts {ends.round(1).tolist()} lie outside the "
                                f"{intrinsics.width}x{intrinsics.height} image")
    length_px = contacts.length
    if length_px < 1.0:
        raise InvalidInputError(f"the two contact points are {length_px:.2f} px apart: no closing direction")

    # 2. depth samples along the closing band
    along = (ends[1] - ends[0]) / length_px
    across = np.array([-along[1], along[0]])
    t = np.linspace(0.0, 1.0, int(math.ceil(length_px)) + 1)
    offsets = np.arange(-config.band_px, config.band_px + 1)
    px = ends[0] + t[:, None, None] * (ends[1] - ends[0]) + offsets[None, :, None] * across
    z = sample_depth(depth, px[..., 0], px[..., 1], depth_scale)
    valid = z > 0
    fraction = float(valid.mean())
    if valid.sum() < config.min_valid_samples or fraction < config.min_valid_fraction:
        raise DepthError(f"only {fraction:.0%} of the {z.size} depth samples along the grasp line are valid "
                         f"(need {config.min_valid_fraction:.0%}); no reliable depth for this grasp")
    t_valid = np.broadcast_to(t[:, None], z.shape)[valid]

    # 3.–4. robust surface depth and surface contacts
    z0, z1, reference, inlier_share = _surface_depths(t_valid, z[valid], config)
    s1, s2 = backproject_pixels(ends[:, 0], ends[:, 1], [z0, z1], intrinsics)
    closing = _unit(s2 - s1)
    surface_centre = (s1 + s2) / 2

    # 5. approach
    ray = _unit(surface_centre)
    if config.approach == "ray":
        approach = ray
    else:
        normal = _surface_normal(depth, ends.mean(axis=0), intrinsics, depth_scale, config)
        approach = normal if config.approach == "normal" else _unit(
            (1 - config.blend_weight) * ray + config.blend_weight * normal)
    cos_angle = abs(float(approach @ closing))
    if cos_angle > math.cos(math.radians(config.min_closing_approach_deg)):
        raise GraspRefusedError(
            f"the closing direction is {math.degrees(math.acos(min(cos_angle, 1.0))):.0f}° from the approach "
            f"(need ≥ {config.min_closing_approach_deg:.0f}°): the contacts lie at very different depths")
    approach = _unit(approach - closing * float(approach @ closing))

    # 6.–7. position and width
    insertion = min(max(config.insertion_depth, config.insertion_ratio * float(np.linalg.norm(s2 - s1))),
                    config.max_insertion)
    position = surface_centre + insertion * approach
    object_width = float(np.linalg.norm(s2 - s1)) * position[2] / surface_centre[2]
    if object_width > config.max_width:
        raise GraspRefusedError(f"the grasp needs an opening of {object_width:.3f} m, wider than the "
                                f"gripper's maximum {config.max_width:.3f} m")
    width = min(object_width + config.width_clearance, config.max_width)
    extras = {"contacts_px": ends.tolist(), "surface_depth": float(surface_centre[2]), "reference_depth": reference,
              "valid_fraction": fraction, "inlier_fraction": inlier_share, "object_width": object_width,
              "approach_mode": config.approach, "insertion": insertion}
    return Grasp6D.from_axes(position, approach, closing, width, frame=config.frame, extras=extras)

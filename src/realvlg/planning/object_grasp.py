"""A 6-DoF grasp from an object's point cloud: centroid and principal axes.

The coarse strategy of the paper's §7 (box or mask → object cloud → grasp) in its simplest form,
used for the ``bbox`` and ``seg`` strategies until a learned or sampling planner is configured:

1. Object cloud. The mask (``seg``) or the box (``bbox``) selects pixels with valid depth, which
   are back-projected (eq. 13–14). A box also holds the support surface around the object: the
   dominant plane (Open3D RANSAC, fitted to the box and the pixels around it) is removed when it
   is large, and the remaining points are
   clustered (DBSCAN; clouds over 5000 points on one point per eps/4 voxel, labels carried back to
   every point); the object is the largest cluster, or — given a pixel ``near`` known to lie on the
   object (the centre of a 2D grasp the model answered) — the cluster of at least ``min_points``
   imaged closest to that pixel: a box around a small object in clutter often holds more of a
   bigger neighbour than of the object. For a mask the support plane is fitted
   to the pixels around the mask. :func:`object_points` is shared with the sampling planner
   (:mod:`realvlg.planning.antipodal`).
2. Approach. Against the support plane's normal when one was found (top-down onto the table),
   else along the viewing ray through the centroid.
3. Closing. Across the object's long axis: points are projected onto the plane orthogonal to the
   approach and the closing direction is the minor principal axis (PCA) there.
4. Width and depth. The opening is the object's 2nd–98th percentile extent along the closing
   axis; the grasp centre lies ``grasp_depth`` below the object's top surface along the approach
   (at most half the object's height above the support plane, or of its visible extent along
   the approach without one), on the centroid's approach line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from realvlg.errors import DepthError, GraspRefusedError, InvalidInputError
from realvlg.frames import FRANKA_HAND_STROKE
from realvlg.geometry.boxes import BoundingBox
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.grasps import Grasp6D
from realvlg.geometry.projection import DEFAULT_DEPTH_SCALE, backproject_cloud, project_points


@dataclass(frozen=True)
class ObjectGraspConfig:
    """Parameters of :func:`object_grasp` (metres)."""

    max_width: float = FRANKA_HAND_STROKE   # widest opening of the gripper
    width_clearance: float = 0.01    # reported in extras; the executor opens wider than the object
    grasp_depth: float = 0.02        # grasp centre below the object's top surface
    min_points: int = 30             # fewer object points → DepthError
    plane_distance: float = 0.006    # RANSAC inlier distance of the support plane
    min_plane_fraction: float = 0.25 # a plane is the support only if it holds this share of the box
    cluster_eps: float = 0.012       # DBSCAN neighbourhood
    frame: str = "camera_color_optical_frame"


DBSCAN_MAX_POINTS = 5000  # larger clouds are clustered on one point per eps/4 voxel (DBSCAN is superlinear)


def _cluster_labels(points: np.ndarray, eps: float, min_points: int) -> np.ndarray:
    """DBSCAN labels (N,) of every point, -1 for noise (module docstring, step 1)."""
    import open3d as o3d

    inverse = None
    seeds = points
    if len(points) > DBSCAN_MAX_POINTS:
        _, first, inverse = np.unique(np.floor(points / (eps / 4)).astype(np.int64), axis=0,
                                      return_index=True, return_inverse=True)
        seeds = points[first]
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(seeds.astype(np.float64)))
    labels = np.asarray(cloud.cluster_dbscan(eps=eps, min_points=min(10, min_points)))
    return labels[inverse.ravel()] if inverse is not None else labels


def _object_cluster(points: np.ndarray, intrinsics: CameraIntrinsics, config: ObjectGraspConfig,
                    near: tuple[float, float] | None) -> np.ndarray:
    """The object's cluster: the largest, or the one of at least ``min_points`` imaged closest to
    the pixel ``near`` (the largest again when no cluster is that big)."""
    labels = _cluster_labels(points, config.cluster_eps, config.min_points)
    if labels.max(initial=-1) < 0:
        return points
    sizes = np.bincount(labels[labels >= 0])
    chosen = sizes.argmax()
    if near is not None:
        pixels = project_points(points, intrinsics)
        distance = np.linalg.norm(pixels - np.asarray(near, dtype=float), axis=1)
        big = np.flatnonzero(sizes >= config.min_points)
        if len(big):
            chosen = min(big, key=lambda k: distance[labels == k].min())
    return points[labels == chosen]


@dataclass(frozen=True)
class SupportPlane:
    """The surface the object stands on: unit ``normal`` pointing away from the camera (into the
    table) and a ``point`` on it, both in the camera frame."""

    normal: np.ndarray
    point: np.ndarray

    def height_above(self, points: np.ndarray) -> np.ndarray:
        return (self.point - points) @ self.normal


def _support_plane(points: np.ndarray, cfg: ObjectGraspConfig, min_points: int | None = None) -> SupportPlane | None:
    import open3d as o3d

    if len(points) < (3 * cfg.min_points if min_points is None else min_points):
        return None
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points.astype(np.float64)))
    o3d.utility.random.seed(0)  # RANSAC: the same plane for the same frame
    model, inliers = cloud.segment_plane(distance_threshold=cfg.plane_distance, ransac_n=3, num_iterations=200)
    if len(inliers) < cfg.min_plane_fraction * len(points):
        return None
    normal = np.asarray(model[:3], dtype=float)
    normal /= np.linalg.norm(normal)
    point = points[np.asarray(inliers)].mean(axis=0).astype(float)
    if normal @ point < 0:  # orient away from the camera: from the object into the table
        normal = -normal
    return SupportPlane(normal, point)


def _mask_surroundings(mask: np.ndarray) -> np.ndarray:
    """The pixels of the mask's bounding box grown by half its size on each side, minus the mask:
    where the surface the masked object stands on shows."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    grow_y, grow_x = (ys.max() - ys.min()) // 2 + 5, (xs.max() - xs.min()) // 2 + 5
    ring = np.zeros_like(mask)
    ring[max(ys.min() - grow_y, 0):ys.max() + grow_y + 1, max(xs.min() - grow_x, 0):xs.max() + grow_x + 1] = True
    return ring & ~mask


def object_points(depth: Any, intrinsics: CameraIntrinsics, *, box: BoundingBox | None = None,
                  mask: Any = None, depth_scale: float = DEFAULT_DEPTH_SCALE,
                  config: ObjectGraspConfig = ObjectGraspConfig(),
                  near: tuple[float, float] | None = None) -> tuple[np.ndarray, SupportPlane | None]:
    """The object's points (N, 3) in the camera frame, and the support plane (None when none is
    found): for a box, the dominant plane of the box's pixels and those around it (a tight box
    holds little table); for a mask, the dominant plane of the pixels around the mask. ``near``:
    a pixel ``(u, v)`` on the object, which picks its cluster (module docstring, step 1)."""
    if (box is None) == (mask is None):
        raise InvalidInputError("give exactly one of a box or a mask")
    h, w = intrinsics.height, intrinsics.width
    pixel_mask = box.to_mask(h, w) if box is not None else np.asarray(mask, dtype=bool)
    if pixel_mask.shape != (h, w):
        raise InvalidInputError(f"mask shape {pixel_mask.shape} differs from the image's {(h, w)}")
    if not pixel_mask.any():
        raise InvalidInputError("the box or mask selects no pixel of the image")
    points = backproject_cloud(depth, intrinsics, depth_scale, mask=pixel_mask, frame=config.frame).points
    if len(points) < config.min_points:
        raise DepthError(f"only {len(points)} pixels of the object have valid depth (need {config.min_points})")
    around = backproject_cloud(depth, intrinsics, depth_scale, mask=_mask_surroundings(pixel_mask),
                               frame=config.frame).points
    if box is not None:  # a tight box holds little table: its surroundings join in
        plane = _support_plane(np.vstack([points, around]), config)
    else:
        plane = _support_plane(around, config, min_points=config.min_points)
        if plane is not None and np.median(plane.height_above(points)) <= 2 * config.plane_distance:
            plane = None  # the "plane" around is the object's own surface, or the mask is flat on it
    if plane is not None:
        points = points[plane.height_above(points) > config.plane_distance]
        if len(points) < config.min_points:
            raise DepthError("nothing stands out of the support plane inside the box: no object points")
    points = _object_cluster(points, intrinsics, config, near)
    if len(points) < config.min_points:
        raise DepthError(f"the object cluster has only {len(points)} points (need {config.min_points})")
    return points, plane


def principal_axis_grasp(points: np.ndarray, support: SupportPlane | None = None,
                         config: ObjectGraspConfig = ObjectGraspConfig()) -> Grasp6D:
    """A grasp across the object's minor axis, approached against the support plane's normal
    (default without one: the viewing ray through the centroid). See the module docstring."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3 or len(points) < 3 or not np.isfinite(points).all():
        raise InvalidInputError("an object grasp needs at least 3 finite points of shape (N, 3)")
    centroid = points.mean(axis=0)
    a = support.normal if support is not None else centroid / np.linalg.norm(centroid)
    lateral = points - centroid
    lateral -= np.outer(lateral @ a, a)
    _, _, vt = np.linalg.svd(lateral, full_matrices=False)
    closing = vt[1] - a * (vt[1] @ a)  # minor lateral axis (vt[2] is ~a, with ~zero variance)
    closing /= np.linalg.norm(closing)
    across = lateral @ closing
    lo, hi = np.percentile(across, [2, 98])
    width = float(hi - lo)
    if width > config.max_width:
        raise GraspRefusedError(f"the object is {width * 100:.1f} cm across its narrowest side, wider than the "
                                f"gripper's {config.max_width * 100:.1f} cm")
    top = float(np.percentile(points @ a, 2))
    # height: down to the support plane when known, else the visible extent along the approach
    bottom = float(support.point @ a) if support is not None else float(np.percentile(points @ a, 98))
    height = max(bottom - top, 0.0)
    centre = centroid + closing * (lo + hi) / 2
    position = centre + a * (top + min(config.grasp_depth, height / 2) - centre @ a)
    return Grasp6D.from_axes(position, a, closing, width, frame=config.frame,
                             extras={"object_points": len(points), "object_height": height,
                                     "width_clearance": config.width_clearance})


def object_grasp(depth: Any, intrinsics: CameraIntrinsics, *, box: BoundingBox | None = None, mask: Any = None,
                 depth_scale: float = DEFAULT_DEPTH_SCALE, config: ObjectGraspConfig = ObjectGraspConfig()) -> Grasp6D:
    """Box or mask + depth → 6-DoF grasp in the camera frame (module docstring: the algorithm)."""
    points, support = object_points(depth, intrinsics, box=box, mask=mask, depth_scale=depth_scale, config=config)
    return principal_axis_grasp(points, support, config)

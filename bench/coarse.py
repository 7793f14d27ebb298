"""Benchmark: antipodal sampling + scoring on a 20 000-point object cloud (goal: p50 ≤ 300 ms, 2 cores).

Clouds (metres, camera frame, 0.5 m in front of the camera):

* ``cuboid on table``  a 4 × 6 × 10 cm cuboid standing on a table (20 000 points on its five visible
  faces), the table plane as support and a 30 × 30 cm table patch (2 mm grid) as the scene;
* ``sphere``           a 6 cm sphere's surface (20 000 points), no support, no scene.

Timed on the same cloud in the same process:

* realvlg antipodal    :func:`realvlg.planning.antipodal.sample_antipodal` (completion, normals,
                       pairs, scoring, table and hand collision, GraspGroup + NMS);
* peer: principal axis :func:`realvlg.planning.object_grasp.principal_axis_grasp`, the
                       no-dependency baseline (one grasp, no antipodality or collision check);
* peer: Open3D normals ``estimate_normals`` (hybrid radius 9 mm / 24 NN) on the full 20 000 points,
                       the step every normal-based sampler starts with.

Prints p50/p90 in ms, ratios against the antipodal sampler and whether the goal is met.
Run: ``.venv/bin/python bench/coarse.py [--repeats N]``.
"""

from __future__ import annotations

import argparse

import numpy as np
import open3d as o3d

from realvlg.planning.antipodal import sample_antipodal
from realvlg.planning.object_grasp import SupportPlane, principal_axis_grasp

from timing import timed

GOAL_P50_MS = 300.0
N_POINTS = 20_000
CENTRE = np.array([0.02, -0.01, 0.5])


def cuboid_on_table(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, SupportPlane]:
    size = np.array([0.04, 0.06, 0.10])  # the camera looks along +z: z is the height, the table below
    areas = np.array([size[1] * size[2], size[0] * size[2], size[0] * size[1]])
    axis = rng.choice(3, N_POINTS, p=areas / areas.sum())
    p = (rng.random((N_POINTS, 3)) - 0.5) * size
    sign = np.where(rng.random(N_POINTS) < 0.5, -0.5, 0.5)
    sign[axis == 2] = -0.5  # the bottom face lies on the table: only the top is seen
    p[np.arange(N_POINTS), axis] = sign * size[axis]
    table_z = CENTRE[2] + size[2] / 2
    g = np.arange(-0.15, 0.15, 0.002)
    gx, gy = np.meshgrid(g, g)
    table = np.c_[gx.ravel() + CENTRE[0], gy.ravel() + CENTRE[1], np.full(gx.size, table_z)]
    table = table[(np.abs(table[:, 0] - CENTRE[0]) > size[0] / 2) | (np.abs(table[:, 1] - CENTRE[1]) > size[1] / 2)]
    obj = p + CENTRE
    return obj, np.vstack([obj, table]), SupportPlane(np.array([0.0, 0.0, 1.0]), np.array([*CENTRE[:2], table_z]))


def sphere(rng: np.random.Generator) -> tuple[np.ndarray, None, None]:
    v = rng.normal(size=(N_POINTS, 3))
    return 0.03 * v / np.linalg.norm(v, axis=1, keepdims=True) + CENTRE, None, None




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"antipodal sampling + scoring, {N_POINTS} object points, {args.repeats} repeats (ms)")
    print(f"{'cloud':18s} {'method':24s} {'p50':>8s} {'p90':>8s} {'ratio':>7s}  grasps")
    met = True
    for name, make in (("cuboid on table", cuboid_on_table), ("sphere", sphere)):
        obj, scene, support = make(rng)
        result = sample_antipodal(obj, scene, support)
        cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(obj))
        peers = {
            "realvlg antipodal": lambda: sample_antipodal(obj, scene, support),
            "peer: principal axis": lambda: principal_axis_grasp(obj, support),
            "peer: Open3D normals": lambda: cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(0.009, 24)),
        }
        base = None
        for method, fn in peers.items():
            t = timed(fn, args.repeats, f"{name}: {method}")
            p50, p90 = np.percentile(t, [50, 90])
            base = base or p50
            extra = f"  {len(result)} after NMS, best score {result.group.scores[0]:.2f}" if base == p50 else ""
            print(f"{name:18s} {method:24s} {p50:8.1f} {p90:8.1f} {p50 / base:7.2f}{extra}")
            if method == "realvlg antipodal":
                met &= p50 <= GOAL_P50_MS
    print(f"goal p50 ≤ {GOAL_P50_MS:.0f} ms for the antipodal sampler: {'met' if met else 'NOT met'}")


if __name__ == "__main__":
    main()

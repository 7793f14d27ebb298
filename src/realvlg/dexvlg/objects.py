"""The simulated objects (:data:`realvlg.objects.OBJECTS`) as DexVLG sees them: coloured,
part-labelled surface point clouds and a differentiable signed distance.

Object frame as in :mod:`realvlg.objects`: z up, origin at the centre of the footprint.

* :func:`object_cloud` samples ``n`` points area-uniformly on the union of the object's geoms
  (boxes, spheres, ellipsoids, cylinders, capsules, convex prism meshes): each geom gets points in
  proportion to its area, points that fall inside or on another geom (where geoms overlap or
  touch) are dropped, so every point lies on the object's outer surface. Each point carries its
  outward normal, the geom's colour (rgba[:3], 0–1) and its part id (index into ``part_names``,
  the spec's parts in order). Farthest-point sampling is the model's job, not this one's.
* :class:`ObjectSDF` evaluates, in torch (batched, differentiable), the signed distance [m] of
  points to each part (min over the part's geoms; negative inside). Exact for boxes, spheres,
  cylinders, capsules; the ellipsoid uses the k0·(k0−1)/k1 bound and a convex mesh the largest
  face-plane distance — both exact on the surface and inside-negative, slightly short outside.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.spatial import ConvexHull

from realvlg.errors import InvalidInputError
from realvlg.objects import OBJECTS, Geom, ObjectSpec


@dataclass(frozen=True)
class ObjectCloud:
    """A part-labelled surface cloud in the object frame: ``points`` (N, 3) float32 [m],
    ``normals`` (N, 3) outward unit, ``colors`` (N, 3) float32 0–1, ``part_ids`` (N,) int16
    indexing ``part_names`` (P,)."""

    points: np.ndarray
    normals: np.ndarray
    colors: np.ndarray
    part_ids: np.ndarray
    part_names: tuple[str, ...]

    def __post_init__(self) -> None:
        n = len(self.points)
        shapes = {"points": (n, 3), "normals": (n, 3), "colors": (n, 3), "part_ids": (n,)}
        for key, shape in shapes.items():
            if np.shape(getattr(self, key)) != shape:
                raise InvalidInputError(f"object cloud {key} has shape {np.shape(getattr(self, key))}, expected {shape}")
        if n and (self.part_ids.min() < 0 or self.part_ids.max() >= len(self.part_names)):
            raise InvalidInputError(f"object cloud part ids must index its {len(self.part_names)} part names")
        if not (np.isfinite(self.points).all() and np.isfinite(self.normals).all()):
            raise InvalidInputError("object cloud has non-finite points or normals")
        if n and (self.colors.min() < 0 or self.colors.max() > 1):
            raise InvalidInputError("object cloud colours must lie in 0–1")

    def part_mask(self, part: str) -> np.ndarray:
        if part not in self.part_names:
            raise InvalidInputError(f"no part {part!r}; parts: {list(self.part_names)}")
        return self.part_ids == self.part_names.index(part)


def _spec(name: str) -> ObjectSpec:
    if name not in OBJECTS:
        raise InvalidInputError(f"unknown object {name!r}; objects: {sorted(OBJECTS)}")
    return OBJECTS[name]


def _hull(g: Geom, spec: ObjectSpec) -> ConvexHull:
    return ConvexHull(spec.meshes[g.mesh])


def _area(g: Geom, spec: ObjectSpec) -> float:
    s = g.size
    if g.type == "box":
        return 8 * (s[0] * s[1] + s[1] * s[2] + s[0] * s[2])
    if g.type == "sphere":
        return 4 * math.pi * s[0] ** 2
    if g.type == "ellipsoid":  # Knud Thomsen's approximation (≤ 1.1 % error)
        p = 1.6075
        return 4 * math.pi * (((s[0] * s[1]) ** p + (s[0] * s[2]) ** p + (s[1] * s[2]) ** p) / 3) ** (1 / p)
    if g.type == "cylinder":
        return 2 * math.pi * s[0] * 2 * s[1] + 2 * math.pi * s[0] ** 2
    if g.type == "capsule":
        return 2 * math.pi * s[0] * 2 * s[1] + 4 * math.pi * s[0] ** 2
    if g.type == "mesh":
        return float(_hull(g, spec).area)
    raise InvalidInputError(f"unsupported geom type {g.type}")


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _sample_geom(g: Geom, spec: ObjectSpec, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) area-uniform surface points of one geom and their outward normals, geom frame."""
    s = np.asarray(g.size, dtype=float)
    if g.type == "box":
        from realvlg.dexvlg.hand import _box_surface

        return _box_surface(s[:3], n, rng)
    if g.type in ("sphere", "ellipsoid"):
        radii = np.full(3, s[0]) if g.type == "sphere" else s[:3]
        out_p, out_n = [], []
        while sum(len(p) for p in out_p) < n:  # rejection on the area element a1a2a3·|u/a|
            u = _unit(rng.normal(size=(2 * n, 3)))
            w = np.linalg.norm(u / radii, axis=1) * radii.min()
            keep = rng.random(2 * n) < w
            out_p.append(u[keep] * radii)
            out_n.append(_unit(u[keep] / radii))
        return np.concatenate(out_p)[:n], np.concatenate(out_n)[:n]
    if g.type in ("cylinder", "capsule"):
        r, h = s[0], s[1]
        side = 2 * math.pi * r * 2 * h
        ends = 2 * math.pi * r * r if g.type == "cylinder" else 4 * math.pi * r * r
        on_side = rng.random(n) < side / (side + ends)
        a = rng.uniform(0, 2 * math.pi, n)
        radial = np.column_stack([np.cos(a), np.sin(a), np.zeros(n)])
        side_p = radial * r + np.column_stack([np.zeros((n, 2)), rng.uniform(-h, h, n)])
        if g.type == "cylinder":
            rho = r * np.sqrt(rng.random(n))
            top = rng.random(n) < 0.5
            zsign = np.where(top, 1.0, -1.0)
            end_p = np.column_stack([rho * np.cos(a), rho * np.sin(a), zsign * h])
            end_n = np.column_stack([np.zeros((n, 2)), zsign])
        else:
            u = _unit(rng.normal(size=(n, 3)))
            end_p = u * r + np.column_stack([np.zeros((n, 2)), np.sign(u[:, 2]) * h])
            end_n = u
        return (np.where(on_side[:, None], side_p, end_p), np.where(on_side[:, None], radial, end_n))
    if g.type == "mesh":  # the convex hull MuJoCo collides with: area-weighted triangles
        hull = _hull(g, spec)
        tri = hull.points[hull.simplices]  # (F, 3, 3)
        areas = 0.5 * np.linalg.norm(np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]), axis=1)
        face = rng.choice(len(tri), size=n, p=areas / areas.sum())
        r1, r2 = np.sqrt(rng.random(n))[:, None], rng.random(n)[:, None]
        pts = (1 - r1) * tri[face, 0] + r1 * (1 - r2) * tri[face, 1] + r1 * r2 * tri[face, 2]
        return pts, hull.equations[face, :3]
    raise InvalidInputError(f"unsupported geom type {g.type}")


def object_cloud(name: str, n: int = 4096, seed: int = 0) -> ObjectCloud:
    """``n`` points on the outer surface of object ``name`` (module docstring), seeded."""
    spec = _spec(name)
    if n <= 0:
        raise InvalidInputError(f"object_cloud needs n > 0, got {n}")
    rng = np.random.default_rng(seed)
    sdf = ObjectSDF(name)
    areas = np.array([_area(g, spec) for g in spec.geoms])
    part_names = tuple(spec.parts)
    pts, nrm, col, pid = [], [], [], []
    for i, g in enumerate(spec.geoms):
        k = max(8, math.ceil(2.0 * n * areas[i] / areas.sum()))  # oversampled, drawn down below
        p, q = _sample_geom(g, spec, k, rng)
        R = g.matrix
        p, q = p @ R.T + np.asarray(g.pos), q @ R.T
        others = np.delete(sdf.geom_distances(torch.as_tensor(p)).numpy(), i, axis=1)
        outer = (others > 1e-5).all(axis=1) if others.shape[1] else np.ones(len(p), bool)
        pts.append(p[outer])
        nrm.append(q[outer])
        col.append(np.tile(np.asarray(g.rgba[:3]), (outer.sum(), 1)))
        pid.append(np.full(outer.sum(), part_names.index(g.part)))
    # The surviving points are area-uniform over the outer surface: draw n of them.
    pick = rng.choice(sum(len(p) for p in pts), size=n, replace=False)
    cat = lambda xs: np.concatenate(xs)[pick]
    return ObjectCloud(cat(pts).astype(np.float32), _unit(cat(nrm)).astype(np.float32), cat(col).astype(np.float32),
                       cat(pid).astype(np.int16), part_names)


class ObjectSDF:
    """Signed distances [m] of points (object frame) to the geoms and parts of object ``name``
    (module docstring). Torch in, torch out; differentiable."""

    def __init__(self, name: str):
        spec = self.spec = _spec(name)
        self.part_names = tuple(spec.parts)
        self.geom_part = torch.tensor([self.part_names.index(g.part) for g in spec.geoms])
        self._geoms = []
        for g in spec.geoms:
            planes = torch.as_tensor(_hull(g, spec).equations) if g.type == "mesh" else None
            self._geoms.append((g.type, torch.as_tensor(g.size, dtype=torch.float64), torch.as_tensor(g.matrix),
                                torch.as_tensor(g.pos, dtype=torch.float64), planes))

    def geom_distances(self, points: torch.Tensor) -> torch.Tensor:
        """(..., 3) → (..., G) signed distance to each geom."""
        out = []
        for gtype, size, R, pos, planes in self._geoms:
            p = (points - pos.to(points.dtype)) @ R.to(points.dtype)  # object → geom frame
            out.append(_geom_sdf(gtype, size.to(points.dtype), p, planes))
        return torch.stack(out, dim=-1)

    def part_distances(self, points: torch.Tensor) -> torch.Tensor:
        """(..., 3) → (..., P) signed distance to each part (min over its geoms)."""
        d = self.geom_distances(points)
        return torch.stack([d[..., self.geom_part == k].amin(-1) for k in range(len(self.part_names))], dim=-1)

    def __call__(self, points: torch.Tensor) -> torch.Tensor:
        """(..., 3) → (...,) signed distance to the whole object."""
        return self.geom_distances(points).amin(-1)


def _norm(v: torch.Tensor) -> torch.Tensor:
    return torch.sqrt((v * v).sum(-1) + 1e-12)


def _geom_sdf(gtype: str, size: torch.Tensor, p: torch.Tensor, planes: torch.Tensor | None) -> torch.Tensor:
    if gtype == "box":
        q = p.abs() - size[:3]
        return _norm(q.clamp(min=0)) + q.amax(-1).clamp(max=0)
    if gtype == "sphere":
        return _norm(p) - size[0]
    if gtype == "ellipsoid":
        k0 = _norm(p / size[:3])
        k1 = _norm(p / size[:3] ** 2)
        return k0 * (k0 - 1) / k1
    if gtype == "cylinder":
        d = torch.stack([_norm(p[..., :2]) - size[0], p[..., 2].abs() - size[1]], dim=-1)
        return d.amax(-1).clamp(max=0) + _norm(d.clamp(min=0))
    if gtype == "capsule":
        axis_point = torch.zeros_like(p)
        axis_point[..., 2] = p[..., 2].clamp(-size[1], size[1])
        return _norm(p - axis_point) - size[0]
    if gtype == "mesh":
        planes = planes.to(p.dtype)
        return (p @ planes[:, :3].T + planes[:, 3]).amax(-1)
    raise InvalidInputError(f"unsupported geom type {gtype}")

"""Seeded scene generator for the paper's two settings.

* ``single`` — one object (named, or drawn by the seed) on the table.
* ``clutter`` — all ten objects (or a given subset) at once.

Placements are drawn with ``numpy.random.default_rng(seed)``: the same seed and arguments give
the same scene on every machine. Each object gets a uniform yaw and a position such that its
footprint (the convex hull of its outline, :meth:`ObjectSpec.footprint`) lies inside
:data:`VIEW_REGION` (table area the robot reaches well from above), keeps ``gap`` metres from
every other footprint (shapely polygons), and projects, whole and tall parts included, into the
1280×720 wrist image at the observation pose (:data:`~realvlg.sim.fr3_world.OBSERVATION_CAMERA`:
camera 0.535 m above the table over x = 0.465; at table height it sees x ∈ [0.25, 0.68],
y ∈ [−0.38, 0.38]). Lower resolutions keep the horizontal field of view, so a 4:3 image sees
everything a 16:9 one does. The tests check visibility in rendered segmentations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import shapely
from shapely import affinity

from realvlg.errors import InvalidInputError
from realvlg.objects import OBJECTS
from realvlg.sim.common import CameraConfig, Placement
from realvlg.sim.fr3_world import OBSERVATION_CAMERA

SETTINGS = ("single", "clutter")
VIEW_REGION = shapely.box(0.29, -0.3, 0.64, 0.3)  # base frame x_min, y_min, x_max, y_max [m]


@dataclass(frozen=True)
class Scene:
    setting: str
    seed: int
    placements: tuple[Placement, ...]

    @property
    def object_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.placements)


def placed_footprint(p: Placement, margin: float = 0.0) -> shapely.Polygon:
    """The object's footprint on the table in the base frame."""
    fp = OBJECTS[p.name].footprint(margin)
    return affinity.translate(affinity.rotate(fp, p.yaw, origin=(0, 0), use_radians=True), p.x, p.y)


def in_view(p: Placement, camera: np.ndarray = OBSERVATION_CAMERA, config: CameraConfig = CameraConfig(),
            margin_px: float = 0.0, table_top: float = 0.0) -> bool:
    """Whether the whole object (its 3D hull, tall objects included) projects into the image of
    the camera at ``camera`` (base←optical 4x4), at least ``margin_px`` from the border."""
    c, s = math.cos(p.yaw), math.sin(p.yaw)
    pts = OBJECTS[p.name].hull_points() @ np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]]).T + (p.x, p.y, table_top)
    cam = (pts - camera[:3, 3]) @ camera[:3, :3]
    if np.any(cam[:, 2] <= 0):
        return False
    K = config.intrinsics()
    u = K.fx * cam[:, 0] / cam[:, 2] + K.cx
    v = K.fy * cam[:, 1] / cam[:, 2] + K.cy
    return bool(np.all((u >= margin_px) & (u <= K.width - 1 - margin_px)
                       & (v >= margin_px) & (v <= K.height - 1 - margin_px)))


def generate_scene(setting: str, seed: int, objects: list[str] | tuple[str, ...] | None = None,
                   region: shapely.Polygon = VIEW_REGION, gap: float = 0.015, view_margin_px: float = 16,
                   max_tries: int = 2000) -> Scene:
    """A reproducible scene. ``objects``: for ``single`` at most one name (default: drawn from
    the seed), for ``clutter`` a subset (default: all ten). Raises
    :class:`~realvlg.errors.InvalidInputError` for unknown settings/objects, a negative seed, or when the objects
    cannot be placed without overlap."""
    if setting not in SETTINGS:
        raise InvalidInputError(f"unknown setting {setting!r}; choose one of {', '.join(SETTINGS)}")
    if seed < 0:
        raise InvalidInputError(f"the seed must be ≥ 0 (numpy's generators take no negative seed), got {seed}")
    rng = np.random.default_rng(seed)
    names = list(objects) if objects else None
    for n in names or ():
        if n not in OBJECTS:
            raise InvalidInputError(f"unknown object {n!r}; known: {', '.join(OBJECTS)}")
    if setting == "single":
        if names and len(names) != 1:
            raise InvalidInputError(f"the single setting places one object, got {names}")
        names = names or [str(rng.choice(list(OBJECTS)))]
    else:
        names = names or list(OBJECTS)
    # Place the largest footprints first: they are the hardest to fit.
    order = sorted(names, key=lambda n: -OBJECTS[n].footprint().area)
    x0, y0, x1, y1 = region.bounds
    placed: dict[str, Placement] = {}
    taken: list[shapely.Polygon] = []
    for n in order:
        for _ in range(max_tries):
            p = Placement(n, float(rng.uniform(x0, x1)), float(rng.uniform(y0, y1)),
                          float(rng.uniform(-math.pi, math.pi)))
            fp = placed_footprint(p)
            if (region.contains(fp) and all(fp.distance(t) >= gap for t in taken)
                    and in_view(p, margin_px=view_margin_px)):
                placed[n] = p
                taken.append(fp)
                break
        else:
            raise InvalidInputError(f"could not place {n!r} without overlap after {max_tries} tries "
                                    f"(seed {seed}, {len(names)} objects)")
    return Scene(setting, seed, tuple(placed[n] for n in names))

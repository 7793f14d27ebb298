"""The paper's ten test objects as MuJoCo bodies built from primitives and generated meshes.

Each :class:`ObjectSpec` carries what the rest of realvlg needs to talk about the object:

* ``name``, ``synonyms`` and ``colors`` — the words the instruction generator uses and the
  grounding oracle matches ("grasp the yellow banana", "pick up the mug").
* ``parts`` — named parts (``"handle"``, ``"cap"``, ``"stem"``…) mapped to the geoms that form
  them, so a segmentation can be cut down to "the mug's handle".
* ``grasps`` — ground-truth top-down grasps per part in the object frame (for tests, the sim
  oracle and the success rate of the executor with perfect perception).
* physical parameters: ``mass`` [kg] spread over the geoms by volume, ``friction``
  (sliding, torsional, rolling) and ``condim``.

Object frame: origin at the centre of the object's footprint on the table, z up, so an object
is placed at ``z = table top`` with a yaw about z. Every object is graspable by the Franka hand
(opening ≤ 8 cm) at at least one part, from above. Sizes are those of everyday objects; round
fruit get rolling friction and lying cylinders are octagonal prisms so nothing rolls away.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

import numpy as np
import shapely
from scipy.spatial import ConvexHull
from scipy.spatial.transform import Rotation

from realvlg.frames import FR3_BASE_FRAME

TABLE_CLEARANCE = 0.0005  # objects are spawned this far above the table top [m]
# The Franka hand's fingertips reach 9.8 mm past its TCP: a top-down TCP lower than this would
# press the fingers into the table [m].
FINGERTIP_CLEARANCE = 0.013


@dataclass(frozen=True)
class Geom:
    """One MJCF geom of an object, in the object frame: ``type`` and MuJoCo ``size``,
    ``pos`` [m], ``rgba``, the ``part`` it belongs to, ``zaxis`` (the direction of the geom's own
    z axis — a cylinder's or capsule's axis — reached by the minimal rotation, as MuJoCo's
    ``zaxis`` attribute) and for ``type="mesh"`` the name of a generated mesh."""

    type: str
    size: tuple[float, ...]
    pos: tuple[float, float, float]
    rgba: tuple[float, float, float, float]
    part: str
    zaxis: tuple[float, float, float] = (0.0, 0.0, 1.0)
    mesh: str | None = None

    @property
    def matrix(self) -> np.ndarray:
        """Object←geom rotation."""
        z = np.asarray(self.zaxis, dtype=float) / np.linalg.norm(self.zaxis)
        rotvec = np.cross((0.0, 0.0, 1.0), z)
        s = np.linalg.norm(rotvec)
        if s < 1e-12:
            return np.eye(3) if z[2] > 0 else np.diag([1.0, -1.0, -1.0])
        return Rotation.from_rotvec(rotvec / s * math.atan2(s, z[2])).as_matrix()

    def volume(self, meshes: dict[str, np.ndarray]) -> float:
        s = self.size
        if self.type == "box":
            return 8 * s[0] * s[1] * s[2]
        if self.type == "sphere":
            return 4 / 3 * math.pi * s[0] ** 3
        if self.type == "ellipsoid":
            return 4 / 3 * math.pi * s[0] * s[1] * s[2]
        if self.type == "cylinder":
            return math.pi * s[0] ** 2 * 2 * s[1]
        if self.type == "capsule":
            return math.pi * s[0] ** 2 * 2 * s[1] + 4 / 3 * math.pi * s[0] ** 3
        if self.type == "mesh":
            return float(ConvexHull(meshes[self.mesh]).volume)
        raise ValueError(f"unknown geom type {self.type}")


@dataclass(frozen=True)
class PartGrasp:
    """A ground-truth top-down grasp of one part, in the object frame: the grasp centre
    ``center`` [m] and the horizontal ``closing`` direction; ``width`` [m] is the object's size
    between the contacts. The approach is straight down (−z of the table)."""

    part: str
    center: tuple[float, float, float]
    closing: tuple[float, float, float]
    width: float
    round: bool = False  # round cross-section: any horizontal closing direction works


@dataclass(frozen=True)
class ObjectSpec:
    name: str
    synonyms: tuple[str, ...]
    colors: tuple[str, ...]
    geoms: tuple[Geom, ...]
    mass: float
    grasps: tuple[PartGrasp, ...]
    friction: tuple[float, float, float] = (1.0, 0.01, 0.0001)
    condim: int = 4
    meshes: dict[str, np.ndarray] = field(default_factory=dict, compare=False)

    @property
    def parts(self) -> dict[str, tuple[int, ...]]:
        """Part name → indices into ``geoms`` (each index is also the geom's suffix in MJCF)."""
        out: dict[str, list[int]] = {}
        for i, g in enumerate(self.geoms):
            out.setdefault(g.part, []).append(i)
        return {k: tuple(v) for k, v in out.items()}

    @property
    def default_grasp_part(self) -> str:
        """The part an instruction that names none means: the body when it has a grasp, else the
        part of the first grasp (the simulation oracle's rule)."""
        return "body" if any(g.part == "body" for g in self.grasps) else self.grasps[0].part

    @property
    def words(self) -> tuple[str, ...]:
        """Every noun that names this object (name first)."""
        return (self.name, *self.synonyms)

    def footprint(self, margin: float = 0.0) -> shapely.Polygon:
        """Convex hull of the object's outline on the table, object frame, grown by ``margin``."""
        pts = []
        for g in self.geoms:
            pts.append(_geom_corners(g, self.meshes) @ g.matrix.T + np.asarray(g.pos))
        hull = shapely.MultiPoint(np.concatenate(pts)[:, :2]).convex_hull
        return hull.buffer(margin) if margin else hull

    def hull_points(self) -> np.ndarray:
        """(N, 3) points in the object frame whose convex hull bounds the object."""
        return np.concatenate([_geom_corners(g, self.meshes) @ g.matrix.T + np.asarray(g.pos)
                               for g in self.geoms])

    @property
    def height(self) -> float:
        return float(self.hull_points()[:, 2].max())

    def mjcf_body(self, body_name: str, pos, yaw: float) -> ET.Element:
        """A free-jointed MJCF ``<body>`` named ``body_name``; geoms are ``{body_name}/{i}``."""
        body = ET.Element("body", name=body_name, pos=_fmt(pos), euler=_fmt((0.0, 0.0, yaw)))
        ET.SubElement(body, "freejoint", name=f"{body_name}/joint")
        volumes = np.array([g.volume(self.meshes) for g in self.geoms])
        masses = self.mass * volumes / volumes.sum()
        for i, (g, m) in enumerate(zip(self.geoms, masses)):
            attrs = dict(name=f"{body_name}/{i}", type=g.type, pos=_fmt(g.pos), zaxis=_fmt(g.zaxis),
                         rgba=_fmt(g.rgba), mass=f"{m:.6g}", friction=_fmt(self.friction),
                         condim=str(self.condim))
            if g.type == "mesh":
                attrs["mesh"] = f"{self.name}/{g.mesh}"
            else:
                attrs["size"] = _fmt(g.size)
            ET.SubElement(body, "geom", **attrs)
        return body

    def mjcf_assets(self) -> list[ET.Element]:
        """The generated meshes this object needs in ``<asset>`` (named ``{name}/{mesh}``)."""
        return [ET.Element("mesh", name=f"{self.name}/{k}", vertex=" ".join(f"{v:.6g}" for v in verts.ravel()))
                for k, verts in self.meshes.items()]


# -- geometry helpers ---------------------------------------------------------------------------
def _fmt(values) -> str:
    return " ".join(f"{float(v):.6g}" for v in values)


def _geom_corners(g: Geom, meshes: dict[str, np.ndarray]) -> np.ndarray:
    """Points whose convex hull bounds the geom, in the geom frame."""
    s = g.size
    if g.type == "mesh":
        return meshes[g.mesh]
    if g.type == "box":
        half = np.array(s[:3])
    elif g.type in ("sphere",):
        half = np.array([s[0]] * 3)
    elif g.type == "ellipsoid":
        half = np.array(s[:3])
    elif g.type == "cylinder":
        half = np.array([s[0], s[0], s[1]])
    elif g.type == "capsule":
        half = np.array([s[0], s[0], s[1] + s[0]])
    else:
        raise ValueError(g.type)
    if g.type in ("sphere", "ellipsoid", "cylinder", "capsule"):
        # Round cross-sections: a 16-gon is tight enough for placement.
        a = np.linspace(0, 2 * math.pi, 16, endpoint=False)
        ring = np.stack([np.cos(a) * half[0], np.sin(a) * half[1]], axis=1)
        return np.concatenate([np.column_stack([ring, np.full(16, z)]) for z in (-half[2], half[2])])
    return np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)]) * half


def prism_mesh(radius: float, length: float, sides: int = 8) -> np.ndarray:
    """Vertices of a regular prism lying along x (its faces flat on the table): circumradius
    ``radius`` [m], ``length`` [m]. MuJoCo takes the convex hull of the vertex list."""
    a = np.arange(sides) * 2 * math.pi / sides + math.pi / sides  # a flat face at the bottom
    yz = np.stack([np.cos(a), np.sin(a)], axis=1) * radius
    return np.concatenate([np.column_stack([np.full(sides, x), yz]) for x in (-length / 2, length / 2)])


def _inradius(radius: float, sides: int = 8) -> float:
    return radius * math.cos(math.pi / sides)


# -- the ten objects ----------------------------------------------------------------------------
WHITE = (0.93, 0.93, 0.9, 1.0)
BROWN = (0.35, 0.22, 0.1, 1.0)
STEEL = (0.7, 0.72, 0.75, 1.0)
BLACK = (0.08, 0.08, 0.08, 1.0)
ROUND = dict(friction=(1.0, 0.01, 0.002), condim=6)  # rolling friction keeps fruit in place
AXIS_X, AXIS_Y = (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)


def _mug() -> ObjectSpec:
    r, h = 0.032, 0.095
    red = (0.75, 0.1, 0.12, 1.0)
    hx, t, hw = r + 0.022, 0.004, 0.006  # handle: outer bar x, half-thickness, half-width (y)
    geoms = (
        Geom("cylinder", (r, h / 2), (0, 0, h / 2), red, "body"),
        Geom("box", ((hx - r) / 2 + t, hw, t), ((hx + r) / 2, 0, 0.078), red, "handle"),
        Geom("box", ((hx - r) / 2 + t, hw, t), ((hx + r) / 2, 0, 0.024), red, "handle"),
        Geom("box", (t, hw, 0.027 + t), (hx, 0, 0.051), red, "handle"),
    )
    return ObjectSpec("mug", ("cup", "coffee mug", "coffee cup"), ("red",), geoms, 0.25,
                      (PartGrasp("handle", (hx - 0.004, 0, 0.058), AXIS_Y, 2 * hw),
                       PartGrasp("body", (0, 0, 0.06), AXIS_Y, 2 * r, round=True)))


def _orange() -> ObjectSpec:
    r = 0.036
    geoms = (Geom("ellipsoid", (r, r, r * 0.94), (0, 0, r * 0.94), (1.0, 0.5, 0.05, 1.0), "body"),)
    return ObjectSpec("orange", ("tangerine",), ("orange",), geoms, 0.18,
                      (PartGrasp("body", (0, 0, r * 0.94), AXIS_Y, 2 * r, round=True),), **ROUND)


def _apple() -> ObjectSpec:
    r, c = 0.036, 0.033
    geoms = (Geom("ellipsoid", (r, r, c), (0, 0, c), (0.78, 0.08, 0.08, 1.0), "body"),
             Geom("cylinder", (0.002, 0.006), (0, 0, 2 * c + 0.003), BROWN, "stem"))
    return ObjectSpec("apple", (), ("red",), geoms, 0.17,
                      (PartGrasp("body", (0, 0, c), AXIS_Y, 2 * r, round=True),), **ROUND)


def _pear() -> ObjectSpec:
    green = (0.72, 0.8, 0.25, 1.0)
    geoms = (Geom("ellipsoid", (0.034, 0.034, 0.032), (0, 0, 0.032), green, "body"),
             Geom("ellipsoid", (0.022, 0.022, 0.03), (0, 0, 0.068), green, "neck"),
             Geom("cylinder", (0.002, 0.007), (0, 0, 0.103), BROWN, "stem"))
    return ObjectSpec("pear", (), ("green", "yellow-green"), geoms, 0.18,
                      # The neck first: grasping the body would put the palm on the neck and stem.
                      (PartGrasp("neck", (0, 0, 0.075), AXIS_Y, 0.043, round=True),
                       PartGrasp("body", (0, 0, 0.034), AXIS_Y, 0.068, round=True)), **ROUND)


def _banana() -> ObjectSpec:
    yellow = (0.95, 0.82, 0.15, 1.0)
    r, arc, n = 0.017, 0.13, 5  # tube radius, arc radius, segments over 80°
    angles = np.linspace(-math.radians(40), math.radians(40), n)
    seg = 2 * arc * math.sin(math.radians(80) / (2 * (n - 1)))
    geoms = []
    for i, a in enumerate(angles):
        part = "middle" if 0 < i < n - 1 else "end"
        # Arc centred at (−arc, 0): points (arc cos a − arc, arc sin a); segments tangent to it.
        geoms.append(Geom("capsule", (r, seg / 2), (arc * math.cos(a) - arc, arc * math.sin(a), r),
                          yellow, part, zaxis=(-math.sin(a), math.cos(a), 0.0)))
    a_end = math.radians(40) + 0.12
    geoms.append(Geom("cylinder", (0.005, 0.01), (arc * math.cos(a_end) - arc, arc * math.sin(a_end), r),
                      BROWN, "stem", zaxis=(-math.sin(a_end), math.cos(a_end), 0.0)))
    return ObjectSpec("banana", (), ("yellow",), tuple(geoms), 0.12,
                      (PartGrasp("middle", (0, 0, r), AXIS_X, 2 * r),))


def _stapler() -> ObjectSpec:
    dark, red = (0.12, 0.12, 0.14, 1.0), (0.7, 0.1, 0.1, 1.0)
    geoms = (Geom("box", (0.075, 0.018, 0.008), (0, 0, 0.008), dark, "base"),
             Geom("box", (0.068, 0.016, 0.011), (-0.004, 0, 0.027), red, "top"),
             Geom("box", (0.01, 0.014, 0.006), (-0.062, 0, 0.01 + 0.006), dark, "hinge"))
    return ObjectSpec("stapler", (), ("red", "black"), geoms, 0.25,
                      (PartGrasp("top", (0.0, 0, 0.024), AXIS_Y, 0.036),))


def _bottle() -> ObjectSpec:
    blue = (0.1, 0.3, 0.85, 1.0)
    geoms = (Geom("cylinder", (0.03, 0.065), (0, 0, 0.065), blue, "body"),
             Geom("cylinder", (0.021, 0.012), (0, 0, 0.142), blue, "shoulder"),
             Geom("cylinder", (0.012, 0.012), (0, 0, 0.166), blue, "neck"),
             Geom("cylinder", (0.014, 0.011), (0, 0, 0.189), WHITE, "cap"))
    return ObjectSpec("bottle", ("water bottle", "plastic bottle"), ("blue",), geoms, 0.2,
                      (PartGrasp("cap", (0, 0, 0.186), AXIS_Y, 0.028, round=True),
                       PartGrasp("neck", (0, 0, 0.17), AXIS_Y, 0.024, round=True)))


def _marker() -> ObjectSpec:
    R, L = 0.0095, 0.1
    meshes = {"barrel": prism_mesh(R, L), "cap": prism_mesh(R * 1.06, 0.035)}
    z = _inradius(R)
    geoms = (Geom("mesh", (), (-0.0175, 0, z), BLACK, "body", mesh="barrel"),
             Geom("mesh", (), (0.05, 0, z), (0.15, 0.15, 0.15, 1.0), "cap", mesh="cap"))
    return ObjectSpec("marker", ("pen", "felt-tip pen"), ("black",), geoms, 0.02,
                      (PartGrasp("body", (-0.02, 0, FINGERTIP_CLEARANCE), AXIS_Y, 2 * z),), meshes=meshes)


def _screwdriver() -> ObjectSpec:
    R, L = 0.015, 0.09
    meshes = {"handle": prism_mesh(R, L)}
    z = _inradius(R)
    yellow = (0.95, 0.7, 0.05, 1.0)
    geoms = (Geom("mesh", (), (-0.045, 0, z), yellow, "handle", mesh="handle"),
             Geom("cylinder", (0.0035, 0.05), (0.05, 0, z), STEEL, "shaft", zaxis=AXIS_X),
             Geom("box", (0.004, 0.0035, 0.0012), (0.1035, 0, z), STEEL, "tip"))
    return ObjectSpec("screwdriver", ("driver",), ("yellow",), geoms, 0.1,
                      (PartGrasp("handle", (-0.045, 0, max(z, FINGERTIP_CLEARANCE)), AXIS_Y, 2 * z),), meshes=meshes)


def _razor() -> ObjectSpec:
    pink, white = (0.9, 0.45, 0.65, 1.0), (0.95, 0.95, 0.95, 1.0)
    geoms = (Geom("box", (0.05, 0.008, 0.008), (-0.02, 0, 0.008), pink, "handle"),
             Geom("box", (0.009, 0.022, 0.008), (0.039, 0, 0.008), white, "head"),
             Geom("box", (0.002, 0.02, 0.0015), (0.047, 0, 0.0165), STEEL, "blade"))
    return ObjectSpec("razor", ("shaver",), ("pink", "white"), geoms, 0.03,
                      (PartGrasp("handle", (-0.03, 0, FINGERTIP_CLEARANCE), AXIS_Y, 0.016),))


OBJECTS: dict[str, ObjectSpec] = {o.name: o for o in (
    _mug(), _orange(), _pear(), _apple(), _banana(), _stapler(), _bottle(), _marker(), _screwdriver(), _razor())}
"""The paper's ten test objects by name, in the paper's order."""


def find_object(word: str) -> ObjectSpec | None:
    """The object a noun names (name or synonym, case-insensitive), or None."""
    w = word.strip().lower()
    return next((o for o in OBJECTS.values() if w in o.words), None)


# The Franka hand's palm seen from above, in gripper axes (x, y = closing) [m], and the height of
# its underside above the TCP: what hits taller neighbours in clutter.
PALM_HALF_EXTENTS = (0.03, 0.105)
PALM_ABOVE_TCP = 0.045


def ground_truth_grasp(spec: ObjectSpec, T_base_object: np.ndarray, part: str | None = None,
                       frame: str = FR3_BASE_FRAME, neighbours: dict[str, np.ndarray] | None = None):
    """A top-down :class:`~realvlg.geometry.grasps.Grasp6D` in the base frame for an object at
    ``T_base_object`` (base←object 4x4), on ``part`` (default: the spec's first grasp).

    ``neighbours`` (name → base←object pose of the other objects on the table): for a round part,
    the closing direction is chosen among 12 (every 15°) to keep the palm farthest from the
    footprints of neighbours that reach above the palm's underside."""
    from realvlg.errors import InvalidInputError
    from realvlg.geometry.grasps import Grasp6D

    candidates = [g for g in spec.grasps if part is None or g.part == part]
    if not candidates:
        raise InvalidInputError(f"{spec.name} has no ground-truth grasp on part {part!r}; "
                                f"parts with grasps: {sorted({g.part for g in spec.grasps})}")
    g = candidates[0]
    T = np.asarray(T_base_object, dtype=float)
    position = T[:3, :3] @ np.asarray(g.center) + T[:3, 3]
    closing = T[:3, :3] @ np.asarray(g.closing)
    if g.round and neighbours:
        closing = _clearest_closing(position, closing, neighbours)
    return Grasp6D.from_axes(position, (0.0, 0.0, -1.0), closing, g.width, frame=frame,
                             extras={"object": spec.name, "part": g.part})


def footprint_at(name: str, T_base_object: np.ndarray, margin: float = 0.0) -> shapely.Polygon:
    """The footprint of object ``name`` at ``T_base_object`` (base←object 4x4) on the table."""
    from shapely import affinity

    yaw = math.atan2(T_base_object[1, 0], T_base_object[0, 0])
    return affinity.translate(affinity.rotate(OBJECTS[name].footprint(margin), yaw, origin=(0, 0), use_radians=True),
                              T_base_object[0, 3], T_base_object[1, 3])


def tall_obstacles(above_z: float, neighbours: dict[str, np.ndarray]) -> list[shapely.Polygon]:
    """Footprints of the ``neighbours`` (name → base←object) whose top reaches above ``above_z``."""
    return [footprint_at(name, T) for name, T in neighbours.items() if T[2, 3] + OBJECTS[name].height > above_z]


def palm_footprint(position: np.ndarray, closing: np.ndarray) -> shapely.Polygon:
    """The Franka hand's palm seen from above for a top-down grasp at ``position`` closing along
    ``closing`` (base frame)."""
    from shapely import affinity

    hx, hy = PALM_HALF_EXTENTS
    palm = shapely.box(-hy, -hx, hy, hx)  # the long side along x: rotated onto the closing direction
    yaw = math.atan2(closing[1], closing[0])
    return affinity.translate(affinity.rotate(palm, yaw, origin=(0, 0), use_radians=True), *position[:2])


def _clearest_closing(position: np.ndarray, closing: np.ndarray, neighbours: dict[str, np.ndarray]) -> np.ndarray:
    obstacles = tall_obstacles(position[2] + PALM_ABOVE_TCP, neighbours)
    if not obstacles:
        return closing
    base_yaw = math.atan2(closing[1], closing[0])
    best, best_clearance = closing, -1.0
    for yaw in base_yaw + np.radians(np.arange(0, 180, 15)):
        candidate = np.array([math.cos(yaw), math.sin(yaw), 0.0])
        clearance = min(palm_footprint(position, candidate).distance(ob) for ob in obstacles)
        if clearance > best_clearance + 1e-9:
            best, best_clearance = candidate, clearance
    return best

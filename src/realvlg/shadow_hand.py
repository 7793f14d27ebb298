"""The Shadow Hand's description, shared by the executors (:mod:`realvlg.robots.ur10e_shadow`) and
DexVLG (:mod:`realvlg.dexvlg`): joint names and order, limits, the tendon coupling, and the MJCF
of gymnasium-robotics' Shadow Hand (``envs/assets/hand``) that the simulation and the grasp
generator build on.

Joint names are the MJCF's without its ``robot0:`` prefix: per finger from the knuckle (J3/J4) to
the fingertip (J0); the two wrist joints (WRJ1, WRJ0) are locked at 0 wherever the hand is mounted
(the mount :data:`realvlg.frames.TOOL0_T_PALM` assumes a straight wrist). Radians.

Coupling: each finger's distal J0 is tied to its middle J1 by a fixed tendon
(``|0.00705·J0 − 0.00805·J1| ≤ 0.001``), so J0 ≈ :data:`J0_COUPLING`·J1; the thumb's THJ0 is free.
"""

from __future__ import annotations

import importlib.util
import pathlib
import xml.etree.ElementTree as ET

import numpy as np

from realvlg.errors import RealVLGError

MJCF_PREFIX = "robot0:"
FINGERS = ("thumb", "index", "middle", "ring", "little")
SHADOW_JOINTS = (
    "FFJ3", "FFJ2", "FFJ1", "FFJ0",
    "MFJ3", "MFJ2", "MFJ1", "MFJ0",
    "RFJ3", "RFJ2", "RFJ1", "RFJ0",
    "LFJ4", "LFJ3", "LFJ2", "LFJ1", "LFJ0",
    "THJ4", "THJ3", "THJ2", "THJ1", "THJ0",
)
"""The 22 finger joints, the order of every finger vector in realvlg."""
WRIST_JOINTS = ("WRJ1", "WRJ0")
FINGER_OF_JOINT = {"FF": "index", "MF": "middle", "RF": "ring", "LF": "little", "TH": "thumb"}
SHADOW_LIMITS: dict[str, tuple[float, float]] = {
    "WRJ1": (-0.489, 0.14), "WRJ0": (-0.698, 0.489),
    **{f"{f}J3": (-0.349, 0.349) for f in ("FF", "MF", "RF")},
    **{f"{f}J{j}": (0.0, 1.571) for f in ("FF", "MF", "RF", "LF") for j in (0, 1, 2)},
    "LFJ4": (0.0, 0.785), "LFJ3": (-0.349, 0.349),
    "THJ4": (-1.047, 1.047), "THJ3": (0.0, 1.222), "THJ2": (-0.209, 0.209), "THJ1": (-0.524, 0.524),
    "THJ0": (-1.571, 0.0),
}
"""(lower, upper) per joint as the MJCF's ``robot.xml`` states them (the tests check them against
the file, so these need no MuJoCo to import)."""
JOINT_LOWER = np.array([SHADOW_LIMITS[j][0] for j in SHADOW_JOINTS])
JOINT_UPPER = np.array([SHADOW_LIMITS[j][1] for j in SHADOW_JOINTS])
J0_COUPLING = 0.00805 / 0.00705
"""Distal/middle coupling of the four fingers' tendons: J0 ≈ J0_COUPLING · J1."""
SPREAD_JOINTS = np.array([(j.endswith("J3") and not j.startswith("TH")) or j.endswith("J4") for j in SHADOW_JOINTS])
"""The knuckle abductions, the little finger's metacarpal and the thumb's rotation: set fully
in a pre-shape and never squeezed when closing."""
THUMB_JOINTS = np.array([j.startswith("TH") for j in SHADOW_JOINTS])
"""The thumb's five joints: pre-shaped fully in a pinch (:mod:`realvlg.robots.ur10e_shadow.stages`)."""
PADS = {"thumb": ("thdistal", (-0.00918, 0.0, 0.014)), "index": ("ffdistal", (0.0, -0.00705, 0.014)),
        "middle": ("mfdistal", (0.0, -0.00705, 0.014))}
"""Pad centres of the thumb, index and middle fingers: a point on the palmar surface of each distal
link (body name without the prefix, point in that body's frame) [m]. The *thumb aperture* of a
posture is the distance from the thumb pad to the midpoint of the index and middle pads."""


class HandModelError(RealVLGError):
    """The Shadow Hand MJCF is missing (gymnasium-robotics not installed) or not what we expect."""


def assets_dir() -> pathlib.Path:
    """``<gymnasium_robotics>/envs/assets`` (the hand's XML in ``hand/``, its meshes in ``stls/hand``)."""
    spec = importlib.util.find_spec("gymnasium_robotics")  # not imported: it prints deprecation notes
    if spec is None or spec.origin is None:
        raise HandModelError("the Shadow Hand MJCF ships with gymnasium-robotics: pip install 'realvlg[sim]'")
    return pathlib.Path(spec.origin).parent / "envs" / "assets"


def _copy(element: ET.Element) -> ET.Element:
    return ET.fromstring(ET.tostring(element))


def hand_mjcf(root: str = "palm") -> dict[str, list[ET.Element]]:
    """The hand's MJCF pieces, ready to put into a model: ``body`` (the subtree from
    ``robot0:<root>`` — ``palm`` or ``wrist`` — with the wrist joints removed, to hang under any
    parent), ``default``, ``asset`` (meshes with absolute paths, textures and materials; no
    skybox), ``contact``, ``tendon`` and ``actuator`` children (the wrist's removed)."""
    base = assets_dir()
    robot = ET.parse(base / "hand" / "robot.xml").getroot()
    shared = ET.parse(base / "hand" / "shared.xml").getroot()
    asset = ET.parse(base / "hand" / "shared_asset.xml").getroot()
    body = next((b for b in robot.iter("body") if b.get("name") == MJCF_PREFIX + root), None)
    if body is None:
        raise HandModelError(f"no body {MJCF_PREFIX + root} in {base / 'hand' / 'robot.xml'}")
    body = _copy(body)
    for b in body.iter("body"):
        for joint in [j for j in b.findall("joint") if j.get("name", "").removeprefix(MJCF_PREFIX) in WRIST_JOINTS]:
            b.remove(joint)

    def mentions_wrist(el: ET.Element) -> bool:
        return any(w in (e.get("joint") or e.get("name") or "") for e in el.iter() for w in WRIST_JOINTS)

    meshdir = base / "stls" / "hand"
    assets = []
    for el in asset:
        if el.tag == "texture" and el.get("type") == "skybox":
            continue
        el = _copy(el)
        if el.tag == "mesh":
            el.set("file", str(meshdir / el.get("file")))
        assets.append(el)
    return {
        "body": [body],
        "default": [_copy(d) for d in shared.find("default")],
        "asset": assets,
        "contact": [_copy(p) for p in shared.find("contact")],
        "tendon": [_copy(t) for t in shared.find("tendon") if not mentions_wrist(t)],
        "actuator": [_copy(a) for a in shared.find("actuator") if not mentions_wrist(a)],
    }

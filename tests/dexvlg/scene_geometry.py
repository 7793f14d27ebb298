"""Test geometry for the ranking tests: a mug-like object on a table as an observed, part-labelled
cloud with outward normals, and hand points placed where a test wants the fingers and the palm.

The hand points are input data built here (the ranking takes points, not a hand model), so the
expected contacts, penetrations and closure are known by construction."""

import numpy as np
from scipy.spatial.transform import Rotation

from realvlg.dexvlg.ranking import LabelledCloud
from realvlg.geometry.grasps import DexGrasp
from realvlg.shadow_hand import FINGERS

CENTRE = np.array([0.8, 0.2, 0.0])   # the mug's footprint centre on the table (base frame, m)
BODY_RADIUS, BODY_HEIGHT = 0.04, 0.10
HANDLE_LO = CENTRE + [0.05, -0.01, 0.03]   # the handle: a 2 x 2 x 5 cm bar beside the body
HANDLE_HI = CENTRE + [0.07, 0.01, 0.08]
STEP = 0.002


def _box_faces(lo, hi, step=STEP):
    points, normals = [], []
    for axis in range(3):
        a, b = [i for i in range(3) if i != axis]
        ga = np.arange(lo[a], hi[a] + 1e-9, step)
        gb = np.arange(lo[b], hi[b] + 1e-9, step)
        A, B = (m.ravel() for m in np.meshgrid(ga, gb))
        for side, value in ((-1.0, lo[axis]), (1.0, hi[axis])):
            p = np.zeros((len(A), 3))
            p[:, axis], p[:, a], p[:, b] = value, A, B
            n = np.zeros_like(p)
            n[:, axis] = side
            points.append(p)
            normals.append(n)
    return np.concatenate(points), np.concatenate(normals)


def mug_scene() -> LabelledCloud:
    """Table (unlabelled, −1), body (part 0: side and top) and handle (part 1) of one object, in the base frame."""
    tx, ty = np.meshgrid(np.arange(0.6, 1.0, 0.004), np.arange(0.0, 0.4, 0.004))
    table = np.column_stack([tx.ravel(), ty.ravel(), np.zeros(tx.size)])
    table = table[np.hypot(table[:, 0] - CENTRE[0], table[:, 1] - CENTRE[1]) > BODY_RADIUS]
    ang, z = np.meshgrid(np.arange(0, 2 * np.pi, STEP / BODY_RADIUS), np.arange(0, BODY_HEIGHT, STEP))
    radial = np.column_stack([np.cos(ang.ravel()), np.sin(ang.ravel()), np.zeros(ang.size)])
    side = CENTRE + BODY_RADIUS * radial + np.column_stack([np.zeros((ang.size, 2)), z.ravel()])
    rr, aa = np.meshgrid(np.arange(0, BODY_RADIUS, STEP), np.arange(0, 2 * np.pi, 0.1))
    top = CENTRE + np.column_stack([rr.ravel() * np.cos(aa.ravel()), rr.ravel() * np.sin(aa.ravel()),
                                    np.full(rr.size, BODY_HEIGHT)])
    side = np.concatenate([side, top])
    radial = np.concatenate([radial, np.tile([0.0, 0.0, 1.0], (len(top), 1))])
    handle, handle_n = _box_faces(HANDLE_LO, HANDLE_HI)
    keep = handle[:, 0] > CENTRE[0] + BODY_RADIUS + 1e-9      # the face inside the body is not seen
    handle, handle_n = handle[keep], handle_n[keep]
    points = np.concatenate([table, side, handle])
    normals = np.concatenate([np.tile([0.0, 0.0, 1.0], (len(table), 1)), radial, handle_n])
    part_ids = np.concatenate([np.full(len(table), -1), np.zeros(len(side), int), np.ones(len(handle), int)])
    object_ids = np.where(part_ids >= 0, 0, -1)
    return LabelledCloud(points, part_ids, ("body", "handle"), normals, object_ids, frame="base",
                         viewpoint=(0.8, 0.6, 0.5))


# Palm pose used by the tests: fingers (palm z) along base +x, palm normal (−y) pointing down.
PALM_ROTATION = Rotation.from_matrix(np.column_stack([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]))


def grasp_at(position, frame="base") -> DexGrasp:
    return DexGrasp(np.asarray(position, float), PALM_ROTATION, np.zeros(22), frame)


def finger_cluster(centre, k=6, spread=0.0025):
    """k points within ``spread`` of ``centre`` in the plane spanned by the base x and z axes."""
    ang = 2 * np.pi * np.arange(k) / k
    return np.asarray(centre) + spread * np.column_stack([np.cos(ang), np.zeros(k), np.sin(ang)])


def hand(finger_centres: dict, palm_centre, palm_size=(0.08, 0.09)):
    """(5, K, 3) finger points and (S, 3) surface points: a flat palm plate (in the base x–y plane
    at ``palm_centre``) plus the finger points. Fingers not named sit 15 cm above the palm."""
    fingers = np.stack([finger_cluster(finger_centres.get(f, np.asarray(palm_centre) + [0, 0, 0.15]))
                        for f in FINGERS])
    gx, gy = np.meshgrid(np.linspace(-0.5, 0.5, 12) * palm_size[0], np.linspace(-0.5, 0.5, 12) * palm_size[1])
    plate = np.asarray(palm_centre) + np.column_stack([gx.ravel(), gy.ravel(), np.zeros(gx.size)])
    return fingers, np.concatenate([plate, fingers.reshape(-1, 3)])


def handle_face(side: float, z: float, offset=0.003):
    """A point ``offset`` outside the handle's ±y face at height z (base frame)."""
    y = HANDLE_HI[1] + offset if side > 0 else HANDLE_LO[1] - offset
    return np.array([(HANDLE_LO[0] + HANDLE_HI[0]) / 2, y, z])

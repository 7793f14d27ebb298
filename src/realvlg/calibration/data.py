"""The calibration folder: images plus ``samples.yaml`` (read by ``realvlg calibrate --from-folder``,
written by the live and simulated collection).

``samples.yaml`` has exactly these keys::

    board: {type: charuco, squares_x: 7, squares_y: 5, square_length: 0.04, marker_length: 0.03,
            dictionary: DICT_5X5_100}          # or {type: chessboard, corners_x, corners_y, square_length}
    camera: {width: 1280, height: 720, fx: 910.0, fy: 910.0, cx: 640.0, cy: 360.0,
             distortion: [0, 0, 0, 0, 0]}      # plumb_bob k1 k2 p1 p2 k3
    samples:
      - image: img_000.png                     # relative to the folder
        base_T_ee: {translation: [0.45, 0.02, 0.50], quaternion: [1.0, 0.0, 0.0, 0.0]}   # x y z w

``base_T_ee`` is the robot pose base←ee at the moment the image was taken (metres; the
quaternion (x, y, z, w) of the ee axes in the base frame), as the robot reports it (franky's
``O_T_EE``: the hand TCP on a Franka). Chessboard corner counts are inner corners (see
:mod:`realvlg.calibration.board`).
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np
import yaml

from realvlg.calibration.board import BoardSpec
from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.transforms import Transform

SAMPLES_FILE = "samples.yaml"
_TOP_KEYS = ("board", "camera", "samples")
_CAMERA_KEYS = ("width", "height", "fx", "fy", "cx", "cy", "distortion")
_SAMPLE_KEYS = ("image", "base_T_ee")
_POSE_KEYS = ("translation", "quaternion")


@dataclass(frozen=True)
class CalibrationFolder:
    """A loaded folder: the board, the camera intrinsics and, per sample, the image path and
    base←ee (4x4)."""

    root: pathlib.Path
    board: BoardSpec
    intrinsics: CameraIntrinsics
    images: tuple[pathlib.Path, ...]
    base_T_ee: np.ndarray      # (N, 4, 4)

    def read_images(self):
        """Yield ``(name, rgb uint8 image, base_T_ee)`` per sample."""
        for path, T in zip(self.images, self.base_T_ee):
            yield path.name, read_image(path), T


def _exact_keys(d: Any, keys: Sequence[str], where: str) -> dict:
    if not isinstance(d, dict):
        raise InvalidInputError(f"{where}: expected a mapping with keys {', '.join(keys)}, got {d!r}")
    missing, extra = [k for k in keys if k not in d], [str(k) for k in d if k not in keys]
    if missing or extra:
        raise InvalidInputError(f"{where}: needs exactly the keys {', '.join(keys)}"
                                + (f"; missing {', '.join(missing)}" if missing else "")
                                + (f"; unknown {', '.join(extra)}" if extra else ""))
    return d


def read_image(path: pathlib.Path) -> np.ndarray:
    """An image file as RGB uint8 (8-bit grey and colour PNG/JPEG)."""
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise InvalidInputError(f"cannot read image {path} (missing or not an image)")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def load_folder(folder: str | pathlib.Path) -> CalibrationFolder:
    """Read and validate ``folder/samples.yaml`` (module docstring); image files must exist."""
    root = pathlib.Path(folder)
    path = root / SAMPLES_FILE
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InvalidInputError(f"cannot read {path}: {exc.strerror} (a calibration folder holds the images and "
                                f"{SAMPLES_FILE})") from None
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{path} is not valid YAML: {exc}") from None
    _exact_keys(data, _TOP_KEYS, str(path))
    board = BoardSpec.from_dict(data["board"], f"{path}: board")
    cam = _exact_keys(data["camera"], _CAMERA_KEYS, f"{path}: camera")
    try:
        intrinsics = CameraIntrinsics(int(cam["width"]), int(cam["height"]), float(cam["fx"]), float(cam["fy"]),
                                      float(cam["cx"]), float(cam["cy"]), tuple(float(v) for v in cam["distortion"]))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{path}: camera: {exc}") from None
    if len(intrinsics.distortion) != 5:
        raise InvalidInputError(f"{path}: camera distortion must be 5 plumb_bob numbers (k1 k2 p1 p2 k3), "
                                f"got {len(intrinsics.distortion)}")
    samples = data["samples"]
    if not isinstance(samples, list) or not samples:
        raise InvalidInputError(f"{path}: samples must be a non-empty list")
    images, poses = [], []
    for k, s in enumerate(samples):
        where = f"{path}: samples[{k}]"
        _exact_keys(s, _SAMPLE_KEYS, where)
        pose = _exact_keys(s["base_T_ee"], _POSE_KEYS, f"{where}.base_T_ee")
        T = Transform.from_translation_quaternion(pose["translation"], pose["quaternion"], "base", "ee")
        image = root / str(s["image"])
        if not image.is_file():
            raise InvalidInputError(f"{where}: image {image} does not exist")
        images.append(image)
        poses.append(T.matrix)
    return CalibrationFolder(root, board, intrinsics, tuple(images), np.stack(poses))


def save_folder(folder: str | pathlib.Path, board: BoardSpec, intrinsics: CameraIntrinsics,
                images: Sequence[np.ndarray], base_T_ee: Sequence[np.ndarray]) -> pathlib.Path:
    """Write RGB images as ``img_000.png``… and ``samples.yaml``; returns the yaml's path."""
    if len(images) != len(base_T_ee):
        raise InvalidInputError(f"{len(images)} images but {len(base_T_ee)} robot poses")
    root = pathlib.Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    samples = []
    for k, (image, T) in enumerate(zip(images, base_T_ee)):
        name = f"img_{k:03d}.png"
        bgr = cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR) if np.ndim(image) == 3 else image
        if not cv2.imwrite(str(root / name), bgr):
            raise OSError(f"cannot write {root / name}")
        pose = Transform("base", "ee", np.asarray(T, dtype=float))
        samples.append({"image": name, "base_T_ee": {"translation": [float(v) for v in pose.translation],
                                                     "quaternion": [float(v) for v in pose.quaternion_xyzw]}})
    cam = intrinsics.to_dict()
    data = {"board": board.to_dict(), "camera": {k: cam[k] for k in _CAMERA_KEYS}, "samples": samples}
    path = root / SAMPLES_FILE
    path.write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=None))
    return path

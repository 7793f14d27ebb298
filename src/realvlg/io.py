"""Reading depth images and camera intrinsics from files.

Depth files (:func:`read_depth`): 16-bit PNG (sensor units, times ``depth_scale``), ``.npy``
(integer arrays in sensor units, float arrays in metres) and TIFF (``.tif``/``.tiff`` via tifffile;
the same rule: integers are scaled, floats are metres). The result is float32 metres with invalid
pixels 0.0 (:func:`realvlg.geometry.projection.depth_to_metres`).

Intrinsics files (:func:`read_intrinsics`), YAML in either layout:

* realvlg's own (:meth:`CameraIntrinsics.to_dict`): ``width, height, fx, fy, cx, cy[, distortion]``;
* ROS ``camera_info`` YAML (camera_calibration_parsers): ``image_width, image_height,
  camera_matrix: {rows: 3, cols: 3, data: [9 numbers]}[, distortion_coefficients: {data: [...]}]``.
"""

from __future__ import annotations

import pathlib

import numpy as np
import yaml

from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics
from realvlg.geometry.projection import DEFAULT_DEPTH_SCALE, depth_to_metres

DEPTH_SUFFIXES = (".png", ".npy", ".tif", ".tiff")


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def read_depth_raw(path: str | pathlib.Path) -> np.ndarray:
    """The depth image stored in ``path`` as it is (2-D, integer or float)."""
    path = pathlib.Path(path)
    suffix = path.suffix.lower()
    if suffix not in DEPTH_SUFFIXES:
        raise InvalidInputError(f"{path}: unknown depth file type {suffix!r}; use one of {', '.join(DEPTH_SUFFIXES)}")
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such depth file")
    try:
        if suffix == ".png":
            import cv2

            depth = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
            if depth is None:
                raise ValueError("not a readable PNG")
            if depth.dtype != np.uint16:
                raise InvalidInputError(f"{path}: a depth PNG must be 16-bit single-channel, got {depth.dtype} "
                                        f"with shape {depth.shape}")
        elif suffix == ".npy":
            depth = np.load(path, allow_pickle=False)
        else:
            import tifffile

            depth = tifffile.imread(path)
    except InvalidInputError:
        raise
    except Exception as exc:  # every reader has its own exception types for a corrupt file
        raise InvalidInputError(f"{path}: cannot read depth ({_one_line(exc)})") from None
    if depth.ndim != 2:
        raise InvalidInputError(f"{path}: depth must be a single-channel H x W image, got shape {depth.shape}")
    if not (np.issubdtype(depth.dtype, np.integer) or np.issubdtype(depth.dtype, np.floating)):
        raise InvalidInputError(f"{path}: depth must hold integers or floats, got {depth.dtype}")
    return depth


def read_depth(path: str | pathlib.Path, depth_scale: float = DEFAULT_DEPTH_SCALE) -> np.ndarray:
    """Depth file → float32 metres, invalid pixels 0.0; ``depth_scale`` [m/unit] applies to
    integer images only (float files are metres)."""
    return depth_to_metres(read_depth_raw(path), depth_scale)


def _from_camera_info_yaml(data: dict) -> CameraIntrinsics:
    matrix = data["camera_matrix"]
    values = matrix["data"] if isinstance(matrix, dict) else matrix
    distortion = data.get("distortion_coefficients") or {}
    dist = distortion.get("data") if isinstance(distortion, dict) else distortion
    return CameraIntrinsics.from_matrix(np.asarray(values, dtype=float), data["image_width"],
                                        data["image_height"], dist or None)


def read_intrinsics(path: str | pathlib.Path) -> CameraIntrinsics:
    """Intrinsics from a YAML file in realvlg's or ROS camera_info layout (module docstring)."""
    path = pathlib.Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise InvalidInputError(f"{path}: no such intrinsics file") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"{path}: cannot read intrinsics YAML ({_one_line(exc)})") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path}: intrinsics YAML must be a mapping, got {type(data).__name__}")
    try:
        if "camera_matrix" in data:
            return _from_camera_info_yaml(data)
        return CameraIntrinsics.from_dict(data)
    except InvalidInputError as exc:
        raise InvalidInputError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInputError(f"{path}: malformed intrinsics ({type(exc).__name__}: {exc}); expected "
                                "width/height/fx/fy/cx/cy or a ROS camera_info YAML") from None


def read_image(path: str | pathlib.Path, mode: str = "RGB", what: str = "image") -> np.ndarray:
    """An image file as an array in PIL ``mode`` (``RGB`` → HxWx3 uint8, ``L`` → HxW); a file that
    cannot be read is an InvalidInputError naming ``what``."""
    from PIL import Image

    try:
        return np.asarray(Image.open(path).convert(mode))
    except OSError as exc:
        raise InvalidInputError(f"{path}: cannot read the {what} ({exc})") from None

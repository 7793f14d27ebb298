"""Calibration boards: definition, image generation, detection with sub-pixel refinement, pose by PnP.

Two kinds (:class:`BoardSpec`, the ``board:`` mapping of ``samples.yaml``):

* ``charuco`` (preferred: partly hidden or cropped boards still give a pose, and every corner has
  an id, so the pose is never ambiguous): ``squares_x`` × ``squares_y`` squares of
  ``square_length`` [m] with ArUco markers of ``marker_length`` [m] from ``dictionary``
  (an OpenCV name such as ``DICT_5X5_100``), OpenCV ≥ 4.6 layout (not the legacy pattern).
* ``chessboard``: ``corners_x`` × ``corners_y`` **inner** corners, ``square_length`` [m]. The
  whole board must be visible. One count must be even and the other odd: a board with the same
  parity both ways looks the same turned by 180°, and the pose flips between images.

Board frame (``calibration_board``): OpenCV's object points, on the board plane z = 0, origin at
the board's outer top-left corner for ChArUco and at the first inner corner for a chessboard, x
along the first count, y along the second, z into the board (right-handed). Metres.

:func:`detect` finds the corners with sub-pixel refinement (ChArUco: markers → chessboard corners
interpolated and refined by ``cornerSubPix`` inside ``CharucoDetector``, whose window stays off the
markers; chessboard: ``findChessboardCorners`` + ``cornerSubPix`` with a window below half the
corner spacing) and returns a :class:`Detection`;
:meth:`Detection.pose` solves camera←board by PnP with the camera intrinsics (IPPE for a plane,
then Levenberg–Marquardt refinement) and its reprojection RMS [px].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics

BOARD_TYPES = ("charuco", "chessboard")
_KEYS = {"charuco": ("type", "squares_x", "squares_y", "square_length", "marker_length", "dictionary"),
         "chessboard": ("type", "corners_x", "corners_y", "square_length")}
MIN_CORNERS = 6          # fewer detected corners than this: no pose from that image
_SUBPIX_CRITERIA = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 50, 1e-4)


@dataclass(frozen=True)
class BoardSpec:
    """A calibration board (module docstring). Lengths in metres."""

    type: str
    square_length: float
    squares_x: int = 0
    squares_y: int = 0
    marker_length: float = 0.0
    dictionary: str = ""
    corners_x: int = 0
    corners_y: int = 0

    def __post_init__(self) -> None:
        if self.type not in BOARD_TYPES:
            raise InvalidInputError(f"board type must be one of {', '.join(BOARD_TYPES)}, got {self.type!r}")
        if not (np.isfinite(self.square_length) and self.square_length > 0):
            raise InvalidInputError(f"board square_length must be > 0 m, got {self.square_length}")
        if self.type == "charuco":
            if min(self.squares_x, self.squares_y) < 2 or self.squares_x * self.squares_y < 6:
                raise InvalidInputError(f"a ChArUco board needs at least 3×2 squares, got "
                                        f"{self.squares_x}×{self.squares_y}")
            if not 0 < self.marker_length < self.square_length:
                raise InvalidInputError(f"marker_length must be in (0, square_length = {self.square_length}) m, "
                                        f"got {self.marker_length}")
            if not self.dictionary.startswith("DICT_") or not hasattr(cv2.aruco, self.dictionary):
                raise InvalidInputError(f"unknown ArUco dictionary {self.dictionary!r} (e.g. DICT_4X4_50, "
                                        f"DICT_5X5_100, DICT_6X6_250)")
            markers = self.squares_x * self.squares_y // 2
            size = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary)).bytesList.shape[0]
            if markers > size:
                raise InvalidInputError(f"a {self.squares_x}×{self.squares_y} ChArUco board needs {markers} markers, "
                                        f"{self.dictionary} has {size}")
        else:
            if self.corners_x < 2 or self.corners_y < 2:
                raise InvalidInputError(f"a chessboard needs at least 2×2 inner corners, got "
                                        f"{self.corners_x}×{self.corners_y}")
            if self.corners_x % 2 == self.corners_y % 2:
                raise InvalidInputError(f"chessboard {self.corners_x}×{self.corners_y} inner corners is symmetric "
                                        f"under a half turn (pose ambiguous): use one even and one odd count, "
                                        f"e.g. 9×6, or a ChArUco board")

    # -- (de)serialisation ------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, d: Any, source: str = "board") -> "BoardSpec":
        """From the ``board:`` mapping; exactly the keys of its type (module docstring)."""
        if not isinstance(d, dict) or d.get("type") not in BOARD_TYPES:
            raise InvalidInputError(f"{source}: expected a mapping with type: {' or '.join(BOARD_TYPES)}, got {d!r}")
        keys = _KEYS[d["type"]]
        missing, extra = [k for k in keys if k not in d], [k for k in d if k not in keys]
        if missing or extra:
            raise InvalidInputError(f"{source}: a {d['type']} board has exactly the keys {', '.join(keys)}"
                                    + (f"; missing {', '.join(missing)}" if missing else "")
                                    + (f"; unknown {', '.join(map(str, extra))}" if extra else ""))
        try:
            values = {k: (str(v) if k in ("type", "dictionary") else
                          float(v) if k.endswith("length") else _count(v, k)) for k, v in d.items()}
        except (TypeError, ValueError):
            raise InvalidInputError(f"{source}: bad value in {d!r}") from None
        try:
            return cls(**values)
        except InvalidInputError as exc:
            raise InvalidInputError(f"{source}: {exc}") from None

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in _KEYS[self.type]}

    # -- geometry ---------------------------------------------------------------------------------
    @property
    def size(self) -> tuple[float, float]:
        """Printed extent (x, y) [m] (ChArUco: the whole board; chessboard: the inner-corner grid)."""
        if self.type == "charuco":
            return self.squares_x * self.square_length, self.squares_y * self.square_length
        return (self.corners_x - 1) * self.square_length, (self.corners_y - 1) * self.square_length

    @property
    def object_points(self) -> np.ndarray:
        """(N, 3) every corner in the board frame [m], indexed by corner id."""
        if self.type == "charuco":
            return np.asarray(self._charuco().getChessboardCorners(), dtype=np.float64).reshape(-1, 3)
        i, j = np.meshgrid(np.arange(self.corners_x), np.arange(self.corners_y))
        return np.stack([i.ravel(), j.ravel(), np.zeros(i.size)], axis=1) * self.square_length

    @property
    def centre(self) -> np.ndarray:
        """The board centre in the board frame [m]."""
        return self.object_points.mean(axis=0)

    def _charuco(self) -> "cv2.aruco.CharucoBoard":
        dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, self.dictionary))
        return cv2.aruco.CharucoBoard((self.squares_x, self.squares_y), self.square_length,
                                      self.marker_length, dictionary)

    def image(self, px_per_square: int = 100, margin_px: int = 0) -> np.ndarray:
        """The printable board as a uint8 grey image (whole squares, ``margin_px`` white border).
        For a chessboard the outer squares around the inner-corner grid are drawn too."""
        if self.type == "charuco":
            w, h = self.squares_x * px_per_square, self.squares_y * px_per_square
            img = self._charuco().generateImage((w + 2 * margin_px, h + 2 * margin_px), marginSize=margin_px)
            return np.asarray(img, dtype=np.uint8)
        nx, ny = self.corners_x + 1, self.corners_y + 1
        cells = (np.add.outer(np.arange(ny), np.arange(nx)) % 2 == 1).astype(np.uint8) * 255
        img = np.kron(cells, np.ones((px_per_square, px_per_square), np.uint8))
        return np.pad(img, margin_px, constant_values=255)


def _count(v: Any, key: str) -> int:
    if isinstance(v, bool) or int(v) != v:
        raise ValueError(key)
    return int(v)


@dataclass(frozen=True)
class Detection:
    """Corners found in one image: ``ids`` (N,) into :attr:`BoardSpec.object_points`,
    ``image_points`` (N, 2) [px], ``object_points`` (N, 3) [m, board frame]."""

    ids: np.ndarray
    image_points: np.ndarray
    object_points: np.ndarray

    def pose(self, intrinsics: CameraIntrinsics) -> tuple[np.ndarray, float]:
        """camera←board 4x4 by PnP (IPPE, refined by Levenberg–Marquardt) and the reprojection
        RMS [px] of the detected corners. Raises :class:`InvalidInputError` when it fails."""
        K, dist = intrinsics.K, np.asarray(intrinsics.distortion, dtype=np.float64)
        obj, img = self.object_points.astype(np.float64), self.image_points.astype(np.float64)
        ok, rvec, tvec = cv2.solvePnP(obj, img, K, dist, flags=cv2.SOLVEPNP_IPPE)
        if not ok:
            raise InvalidInputError("PnP found no board pose")
        rvec, tvec = cv2.solvePnPRefineLM(obj, img, K, dist, rvec, tvec)
        projected, _ = cv2.projectPoints(obj, rvec, tvec, K, dist)
        rms = float(np.sqrt(np.mean(np.sum((projected.reshape(-1, 2) - img) ** 2, axis=1))))
        T = np.eye(4)
        T[:3, :3] = cv2.Rodrigues(rvec)[0]
        T[:3, 3] = tvec.ravel()
        if T[2, 3] <= 0:
            raise InvalidInputError("PnP put the board behind the camera")
        return T, rms


def _grey(image: np.ndarray) -> np.ndarray:
    img = np.asarray(image)
    if img.ndim == 3:
        img = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY if img.shape[2] == 3 else cv2.COLOR_RGBA2GRAY)
    if img.dtype != np.uint8:
        raise InvalidInputError(f"calibration images must be 8-bit, got {img.dtype}")
    return img


def _refine(grey: np.ndarray, points: np.ndarray) -> np.ndarray:
    """cornerSubPix with a window below half the smallest corner spacing (never across a square)."""
    pts = points.reshape(-1, 1, 2).astype(np.float32)
    if len(pts) > 1:
        d = np.linalg.norm(pts[:, None, 0] - pts[None, :, 0], axis=-1)
        spacing = float(np.min(d[np.triu_indices(len(pts), 1)]))
    else:
        spacing = 20.0
    half = int(np.clip(spacing / 4, 2, 7))
    return cv2.cornerSubPix(grey, pts, (half, half), (-1, -1), _SUBPIX_CRITERIA).reshape(-1, 2)


def detect(board: BoardSpec, image: np.ndarray) -> Detection | None:
    """The board's corners in an RGB or grey uint8 image, sub-pixel refined, or ``None`` when
    fewer than :data:`MIN_CORNERS` are found."""
    grey = _grey(image)
    if board.type == "charuco":
        detector = cv2.aruco.CharucoDetector(board._charuco())
        corners, ids, _, _ = detector.detectBoard(grey)
        if ids is None or len(ids) < MIN_CORNERS:
            return None
        ids = ids.ravel().astype(np.int64)
        refined = corners.reshape(-1, 2)  # the detector already refines them with cornerSubPix
    else:
        flags = cv2.CALIB_CB_ADAPTIVE_THRESH | cv2.CALIB_CB_NORMALIZE_IMAGE
        found, corners = cv2.findChessboardCorners(grey, (board.corners_x, board.corners_y), flags=flags)
        if not found:
            return None
        ids = np.arange(board.corners_x * board.corners_y)
        refined = _refine(grey, corners.reshape(-1, 2))
    obj = board.object_points[ids]
    # Corners on one line give no pose (a single row of a ChArUco board seen at the edge).
    if np.linalg.matrix_rank(obj[:, :2] - obj[:, :2].mean(axis=0), tol=1e-6) < 2:
        return None
    return Detection(ids, refined.astype(np.float64), obj)

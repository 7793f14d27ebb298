"""Synthetic calibration images without a simulator: the printed board warped into a pinhole camera
at a known pose (OpenCV ``warpPerspective`` of the board image by the plane homography
K·[r1 r2 t], rendered at ``supersample``× and area-averaged down, optional Gaussian noise).

Used by the tests (detection, solvers, degenerate cases, the folder CLI) and to try
``realvlg calibrate`` without a robot. Distortion is not rendered: the intrinsics must be rectified.
"""

from __future__ import annotations

import cv2
import numpy as np

from realvlg.calibration.board import BoardSpec
from realvlg.errors import InvalidInputError
from realvlg.geometry.camera import CameraIntrinsics

BOARD_PX_PER_SQUARE = 120
BACKGROUND = 110  # grey level around the board


def _board_pixel_to_plane(board: BoardSpec, px: int, margin: int) -> np.ndarray:
    """3x3: board-image pixel (u, v, 1) → board-frame plane point (x, y, 1) [m] (pixel centres at
    integers; ChArUco origin = outer corner, chessboard origin = first inner corner)."""
    s = board.square_length / px
    origin = margin - 0.5 + (px if board.type == "chessboard" else 0)
    return np.array([[s, 0, -origin * s], [0, s, -origin * s], [0, 0, 1.0]])


def render_board(board: BoardSpec, intrinsics: CameraIntrinsics, camera_T_board: np.ndarray, *,
                 supersample: int = 3, noise_std: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """RGB uint8 (H, W, 3) of the board seen at ``camera_T_board`` (4x4, camera←board)."""
    if not intrinsics.is_rectified:
        raise InvalidInputError("synthetic images are rendered without distortion: use rectified intrinsics")
    margin = BOARD_PX_PER_SQUARE // 2
    art = board.image(BOARD_PX_PER_SQUARE, margin)
    big = intrinsics.scaled(intrinsics.width * supersample, intrinsics.height * supersample)
    T = np.asarray(camera_T_board, dtype=float)
    plane_to_image = big.K @ np.column_stack([T[:3, 0], T[:3, 1], T[:3, 3]])
    H = plane_to_image @ _board_pixel_to_plane(board, BOARD_PX_PER_SQUARE, margin)
    warped = cv2.warpPerspective(art, H, (big.width, big.height), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=BACKGROUND)
    image = cv2.resize(warped, (intrinsics.width, intrinsics.height), interpolation=cv2.INTER_AREA).astype(float)
    if noise_std > 0:
        image += (rng or np.random.default_rng(0)).normal(0.0, noise_std, image.shape)
    return np.repeat(np.clip(np.rint(image), 0, 255).astype(np.uint8)[..., None], 3, axis=2)

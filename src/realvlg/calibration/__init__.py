"""Hand-eye calibration: the camera mount from board images and robot poses (``realvlg calibrate``).

* :mod:`realvlg.calibration.board` — ChArUco / chessboard boards: definition, printable image,
  detection with sub-pixel corners, camera←board by PnP.
* :mod:`realvlg.calibration.solve` — eye-in-hand (ee←camera) and eye-to-hand (base←camera) with
  every OpenCV hand-eye method, their consistency, residuals, degenerate-data checks.
* :mod:`realvlg.calibration.data` — the calibration folder (images + ``samples.yaml``).
* :mod:`realvlg.calibration.sweep` — safe pose sweeps around a centre pose; sample collection.
* :mod:`realvlg.calibration.sim` — a board in :class:`~realvlg.sim.fr3_world.FR3World` and a sweep
  with franky over franky-sim (needs the ``sim`` extra).
* :mod:`realvlg.calibration.synthetic` — board images at known poses without a simulator.

The result is written with :func:`realvlg.geometry.transforms.save_transform` to
``calibration/<name>.yaml``. No module here imports rclpy. See docs/calibration.md.
"""

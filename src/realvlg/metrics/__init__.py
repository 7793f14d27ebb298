"""RealVLG benchmark metrics, shared by ``realvlg eval`` and the training rewards.

* :mod:`realvlg.metrics.boxes` — IoU / GIoU / DIoU / CIoU (torchvision's definitions), N×M and paired.
* :mod:`realvlg.metrics.masks` — S-measure, adaptive F-measure (PySODMetrics), F1, IoU.
* :mod:`realvlg.metrics.grasps` — rotated-rectangle best IoU and the Cornell criterion.
* :mod:`realvlg.metrics.protocols` — ``standard`` and ``realvlg-r1`` (the official code's numbers).
* :mod:`realvlg.metrics.benchmark` — predictions file × annotations → ``results.json``.
* :mod:`realvlg.metrics.report` — Table-4 Markdown and PNG plots.

The metric modules are plain numpy/shapely; nothing here imports ROS or torch.
"""

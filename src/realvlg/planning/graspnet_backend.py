"""graspnet-baseline (Fang et al., CVPR 2020) as a coarse-grasp backend: GPU users only.

Nothing of graspnet-baseline ships with realvlg: the user provides a checkout of
https://github.com/graspnet/graspnet-baseline with its CUDA extensions built (``pointnet2`` and
``knn`` from its README) and a checkpoint (e.g. ``checkpoint-rs.tar``). :func:`check_graspnet`
reports every missing piece in one :class:`MissingDependencyError`: the code, the compiled ops,
CUDA, the checkpoint.

Inference follows the repository's ``demo.py``: the scene cloud (``num_points`` random points of
the valid depth, metres, camera frame) → ``GraspNet(input_feature_dim=0, num_view=300,
num_angle=12, num_depth=4, cylinder_radius=0.05, hmin=-0.02, hmax_list=[0.01, 0.02, 0.03, 0.04],
is_training=False)`` → ``pred_decode`` → 17-float rows. Only grasps whose centre lies within
``object_distance`` of the object's cloud are kept (the network grasps the whole scene); NMS and
sorting as for the antipodal backend. Scores come from the network (``score_parts`` =
``{"network": score}``).
"""

from __future__ import annotations

import importlib
import pathlib
import sys
from dataclasses import dataclass

import numpy as np

from realvlg.frames import FRANKA_HAND_STROKE
from realvlg.planning.antipodal import CoarseGrasps, MissingDependencyError, graspnet_api


@dataclass(frozen=True)
class GraspNetConfig:
    code_dir: str = ""            # graspnet-baseline checkout (holds models/, pointnet2/, knn/, utils/)
    checkpoint: str = ""          # e.g. checkpoint-rs.tar
    num_points: int = 20000
    object_distance: float = 0.01
    max_width: float = FRANKA_HAND_STROKE   # GraspNet's own grasps open up to 0.1 m
    nms_translation: float = 0.02
    nms_rotation: float = np.radians(30)
    seed: int = 0
    frame: str = "camera_color_optical_frame"


def check_graspnet(config: GraspNetConfig) -> None:
    """Raise :class:`MissingDependencyError` naming everything graspnet-baseline lacks here."""
    missing = []
    code = pathlib.Path(config.code_dir) if config.code_dir else None
    if code is None or not (code / "models" / "graspnet.py").is_file():
        missing.append(f"the graspnet-baseline code (a checkout with models/graspnet.py; got "
                       f"{config.code_dir or 'no --graspnet-code'})")
    if not config.checkpoint or not pathlib.Path(config.checkpoint).is_file():
        missing.append(f"the checkpoint file (got {config.checkpoint or 'no --graspnet-checkpoint'})")
    try:
        import torch

        if not torch.cuda.is_available():
            missing.append("CUDA (graspnet-baseline's ops run on a GPU only)")
    except ImportError:
        missing.append("torch")
    if code is not None and (code / "models" / "graspnet.py").is_file():
        for sub in ("", "models", "pointnet2", "utils"):
            path = str(code / sub)
            if path not in sys.path:
                sys.path.append(path)
        for ext in ("pointnet2._ext", "knn_pytorch"):
            try:
                importlib.import_module(ext)
            except ImportError:
                missing.append(f"the compiled op '{ext}' (build pointnet2/ and knn/ of the checkout: "
                               f"python setup.py install)")
    if missing:
        raise MissingDependencyError("the graspnet backend needs: " + "; ".join(missing))


def graspnet_grasps(object_points: np.ndarray, scene_points: np.ndarray,
                    config: GraspNetConfig) -> CoarseGrasps:
    """graspnet-baseline's grasps on the scene that lie on the object, best first."""
    check_graspnet(config)
    import torch
    from graspnet import GraspNet, pred_decode  # graspnet-baseline's models/graspnet.py
    from scipy.spatial import cKDTree

    gn = graspnet_api()
    net = GraspNet(input_feature_dim=0, num_view=300, num_angle=12, num_depth=4, cylinder_radius=0.05,
                   hmin=-0.02, hmax_list=[0.01, 0.02, 0.03, 0.04], is_training=False)
    device = torch.device("cuda:0")
    net.to(device)
    net.load_state_dict(torch.load(config.checkpoint, map_location=device)["model_state_dict"])
    net.eval()
    rng = np.random.default_rng(config.seed)
    scene = np.asarray(scene_points, dtype=np.float32)
    pick = rng.choice(len(scene), config.num_points, replace=len(scene) < config.num_points)
    cloud = torch.from_numpy(scene[pick][None]).to(device)
    with torch.no_grad():
        rows = pred_decode(net({"point_clouds": cloud}))[0].detach().cpu().numpy().astype(np.float64)
    dist, _ = cKDTree(np.asarray(object_points)).query(rows[:, 13:16])
    rows = rows[(dist < config.object_distance) & (rows[:, 1] <= config.max_width)]
    group = gn.GraspGroup(rows).nms(config.nms_translation, config.nms_rotation)
    group.sort_by_score()
    group.grasp_group_array[:, 16] = -1
    stats = {"scene_points": len(pick), "on_object": len(rows), "after_nms": len(group)}
    return CoarseGrasps(group, {"network": group.scores.copy()}, stats, config.frame)

"""Benchmark of the RealVLG metrics at the benchmark's size: 45 000 samples for each of the four
tasks, target ≤ 60 s in total (standard protocol) on a 2-core machine.

Data are synthetic but benchmark-shaped: 1280×720 masks with objects of 40–200 px (a pool of
distinct masks is cycled, each sample is still scored from scratch), 5–60 ground-truth grasp
rectangles and contact pairs per object around the prediction. Peers, measured in the same run on
a subset and extrapolated to the full size:

* bbox: a per-sample Python loop of the same formulas;
* seg: PySODMetrics ``Smeasure`` + ``Fmeasure`` (when installed), per sample;
* grasp / contact: the official evaluation's per-sample loop — one shapely Polygon pair per
  ground truth.

Run: ``.venv/bin/python bench/metrics.py [--n 45000]``.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import shapely

from realvlg.geometry.grasps import contact_corners, rect_corners
from realvlg.metrics.masks import mask_scores, realvlg_r1_mask_scores
from realvlg.metrics.protocols import PROTOCOLS, score_boxes, score_contacts, score_grasps

H, W = 720, 1280


def make_boxes(rng, n):
    x0, y0 = rng.uniform(0, W - 220, n), rng.uniform(0, H - 220, n)
    gt = np.stack([x0, y0, x0 + rng.uniform(40, 200, n), y0 + rng.uniform(40, 200, n)], axis=1)
    pred = gt + rng.normal(0, 15, (n, 4))
    pred[:, 2:] = np.maximum(pred[:, 2:], pred[:, :2] + 1)
    return pred, gt


def make_masks(rng, pool):
    pairs = []
    for _ in range(pool):
        pred_box, gt_box = make_boxes(rng, 1)
        ys, xs = np.mgrid[0:H, 0:W]

        def ellipse(b):
            cx, cy, rx, ry = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2, (b[2] - b[0]) / 2, (b[3] - b[1]) / 2
            return ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1

        pairs.append((ellipse(pred_box[0]), ellipse(gt_box[0])))
    return pairs


def make_grasps(rng, n):
    k = rng.integers(5, 61, n)
    owner = np.repeat(np.arange(n), k)
    cx, cy = rng.uniform(100, W - 100, n), rng.uniform(100, H - 100, n)
    gx, gy = cx[owner] + rng.normal(0, 25, owner.size), cy[owner] + rng.normal(0, 25, owner.size)
    gtheta, gwidth = rng.uniform(-math.pi, math.pi, owner.size), rng.uniform(20, 90, owner.size)
    gt_polys = rect_corners(gx, gy, gtheta, gwidth, rng.uniform(15, 40, owner.size)).reshape(-1, 8)
    pred = np.stack([cx + rng.normal(0, 20, n), cy + rng.normal(0, 20, n),
                     rng.uniform(-180, 180, n), rng.uniform(20, 90, n)], axis=1)
    half = np.stack([np.cos(gtheta), np.sin(gtheta)], axis=1) * (gwidth / 2)[:, None]
    gt_contacts = np.concatenate([np.stack([gx, gy], 1) - half, np.stack([gx, gy], 1) + half], axis=1)
    t = np.radians(pred[:, 2])
    ph = np.stack([np.cos(t), np.sin(t)], axis=1) * (pred[:, 3] / 2)[:, None]
    pred_contacts = np.concatenate([pred[:, :2] - ph, pred[:, :2] + ph], axis=1)
    return pred, gt_polys, pred_contacts, gt_contacts, owner


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def naive_boxes(pred, gt):
    out = []
    for p, g in zip(pred.tolist(), gt.tolist()):
        iw = max(0.0, min(p[2], g[2]) - max(p[0], g[0]))
        ih = max(0.0, min(p[3], g[3]) - max(p[1], g[1]))
        inter = iw * ih
        union = (p[2] - p[0]) * (p[3] - p[1]) + (g[2] - g[0]) * (g[3] - g[1]) - inter
        iou = inter / union
        cw, ch = max(p[2], g[2]) - min(p[0], g[0]), max(p[3], g[3]) - min(p[1], g[1])
        giou = iou - (cw * ch - union) / (cw * ch)
        rho2 = ((p[0] + p[2] - g[0] - g[2]) / 2) ** 2 + ((p[1] + p[3] - g[1] - g[3]) / 2) ** 2
        diou = iou - rho2 / (cw * cw + ch * ch + 1e-7)
        v = 4 / math.pi ** 2 * (math.atan((p[2] - p[0]) / (p[3] - p[1]))
                                - math.atan((g[2] - g[0]) / (g[3] - g[1]))) ** 2
        out.append((iou, giou, diou, diou - v / (1 - iou + v + 1e-7) * v))
    return out


def naive_grasps(pred_corners, gt_corners, owner, n):
    """The official evaluation's loop: shapely Polygon per pair, best IoU per sample."""
    starts = np.searchsorted(owner, np.arange(n + 1))
    best = []
    for i in range(n):
        p = shapely.Polygon(pred_corners[i])
        b = 0.0
        for g in gt_corners[starts[i]:starts[i + 1]]:
            q = shapely.Polygon(g)
            b = max(b, p.intersection(q).area / p.union(q).area)
        best.append(b)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=45_000, help="samples per task")
    parser.add_argument("--mask-pool", type=int, default=64, help="distinct 1280x720 mask pairs cycled")
    parser.add_argument("--peer-n", type=int, default=300, help="samples the slow peers run on")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n, m = args.n, args.peer_n
    std, r1 = PROTOCOLS["standard"], PROTOCOLS["realvlg-r1"]
    print(f"RealVLG metrics benchmark: {n} samples per task (peers on {m}, extrapolated)")

    pred_b, gt_b = make_boxes(rng, n)
    masks = make_masks(rng, args.mask_pool)
    pred_g, gt_polys, pred_c, gt_c, owner = make_grasps(rng, n)
    print(f"grasp ground truths: {owner.size} ({owner.size / n:.1f} per sample)")

    rows = []
    t_std, _ = timed(score_boxes, pred_b, gt_b, std)
    t_r1, _ = timed(score_boxes, pred_b, gt_b, r1)
    t_peer, _ = timed(naive_boxes, pred_b[:m * 10], gt_b[:m * 10])
    rows.append(("bbox", t_std, t_r1, t_peer * n / (m * 10), "per-sample Python loop"))

    def seg(score):
        for i in range(n):
            score(*masks[i % len(masks)])

    t_std, _ = timed(seg, mask_scores)
    t_r1, _ = timed(seg, realvlg_r1_mask_scores)
    try:
        import py_sod_metrics

        def sod():
            for i in range(m):
                p, g = masks[i % len(masks)]
                s, f = py_sod_metrics.Smeasure(), py_sod_metrics.Fmeasure()
                s.step(p.astype(np.uint8) * 255, g.astype(np.uint8) * 255)
                f.step(p.astype(np.uint8) * 255, g.astype(np.uint8) * 255)

        t_peer, _ = timed(sod)
        rows.append(("seg", t_std, t_r1, t_peer * n / m, "pysodmetrics Smeasure+Fmeasure"))
    except ImportError:
        rows.append(("seg", t_std, t_r1, math.nan, "pysodmetrics not installed"))

    sub = owner < m
    t_std, _ = timed(score_grasps, pred_g, gt_polys, owner, std)
    t_r1, _ = timed(score_grasps, pred_g, gt_polys, owner, r1)
    pc = rect_corners(pred_g[:m, 0], pred_g[:m, 1], np.radians(pred_g[:m, 2]), pred_g[:m, 3])
    t_peer, _ = timed(naive_grasps, pc, gt_polys[sub].reshape(-1, 4, 2), owner[sub], m)
    rows.append(("grasp", t_std, t_r1, t_peer * n / m, "official per-pair shapely loop"))

    t_std, _ = timed(score_contacts, pred_c, gt_c, owner, std)
    t_r1, _ = timed(score_contacts, pred_c, gt_c, owner, r1)
    t_peer, _ = timed(naive_grasps, contact_corners(pred_c[:m], 80), contact_corners(gt_c[sub], 80), owner[sub], m)
    rows.append(("contact", t_std, t_r1, t_peer * n / m, "official per-pair shapely loop"))

    print(f"{'task':8s} {'standard s':>11s} {'realvlg-r1 s':>13s} {'peer s':>9s} {'ratio':>7s}  peer")
    for task, a, b, peer, what in rows:
        print(f"{task:8s} {a:11.2f} {b:13.2f} {peer:9.1f} {peer / a:6.1f}x  {what}")
    total = sum(r[1] for r in rows)
    total_r1 = sum(r[2] for r in rows)
    print(f"total standard {total:.1f} s, realvlg-r1 {total_r1:.1f} s for {n} samples x 4 tasks "
          f"(target <= 60 s): {'OK' if total <= 60 else 'OVER'}")


if __name__ == "__main__":
    main()

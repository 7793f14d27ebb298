"""Hand-eye calibration in simulation: mount error per method against the simulator's true mount.

Two runs of the whole `realvlg calibrate --sim` path (board world, franky sweep over franky-sim,
folder saved and read back, detection, PnP, every OpenCV method):

* the test's setting: 12 poses at 640×480;
* full size: 20 poses at the D435i's 1280×720.

For each: translation [mm] and rotation [°] error of every method against
calibration/sim_fr3_wrist_camera.yaml, its board spread and reprojection error, the method the
CLI writes, and the time per pose of collection and of detection + PnP. Run:

    .venv/bin/python bench/calibration.py [--poses 12,20] [--resolutions 640x480,1280x720]
"""

from __future__ import annotations

import argparse
import math
import pathlib
import tempfile
import time

from realvlg.calibration.data import load_folder
from realvlg.calibration.sim import collect_sim_folder, mount_error
from realvlg.calibration.solve import observe, solve
from realvlg.geometry.transforms import Transform, load_transform

TRUE_MOUNT = pathlib.Path(__file__).parents[1] / "calibration" / "sim_fr3_wrist_camera.yaml"


def run(count: int, width: int, height: int, truth: Transform) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        collect_sim_folder(tmp, count=count, width=width, height=height)
        t_collect = time.perf_counter() - t0
        data = load_folder(tmp)
        t0 = time.perf_counter()
        observations, rejected = observe(data.board, data.intrinsics, list(data.read_images()))
        t_detect = time.perf_counter() - t0
        t0 = time.perf_counter()
        result = solve(observations, data.intrinsics, data.board, rejected=rejected)
        t_solve = time.perf_counter() - t0
    print(f"\n{count} poses at {width}×{height}: board in {result.samples}/{result.images} images, "
          f"PnP reprojection {result.pnp_reprojection_px:.3f} px; collection {t_collect / count:.2f} s/pose, "
          f"detection + PnP {t_detect / count * 1e3:.1f} ms/image, all 7 solvers + residuals {t_solve * 1e3:.1f} ms")
    print(f"  {'method':<11} {'error [mm]':>10} {'error [°]':>9} {'spread max [mm]':>15} {'reproj [px]':>11}")
    for name, r in result.methods.items():
        dt, dr = mount_error(Transform(truth.parent, truth.child, r.X), truth)
        mark = "  ← written" if name == result.method else ""
        print(f"  {name:<11} {dt * 1e3:10.2f} {math.degrees(dr):9.3f} {r.board_spread_m[1] * 1e3:15.2f} "
              f"{r.reprojection_px:11.3f}{mark}")
    dt, dr = mount_error(result.transform, truth)
    print(f"  written: {result.method}, {dt * 1e3:.2f} mm, {math.degrees(dr):.3f}° "
          f"(target ≤ 2 mm, ≤ 0.2°: {'met' if dt <= 2e-3 and math.degrees(dr) <= 0.2 else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--poses", default="12,20", help="pose counts, one per run (default 12,20)")
    parser.add_argument("--resolutions", default="640x480,1280x720", help="WxH per run (default 640x480,1280x720)")
    args = parser.parse_args()
    truth = load_transform(TRUE_MOUNT)
    for count, res in zip(args.poses.split(","), args.resolutions.split(",")):
        w, h = (int(v) for v in res.split("x"))
        run(int(count), w, h, truth)


if __name__ == "__main__":
    main()

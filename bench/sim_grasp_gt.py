"""Executor success with ground-truth grasps in franky-sim (perfect perception; tests the
world + executor, not grounding). Per object N trials of the paper's protocol: a seeded scene,
the object's ground-truth top-down grasp from the simulator state, FrankaExecutor.grasp, then
success = lifted ≥ 5 cm and still held 2 s later. Prints a Markdown table; --json writes it.

    .venv/bin/python bench/sim_grasp_gt.py --setting single --trials 3 [--objects mug,apple]
"""

import argparse
import json
import time

from tqdm import tqdm

from realvlg.objects import OBJECTS, ground_truth_grasp
from realvlg.robots.franka import FrankaConfig, FrankaExecutor
from realvlg.sim.common import CameraConfig
from realvlg.sim.fr3_world import FR3World, FR3WorldConfig, free_loopback_address
from realvlg.sim.scenes import generate_scene


def trial(setting: str, name: str, seed: int) -> dict:
    scene = generate_scene(setting, seed, [name] if setting == "single" else None)
    world = FR3World(scene.placements, FR3WorldConfig(hostname=free_loopback_address(), camera=CameraConfig(320, 240)))
    with world:
        with FrankaExecutor(FrankaConfig(address=world.hostname)) as ex:
            t = time.perf_counter()
            poses = world.object_poses()
            target = poses.pop(name)
            result = ex.grasp(ground_truth_grasp(OBJECTS[name], target, neighbours=poses))
            check = world.check_grasp(name)
            return {"object": name, "seed": seed, "success": check.success, "executor_success": result.success,
                    "reason": result.reason, "height_gain": check.height_gain, "seconds": time.perf_counter() - t}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setting", choices=("single", "clutter"), default="single")
    ap.add_argument("--trials", type=int, default=3)
    ap.add_argument("--objects", default=",".join(OBJECTS))
    ap.add_argument("--json")
    args = ap.parse_args()
    names = args.objects.split(",")
    runs = [trial(args.setting, n, 100 * i + k) for i, n in enumerate(tqdm(names, desc=args.setting))
            for k in range(args.trials)]
    print("\n| object | success | trials | mean grasp time [s] |\n|---|---|---|---|")
    for n in names:
        mine = [r for r in runs if r["object"] == n]
        print(f"| {n} | {sum(r['success'] for r in mine)} | {len(mine)} | "
              f"{sum(r['seconds'] for r in mine) / len(mine):.1f} |")
    rate = sum(r["success"] for r in runs) / len(runs)
    print(f"\n{args.setting}: success rate {rate:.2f} over {len(runs)} trials")
    for r in runs:
        if not r["success"]:
            print(f"  failed: {r['object']} seed {r['seed']}: {r['reason'] or 'not held'} (gain {r['height_gain']:.3f} m)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"setting": args.setting, "success_rate": rate, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()

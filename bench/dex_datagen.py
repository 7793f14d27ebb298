"""DexVLG grasp generator (`realvlg dex-datagen`, issue 17): valid grasps per CPU-minute and part
coverage of finished (or partial) datasets, from their meta.json (the generator counts the CPU
seconds of every unit it runs: candidate initialisation, closing, MuJoCo validation, the UR10e
check). Several roots are summed (two generators side by side on disjoint objects).

    .venv/bin/python bench/dex_datagen.py data/dexvlg [data/dexvlg-b …] [--min-per-part 30]
"""

import argparse
import json
import pathlib


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("roots", nargs="+")
    p.add_argument("--min-per-part", type=int, default=30, help="grasps a part needs to count as covered")
    args = p.parse_args()
    attempted = valid = 0
    cpu_s = 0.0
    rejected: dict[str, int] = {}
    per_part: dict[str, dict] = {}
    for root in args.roots:
        meta = json.loads((pathlib.Path(root) / "meta.json").read_text())
        counts = meta["counts"]
        attempted += counts["attempted"]
        valid += counts["valid"]
        cpu_s += counts["cpu_s"]
        for check, n in counts["rejected"].items():
            rejected[check] = rejected.get(check, 0) + n
        per_part.update(counts["per_part"])
    covered = sorted(k for k, v in per_part.items() if v["valid"] >= args.min_per_part)
    some = sorted(k for k, v in per_part.items() if 0 < v["valid"] < args.min_per_part)
    print(json.dumps({
        "candidates": attempted, "valid": valid, "acceptance": round(valid / max(attempted, 1), 4),
        "cpu_min": round(cpu_s / 60, 1), "valid_per_cpu_min": round(valid / max(cpu_s / 60, 1e-9), 1),
        "candidates_per_cpu_min": round(attempted / max(cpu_s / 60, 1e-9), 1),
        "parts": len(per_part), f"parts_with_{args.min_per_part}": len(covered), "parts_with_some": some,
        "parts_with_none": sorted(k for k, v in per_part.items() if v["valid"] == 0),
        "rejected": rejected, "per_part": {k: f"{v['valid']}/{v['attempted']}" for k, v in per_part.items()},
    }, indent=1))


if __name__ == "__main__":
    main()

"""``realvlg dex-datagen``: synthesise validated Shadow Hand grasps on the simulated objects
(:mod:`realvlg.dexvlg.datagen`, docs/dexvlg-data.md). Resumable: rerun with the same settings to
finish an interrupted run."""

from __future__ import annotations

import json

from realvlg.errors import InvalidInputError


def register(subparsers) -> None:
    from realvlg.dexvlg.datagen import DexDatagenConfig

    d = DexDatagenConfig()
    p = subparsers.add_parser("dex-datagen", help="generate the DexVLG grasp dataset (Shadow Hand, MuJoCo-validated)",
                              description=__doc__)
    p.add_argument("--out", default=d.root, help="dataset folder (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--objects", default=",".join(d.objects), help="comma-separated object names (default: all ten)")
    p.add_argument("--parts", default="", help="comma-separated object/part keys to restrict to (e.g. bottle/body)")
    p.add_argument("--batch-size", type=int, default=d.batch_size, help="candidates initialised and closed together")
    p.add_argument("--max-batches-per-part", type=int, default=d.max_batches_per_part)
    p.add_argument("--target-per-part", type=int, default=d.target_per_part,
                   help="a part stops once it has this many grasps (default %(default)s)")
    p.add_argument("--arm", choices=("none", "reach", "lift"), default=d.arm,
                   help="what the simulated UR10e must do with a grasp: nothing, plan it, or also lift the object "
                        "(default %(default)s)")
    p.add_argument("--min-arm-yaws", type=int, default=d.min_arm_yaws,
                   help="of 8 object yaws at which the executor must plan the grasp (default %(default)s)")
    p.add_argument("--cloud-points", type=int, default=d.cloud_points, help="points per object cloud")
    p.add_argument("--preview", metavar="PNG", default="",
                   help="instead of generating: render up to --preview-count grasps of the dataset at --out into PNG")
    p.add_argument("--preview-count", type=int, default=12)
    p.add_argument("--preview-model", default="", metavar="MODEL",
                   help="with --preview: render what this DexVLG checkpoint (registry name or folder) predicts for "
                        "every part of --objects instead of the dataset's grasps")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def run(args) -> int:
    import dataclasses

    from realvlg.dexvlg.datagen import DexDatagenConfig, generate

    objects = tuple(o.strip() for o in args.objects.split(",") if o.strip())
    if not objects:
        raise InvalidInputError("--objects names no object")
    if args.preview:
        from realvlg.dexvlg.preview import contact_sheet, predicted_sheet

        if args.preview_model:
            from realvlg.dexvlg.model import DexVLG

            print(predicted_sheet(DexVLG.from_pretrained(args.preview_model), args.preview, objects, seed=args.seed))
        else:
            print(contact_sheet(args.out, args.preview, n=args.preview_count))
        return 0
    parts = tuple(p.strip() for p in args.parts.split(",") if p.strip())
    config = dataclasses.replace(DexDatagenConfig(), root=args.out, seed=args.seed, objects=objects, parts=parts,
                                 batch_size=args.batch_size, max_batches_per_part=args.max_batches_per_part,
                                 target_per_part=args.target_per_part, arm=args.arm, min_arm_yaws=args.min_arm_yaws,
                                 cloud_points=args.cloud_points)
    arm_check = None
    if config.arm != "none":
        from realvlg.sim.dex_arm_check import UR10eArmCheck

        arm_check = UR10eArmCheck
    meta = generate(config, progress=not args.no_progress, arm_check=arm_check)
    counts = meta["counts"]
    print(json.dumps({"root": args.out, "attempted": counts["attempted"], "valid": counts["valid"],
                      "acceptance": counts.get("acceptance", 0.0), "cpu_s": counts["cpu_s"],
                      "rejected": counts["rejected"],
                      "per_part": {k: v["valid"] for k, v in counts["per_part"].items()}}, indent=1))
    return 0

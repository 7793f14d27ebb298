"""``realvlg ground``: ask a grounding model about one image, print the answer, draw it.

Examples::

    # a vLLM / transformers-serve server (any OpenAI-compatible one)
    realvlg ground --image scene.png --instruction "the red mug" --task grasp \\
        --backend openai --base-url http://gpu-box:8000/v1 --model realvlg-r1-grpo-grasp-3b
    # in-process, from a registry name or a checkpoint folder, 5 samples + self-consistency
    realvlg ground --image scene.png --instruction "the red mug" --task contact \\
        --backend transformers --checkpoint realvlg-r1-grpo-contact-3b --samples 5 --json

``--model`` / ``--checkpoint`` registry names also bring the checkpoint's prompt style and
coordinate convention (``realvlg models show NAME``); otherwise ``--convention`` says it. ``seg``
needs ``--sam2 DIR``. The overlay PNG goes to ``--overlay`` (default ``<image>.ground.png``).
"""

from __future__ import annotations

import argparse
import json
import pathlib

import numpy as np

from realvlg.errors import InvalidInputError
from realvlg.grounding.backend import TASKS, GroundingResult
from realvlg.grounding.coords import CONVENTIONS
from realvlg.grounding.factory import BACKENDS, BackendSpec, make_backend
from realvlg.grounding.prompts import PROMPT_STYLES
from realvlg.io import read_depth, read_image


def add_backend_arguments(p: argparse.ArgumentParser, required: bool) -> None:
    """The model-backend options, shared by ``realvlg ground`` and ``realvlg eval``."""
    p.add_argument("--backend", required=required, choices=BACKENDS,
                   help="openai: a served VLM; transformers: a VLM in-process; embedded: realvlg's own "
                        "RGB-D model (needs --depth with `ground`; default checkpoint embedded-default)")
    p.add_argument("--base-url", default="http://127.0.0.1:8000/v1", metavar="URL",
                   help="OpenAI-compatible server (openai backend; default %(default)s)")
    p.add_argument("--model", metavar="NAME", help="model name the server knows (openai backend); "
                   "a registry name also sets prompt style and coordinate convention")
    p.add_argument("--checkpoint", metavar="DIR|NAME", help="checkpoint folder or registry name (transformers, embedded)")
    p.add_argument("--samples", type=int, default=1, metavar="K",
                   help="answers to sample; K > 1 returns the medoid with its agreement")
    p.add_argument("--convention", choices=CONVENTIONS,
                   help="coordinate convention when the model is not in the registry (default absolute_resized)")
    p.add_argument("--prompt-style", choices=PROMPT_STYLES, help="prompt family (default: the manifest's, "
                   "else realvlg-r1)")
    p.add_argument("--max-new-tokens", type=int, default=256)
    p.add_argument("--timeout", type=float, default=60.0, help="seconds for the whole call (openai)")
    p.add_argument("--image-format", choices=("jpeg", "png"), default="jpeg",
                   help="how the image travels to the server (openai; png is lossless, jpeg 5x smaller)")
    p.add_argument("--device", default="auto", help="transformers backend: auto, cpu, cuda, cuda:N")
    p.add_argument("--dtype", default="auto", help="transformers backend: auto, float32, bfloat16, float16")
    p.add_argument("--trust-remote-code", action="store_true",
                   help="allow the checkpoint's own Python code (processor) to run")
    p.add_argument("--sam2", metavar="DIR", help="SAM2 checkpoint folder (needed for --task seg)")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("ground", help="ground an instruction on an image with a VLM backend",
                              description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--image", required=True, metavar="IMG", help="RGB image (PNG, JPEG, …)")
    p.add_argument("--instruction", required=True, metavar="TEXT",
                   help='with --reference it may be "" (UniVG-R1\'s "Grasp the object shown in the first image.")')
    p.add_argument("--reference", metavar="IMG", help="an image of the object, sent before the scene "
                   "(UniVG-R1's multi-image form; use --prompt-style univg-r1)")
    p.add_argument("--task", required=True, choices=TASKS)
    p.add_argument("--depth", metavar="DEPTH", help="aligned depth image (PNG/TIFF/NPY; the embedded backend needs it)")
    p.add_argument("--depth-scale", type=float, default=0.001, help="metres per unit of an integer depth image")
    add_backend_arguments(p, required=True)
    p.add_argument("--overlay", metavar="OUT.png", help="overlay image path (default <image>.ground.png)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def backend_from_args(args: argparse.Namespace):
    if args.backend == "openai" and not args.model:
        raise InvalidInputError("--backend openai needs --model NAME (the name the server serves)")
    if args.backend == "transformers" and not args.checkpoint:
        raise InvalidInputError("--backend transformers needs --checkpoint DIR|NAME")
    return make_backend(BackendSpec(
        backend=args.backend, model=args.model or "", checkpoint=args.checkpoint or "",
        base_url=args.base_url, timeout=args.timeout, image_format=args.image_format, device=args.device,
        dtype=args.dtype, trust_remote_code=args.trust_remote_code, sam2_checkpoint=args.sam2 or "",
        max_new_tokens=args.max_new_tokens, convention=args.convention or "",
        prompt_style=args.prompt_style or ""))


def result_dict(result: GroundingResult) -> dict:
    """A JSON-ready summary (pixels of the input image; θ in degrees as the models answer)."""
    out = {"task": result.task, "valid": result.valid, "samples": result.samples,
           "latency_s": round(result.latency, 4), "backend": result.backend, "model": result.model,
           "raw_answer": result.raw_answer}
    if not result.valid:
        out.update(reason=result.reason.value, message=result.message)
        return out
    out["agreement"] = result.agreement
    if result.box is not None:
        out["box"] = [float(v) for v in result.box.as_array()]
    if result.rect is not None:
        r = result.rect
        out["rect"] = {"x": r.x, "y": r.y, "theta_deg": float(np.degrees(r.theta)), "width": r.width}
    if result.contact is not None:
        out["contact"] = [float(v) for v in result.contact.points.ravel()]
    if result.mask is not None:
        out["mask_pixels"] = int(np.count_nonzero(result.mask))
    return out


def _text(d: dict) -> str:
    if not d["valid"]:
        return (f"invalid answer ({d['reason']}): {d['message']}\nraw answer: {d['raw_answer']!r}")
    lines = [f"{d['task']} from {d['model']} ({d['backend']}), {d['latency_s']:.2f} s"]
    if d["samples"] > 1:
        lines.append(f"agreement {d['agreement']:.2f} over {d['samples']} samples")
    for key in ("box", "rect", "contact", "mask_pixels"):
        if key in d:
            lines.append(f"{key}: {d[key]}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from realvlg.overlay import draw_grounding, save_image

    if args.samples < 1:
        raise InvalidInputError(f"--samples must be ≥ 1, got {args.samples}")
    image = read_image(args.image)
    reference = read_image(args.reference, what="reference image") if args.reference else None
    backend = backend_from_args(args)
    extra = {"reference": reference} if reference is not None else {}
    if args.depth:
        extra["depth"] = read_depth(args.depth, args.depth_scale)
    result = backend.ground(args.task, image, args.instruction, samples=args.samples, **extra)
    overlay = pathlib.Path(args.overlay or pathlib.Path(args.image).with_suffix(".ground.png"))
    save_image(draw_grounding(image, result, args.instruction), overlay)
    summary = result_dict(result) | {"overlay": str(overlay)}
    print(json.dumps(summary) if args.json else _text(summary) + f"\noverlay: {overlay}")
    return 0 if result.valid else 1

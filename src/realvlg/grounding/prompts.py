"""The task prompts, in one place.

RealVLG-R1 prompts are the paper's §8 prompts verbatim (Prompt 8.4 bbox/seg, 8.5 grasp, 8.6
contact); the instruction replaces ``{{ content | trim }}`` with surrounding whitespace trimmed,
exactly as the Jinja template of the official training code renders it. UniVG-R1 prompts are the
question followed by the stage-2 sentence of the UniVG-R1 paper; its multi-image form puts a
reference image before the scene image.
"""

from __future__ import annotations

from realvlg.errors import InvalidInputError

PLACEHOLDER = "{{ content | trim }}"

REALVLG_R1_PROMPTS = {
    # Prompt 8.4: Bbox/Seg Task Prompt
    "bbox": (
        'Predict the bounding box of the referred object in the image based on the instruction: '
        '"{{ content | trim }}". First, output the thinking process in <think> </think> tags, then '
        'output the final answer in <answer> </answer> tags. Follow the format: '
        '<think> thinking process </think>\n<answer>(x_min,y_min), (x_max,y_max)</answer>'
    ),
    # Prompt 8.5: Grasp Task Prompt
    "grasp": (
        'Predict a stable 2D rectangular grasp pose for the target object based on the instruction: '
        '"{{ content | trim }}". First, output your reasoning process in <think> </think> tags, then '
        'output the final grasp pose in <answer> </answer> tags. Follow the format: '
        '<think> thinking process </think>\n<answer>(x, y, theta, width)</answer>'
    ),
    # Prompt 8.6: Contact Task Prompt
    "contact": (
        'Predict one stable two-finger grasp contact pair (two 2D coordinates) for the target object '
        'described in the instruction: "{{ content | trim }}". First, output the thinking process in '
        '<think> </think> tags, then output the final answer in <answer> </answer> tags. Follow the '
        'format: <think> thinking process </think>\n<answer>(x1,y1),(x2,y2)</answer>'
    ),
}
REALVLG_R1_PROMPTS["seg"] = REALVLG_R1_PROMPTS["bbox"]  # seg = bbox answer, then SAM2

# UniVG-R1 (stage 2): the question, then this sentence.
UNIVG_R1_SUFFIX = ("First output the thinking process in <think> </think> tags and then output the "
                   "bounding box in <answer> </answer> tags.")
UNIVG_R1_REFERENCE_INSTRUCTION = "Grasp the object shown in the first image."

PROMPT_STYLES = ("realvlg-r1", "univg-r1")


def build_prompt(task: str, instruction: str, style: str = "realvlg-r1") -> str:
    """The text prompt for ``task`` with ``instruction`` substituted.

    ``style`` picks the model family's prompt: ``realvlg-r1`` (all four tasks) or ``univg-r1``
    (bbox and seg only: UniVG-R1 answers boxes).
    """
    if not instruction or not instruction.strip():
        raise InvalidInputError("the instruction is empty")
    if style == "realvlg-r1":
        if task not in REALVLG_R1_PROMPTS:
            raise InvalidInputError(f"unknown task {task!r}; expected one of {sorted(REALVLG_R1_PROMPTS)}")
        return REALVLG_R1_PROMPTS[task].replace(PLACEHOLDER, instruction.strip())
    if style == "univg-r1":
        if task not in ("bbox", "seg"):
            raise InvalidInputError(f"UniVG-R1 answers boxes only (bbox, seg), not {task!r}")
        return f"{instruction.strip()} {UNIVG_R1_SUFFIX}"
    raise InvalidInputError(f"unknown prompt style {style!r}; expected one of {PROMPT_STYLES}")


def build_messages(task: str, instruction: str, images: list, style: str = "realvlg-r1") -> list[dict]:
    """One user turn in the chat format transformers and OpenAI-compatible servers share:
    every image (any objects the caller's transport understands, in order) then the text.
    With two images (UniVG-R1's multi-image form) the first is the reference, the second the scene.
    """
    content = [{"type": "image", "image": image} for image in images]
    content.append({"type": "text", "text": build_prompt(task, instruction, style)})
    return [{"role": "user", "content": content}]

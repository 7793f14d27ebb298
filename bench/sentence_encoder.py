"""Is the frozen sentence encoder the limit? The shipped all-MiniLM-L6-v2 beside other encoders, by text alone.

The embedded model must tell a present object's phrasings from absent look-alikes ("peach" beside
an apple, "teapot" beside the mug) through its sentence embedding. This measures how far the
embedding alone carries that, for each encoder, with the same probe:

* a logistic-regression probe from the embedding to the target's object name or "absent", fitted on
  ``--train-records`` distinct instructions of the generated ``train`` split (``realvlg datagen``);
* its accuracy on the ``seen`` and ``paraphrase`` splits (held-out phrasing families and uses),
  on config/handwritten_instructions.yaml, and the share of "grasp the <noun>" for the absent nouns
  of the test splits (``ABSENT_NOUNS_TEST``, never in training) that it calls absent, and the object
  it takes each of the others for;
* encoding throughput (sentences per second through ``TextEncoder.encode``: batches of 64 sorted by
  length, ``--threads`` torch threads; the training instructions are distinct, so no cache hit) and
  the embedding size.

Text alone cannot resolve relations or colours ("the rightmost fruit"), so *seen* stays below 100 %
for every encoder: compare encoders with each other, not with 1. Each ``--encoder`` is a transformers
folder of a sentence-transformers model with mean pooling (``shipped`` = the wheel's
all-MiniLM-L6-v2); docs/embedded.md says how all-mpnet-base-v2 is unpacked from its wheels.

    .venv/bin/python bench/sentence_encoder.py --encoder shipped --encoder /tmp/all-mpnet-base-v2
"""

import argparse
import pathlib
import random
import time

import numpy as np
import torch
import yaml
from sklearn.linear_model import LogisticRegression

from realvlg.data.realvlg11b import load_annotations
from realvlg.embedded.text import TextEncoder
from realvlg.embedded.vocabulary import ABSENT_NOUNS_TEST

ROOT = pathlib.Path(__file__).resolve().parents[1]


def records(data_root: pathlib.Path, split: str) -> list[tuple[str, str]]:
    """(instruction, object name or "absent") of a generated split (an absent record has no label)."""
    samples = load_annotations(data_root / "annotations" / f"{split}.json")
    return [(s.description, s.label or "absent") for s in samples]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--encoder", action="append", help="'shipped' or a transformers folder (repeatable)")
    parser.add_argument("--data-root", type=pathlib.Path, default=ROOT / "data" / "embedded")
    parser.add_argument("--train-records", type=int, default=12000)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    train = list(dict(records(args.data_root, "train")).items())
    random.Random(0).shuffle(train)
    train = train[:args.train_records]
    handwritten = yaml.safe_load((ROOT / "config" / "handwritten_instructions.yaml").read_text())
    tests = {"seen": records(args.data_root, "seen"), "paraphrase": records(args.data_root, "paraphrase"),
             "handwritten": [(t, name) for name, texts in handwritten.items() for t in texts],
             "absent test nouns": [(f"grasp the {noun}", "absent") for noun in ABSENT_NOUNS_TEST]}

    print(f"probe fitted on {len(train)} training instructions; accuracy per split (n)")
    for name in args.encoder or ["shipped"]:
        encoder = TextEncoder(None if name == "shipped" else name)
        started = time.perf_counter()
        x_train = encoder.encode([t for t, _ in train])
        rate = len(train) / (time.perf_counter() - started)
        probe = LogisticRegression(C=10, max_iter=2000).fit(x_train, [label for _, label in train])
        predicted = {split: probe.predict(encoder.encode([t for t, _ in rows])) for split, rows in tests.items()}
        scores = [f"{split} {np.mean(predicted[split] == np.array([label for _, label in rows])) * 100:.1f} % "
                  f"({len(rows)})" for split, rows in tests.items()]
        print(f"{name}: {x_train.shape[1]}-d, {rate:.0f} sentences/s | " + " | ".join(scores))
        print("  absent test nouns taken for an object: " + ", ".join(
            f"{noun} → {label}" for noun, label in zip(ABSENT_NOUNS_TEST, predicted["absent test nouns"])
            if label != "absent"))


if __name__ == "__main__":
    main()

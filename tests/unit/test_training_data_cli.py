"""Data converters, configs, curves and the `realvlg reward` / `realvlg train` commands (no training)."""

import json
import subprocess
import sys

import pytest

from realvlg.cli import main
from realvlg.errors import InvalidInputError
from realvlg.grounding.parsing import check_format
from realvlg.grounding.prompts import build_prompt
from training.data import DataConfig, build_rows, data_hash, keep, reference_answer
from training.plots import plot_curves
from training.rewards import compute_reward
from training.run import CONFIG_DIR, load_config
from training.smoke import make_samples


@pytest.fixture(scope="module")
def annotations(tmp_path_factory):
    return make_samples(tmp_path_factory.mktemp("smoke"), n=6)


@pytest.mark.parametrize("task", ["bbox", "seg", "grasp", "contact"])
def test_rows_hold_the_paper_prompt_an_image_and_a_reference_answer_scoring_high(annotations, task):
    rows = build_rows(task, DataConfig(annotations=str(annotations), fraction=1.0))
    assert len(rows) == 6
    row = rows[0]
    record = json.loads(annotations.read_text())[0]
    assert row["prompt"][0]["content"][0] == {"type": "image"}
    assert row["prompt"][0]["content"][1]["text"] == build_prompt(task, record["description"])
    assert row["image"].endswith(record["image_path"])
    answer = row["completion"][0]["content"][0]["text"]
    assert check_format(task, answer)
    sample = json.loads(row["annotation"])
    assert sample["image_size"] == [112, 84]
    # integer-rounded ground truth: near-perfect reward under the official variant
    assert compute_reward(task, answer, sample).total > 0.6


def test_subsampling_is_deterministic_and_order_free(annotations):
    keys = [f"k{i}" for i in range(2000)]
    kept = [k for k in keys if keep(k, 0.1, seed=0)]
    assert 150 < len(kept) < 250
    assert kept == [k for k in reversed(keys) if keep(k, 0.1, seed=0)][::-1]
    assert kept != [k for k in keys if keep(k, 0.1, seed=1)]
    a = build_rows("bbox", DataConfig(annotations=str(annotations), fraction=0.5))
    b = build_rows("bbox", DataConfig(annotations=str(annotations), fraction=0.5))
    assert data_hash(a) == data_hash(b) and len(data_hash(a)) == 64


def test_refcoco_style_records(tmp_path, annotations):
    image = json.loads(annotations.read_text())[0]["image_path"]
    refs = [{"file_name": image, "bbox": [10, 20, 30, 40], "sentences": [{"sent": "left cup"}, "the cup"], "id": 7}]
    path = annotations.parent / "refs.json"
    path.write_text(json.dumps(refs))
    rows = build_rows("bbox", DataConfig(annotations=str(path), source="refcoco", fraction=1.0))
    assert len(rows) == 2
    assert json.loads(rows[0]["annotation"])["bbox"] == [10, 20, 40, 60]
    assert "left cup" in rows[0]["prompt"][0]["content"][1]["text"]


def test_no_samples_is_a_clear_error(annotations):
    with pytest.raises(InvalidInputError, match="no bbox samples"):
        build_rows("bbox", DataConfig(annotations=str(annotations), fraction=1e-9))


def test_reference_answer_of_grasp_is_the_first_polygon(annotations):
    from realvlg.data.realvlg11b import load_annotations

    sample = load_annotations(annotations)[0]
    text = reference_answer("grasp", sample, think="t")
    assert text.startswith("<think> t </think>\n<answer>(") and ", 0, " in text


def test_every_shipped_config_loads():
    names = [p.stem for p in CONFIG_DIR.glob("*.yaml")]
    assert len(names) >= 24
    for name in names:
        config = load_config(name)
        assert config["method"] in ("grpo", "gspo", "sft", "embedded", "dexvlg")
    paper = load_config("realvlg-r1-gspo-grasp-7b")
    assert paper["trainer"]["num_generations"] == 5 and paper["trainer"]["learning_rate"] == 1e-6
    assert paper["trainer"]["beta"] == 0.01 and paper["data"]["fraction"] == 0.1
    assert load_config("smoke-cpu", ["reward.variant=paper", "trainer.max_steps=3"])["trainer"]["max_steps"] == 3
    with pytest.raises(InvalidInputError, match="unknown reward variant"):
        load_config("smoke-cpu", ["reward.variant=mine"])
    with pytest.raises(InvalidInputError, match="no training config"):
        load_config("nope")


def test_curves_png(tmp_path):
    history = [{"step": 1, "reward": 0.2, "rewards/task/mean": 0.1, "kl": 0.0},
               {"step": 2, "reward": 0.4, "rewards/task/mean": 0.3, "kl": 0.01}]
    path = plot_curves(history, tmp_path / "c.png", "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_curves([{"step": 1, "loss": 2.0}], tmp_path / "sft.png").stat().st_size > 0


def test_reward_cli_prints_components(capsys):
    code = main(["reward", "--task", "grasp", "--variant", "official", "--completion",
                 "<think>a</think><answer>(51, 50, 0, 22)</answer>",
                 "--sample", json.dumps({"grasps": [[40, 45, 60, 45, 60, 55, 40, 55]]}), "--json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["total"] == pytest.approx(0.4) and out["huber"] == pytest.approx(2.0)
    assert main(["reward", "--task", "bbox", "--variant", "paper", "--completion",
                 "<think>a</think><answer>(0,0),(10,10)</answer>", "--sample", '{"bbox": [0, 0, 10, 10]}']) == 0
    text = capsys.readouterr().out
    assert text.startswith("reward   1.000000") and "iou" in text


def test_reward_cli_bad_sample_exits_2(capsys):
    assert main(["reward", "--task", "bbox", "--completion", "x", "--sample", "[1, 2"]) == 2
    assert "not valid JSON" in capsys.readouterr().err
    assert main(["reward", "--task", "bbox", "--completion", "<answer>(0,0),(1,1)</answer>",
                 "--sample", "{}"]) == 2
    assert "no bbox" in capsys.readouterr().err


def test_train_cli_lists_configs_without_importing_trl():
    code = ("import sys; from realvlg.cli import main; main(['train', '--list']); "
            "assert 'trl' not in sys.modules and 'datasets' not in sys.modules")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "realvlg-r1-grpo-bbox-3b" in out and "smoke-cpu" in out


def test_trl_reward_functions_read_the_dataset_columns():
    pytest.importorskip("trl")
    from training.grpo import reward_functions
    from training.rewards import RewardConfig

    fmt, task = reward_functions(RewardConfig())
    assert (fmt.__name__, task.__name__) == ("format", "task")  # TRL's logged names
    completions = [[{"role": "assistant", "content": "<think>a</think><answer>(0,0),(10,10)</answer>"}],
                   [{"role": "assistant", "content": [{"type": "text", "text": "<answer>(5,0),(15,10)</answer>"}]}]]
    assert fmt(completions, task=["bbox"] * 2) == [1.0, 0.0]
    scores = task(completions, task=["bbox"] * 2, annotation=[json.dumps({"bbox": [0, 0, 10, 10]})] * 2)
    assert scores == pytest.approx([1.0, 1 / 3])

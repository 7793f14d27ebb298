"""``realvlg eval`` end to end on a small generated annotation file and prediction files."""

import json
import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from realvlg.cli import main
from realvlg.geometry.grasps import RectGrasp

SCENES = (100, 101, 135, 140, 170, 175)


@pytest.fixture()
def bench(tmp_path):
    """Annotations for 6 scenes × 2 objects, perfect-ish predictions, one sample left unanswered."""
    (tmp_path / "masks").mkdir()
    (tmp_path / "pred").mkdir()
    rng = np.random.default_rng(0)
    ann, preds = [], {t: [] for t in ("bbox", "seg", "grasp", "contact")}
    for scene in SCENES:
        for obj in (1, 2):
            x0, y0 = (int(v) for v in rng.integers(20, 100, 2))
            box = [x0, y0, x0 + 50, y0 + 40]
            grasp = RectGrasp(x0 + 25, y0 + 20, 0.3, 40)
            mask = np.zeros((160, 200), np.uint8)
            mask[y0:y0 + 40, x0:x0 + 50] = 255
            Image.fromarray(mask).save(tmp_path / "masks" / f"{scene}_{obj}.png")
            Image.fromarray(mask).save(tmp_path / "pred" / f"{scene}_{obj}.png")
            key = {"image_name": "0000.png", "image_path": f"scenes/scene_{scene:04d}/kinect/rgb/0000.png",
                   "object_id": obj}
            ann.append({**key, "mask_path": f"masks/{scene}_{obj}.png", "description": "d", "label": "l",
                        "bbox": box, "grasps": [grasp.corners().ravel().tolist()],
                        "contact_points": [[x0 + 5, y0 + 20, x0 + 45, y0 + 20]]})
            answer = f"<think>.</think><answer>({x0 + 5},{y0}),({x0 + 55},{y0 + 40})</answer>"
            preds["bbox"].append({**key, "answer": answer})
            preds["seg"].append({**key, "bbox": box, "mask_path": f"{scene}_{obj}.png"})
            preds["grasp"].append({**key, "grasp": [grasp.x, grasp.y, math.degrees(grasp.theta) + 10, grasp.width]})
            preds["contact"].append({**key, "contact": [x0 + 5, y0 + 21, x0 + 45, y0 + 21]})
    (tmp_path / "ann.json").write_text(json.dumps(ann))
    for task, lines in preds.items():
        (tmp_path / "pred" / f"{task}.jsonl").write_text("\n".join(json.dumps(p) for p in lines[:-1]) + "\n")
    return tmp_path


def run_eval(bench, task, protocol="standard", *extra):
    out = bench / f"{task}_{protocol}.json"
    code = main(["eval", "--task", task, "--annotations", str(bench / "ann.json"),
                 "--predictions", str(bench / "pred" / f"{task}.jsonl"), "--protocol", protocol,
                 "--out", str(out), "--no-progress", *extra])
    assert code == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("protocol", ["standard", "realvlg-r1"])
def test_every_task_scores_with_the_documented_keys(bench, protocol):
    keys = {"bbox": {"iou", "giou", "diou", "ciou", "validity"}, "seg": {"f_beta", "s_alpha", "f1", "iou", "validity"},
            "grasp": {"miou", "gacc", "validity"}, "contact": {"miou", "gacc", "validity"}}
    for task, names in keys.items():
        r = run_eval(bench, task, protocol)
        assert r["n"] == 12 and r["task"] == task and r["protocol"] == protocol
        assert set(r["overall"]) == names and set(r["splits"]) == {"seen", "similar", "novel"}
        assert all(set(m) == names for m in r["splits"].values())
        assert r["overall"]["validity"] == pytest.approx(11 / 12)
        assert r["splits"]["novel"]["validity"] == pytest.approx(3 / 4)
        assert r["invalid_reasons"] == {"missing": 1}
        assert all(v is None or -1 <= v <= 1 for m in (r["overall"], *r["splits"].values()) for v in m.values())


def test_values_by_hand(bench):
    bbox = run_eval(bench, "bbox")
    assert bbox["overall"]["iou"] == pytest.approx(45 / 55)      # 50x40 boxes shifted by 5 px
    seg = run_eval(bench, "seg")
    assert seg["overall"]["s_alpha"] == pytest.approx(1.0) and seg["overall"]["iou"] == 1.0
    assert run_eval(bench, "seg", "realvlg-r1")["overall"]["s_alpha"] < 0.6     # the quadrant variant
    grasp = run_eval(bench, "grasp")
    assert grasp["overall"]["gacc"] == 1.0 and 0.6 < grasp["overall"]["miou"] < 1
    contact_std = run_eval(bench, "contact")
    contact_r1 = run_eval(bench, "contact", "realvlg-r1")
    assert contact_std["overall"]["gacc"] == 1.0
    assert contact_r1["overall"]["gacc"] == 1.0 and contact_r1["overall"]["miou"] > contact_std["overall"]["miou"]


def test_per_sample_records(bench):
    path = bench / "samples.jsonl"
    run_eval(bench, "contact", "realvlg-r1", "--per-sample", str(path))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 12 and sum(r["valid"] for r in rows) == 11
    missing = next(r for r in rows if not r["valid"])
    assert missing["reason"] == "missing" and missing["iou"] is None and missing["split"] == "novel"
    assert all(0 < r["iou"] <= 1 and r["correct"] in (0.0, 1.0) for r in rows if r["valid"])


def test_report_dir_and_table(bench):
    report = bench / "report"
    results = [run_eval(bench, task, "standard", "--report-dir", str(report), "--model", "tiny")
               for task in ("bbox", "grasp")]
    pngs = sorted(report.glob("*.png"))
    assert len(pngs) == 4
    for png in pngs:
        with Image.open(png) as image:
            assert image.format == "PNG" and image.size[0] > 300
    assert "tiny" in (report / "table.md").read_text()
    files = []
    for r in results:
        path = bench / f"{r['task']}.results.json"
        path.write_text(json.dumps(r))
        files.append(str(path))
    table = bench / "table.md"
    assert main(["eval", "--table", *files, "--out", str(table)]) == 0
    text = table.read_text()
    assert "Seen Bbox gIoU/cIoU/Rv" in text and "Novel Grasp mIoU/gAcc/Rv" in text
    row = next(line for line in text.splitlines() if line.startswith("| tiny"))
    seen = results[0]["splits"]["seen"]
    assert f"{100 * seen['giou']:.1f}/{100 * seen['ciou']:.1f}/100.0" in row


def test_r1_bbox_split_without_a_valid_answer_is_null_and_the_report_says_why(bench, capsys):
    path = bench / "pred" / "bbox.jsonl"
    records = [json.loads(line) for line in path.read_text().splitlines()]
    for record in records:
        if "scene_017" in record["image_path"]:      # the novel split
            record["answer"] = "no box"
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")
    capsys.readouterr()
    r = run_eval(bench, "bbox", "realvlg-r1", "--report-dir", str(bench / "report"), "--model", "tiny")
    assert r["splits"]["novel"] == {"iou": None, "giou": None, "diou": None, "ciou": None, "validity": 0.0}
    assert r["splits"]["seen"]["giou"] > 0 and [n.split(":")[0] for n in r["notes"]] == ["novel"]
    assert f"note: {r['notes'][0]}" in capsys.readouterr().out
    table = (bench / "report" / "table.md").read_text()
    assert "| –/–/0.0 |" in table and f"tiny bbox, {r['notes'][0]}." in table


def test_bad_input_exits_2_with_one_line(bench, capsys):
    assert main(["eval", "--task", "bbox", "--annotations", str(bench / "nope.json"),
                 "--predictions", str(bench / "pred" / "bbox.jsonl")]) == 2
    assert "annotations not found" in capsys.readouterr().err
    bad = bench / "bad.jsonl"
    bad.write_text('{"image_name": "0000.png"}\n')
    assert main(["eval", "--task", "bbox", "--annotations", str(bench / "ann.json"), "--predictions", str(bad)]) == 2
    assert "image_name and object_id" in capsys.readouterr().err
    no_masks = bench / "nomask.jsonl"
    no_masks.write_text(json.dumps({"image_name": "0000.png", "image_path": "scenes/scene_0100/kinect/rgb/0000.png",
                                    "object_id": 1, "bbox": [1, 2, 3, 4]}) + "\n")
    assert main(["eval", "--task", "seg", "--annotations", str(bench / "ann.json"),
                 "--predictions", str(no_masks)]) == 2
    assert "mask_path" in capsys.readouterr().err
    assert main(["eval", "--task", "grasp", "--annotations", str(bench / "ann.json")]) == 2
    assert "--predictions" in capsys.readouterr().err


def test_installed_command(bench):
    exe = pathlib.Path(sys.executable).parent / "realvlg"
    proc = subprocess.run([str(exe), "eval", "--task", "grasp", "--annotations", str(bench / "ann.json"),
                           "--predictions", str(bench / "pred" / "grasp.jsonl"), "--protocol", "realvlg-r1",
                           "--no-progress"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "grasp · realvlg-r1 · n = 12" in proc.stdout and "novel" in proc.stdout


def test_repeated_rectangles_give_the_official_figures(tmp_path):
    """Ground truths that list one rectangle several times with its corners rotated: the r1
    figures per split are those of the official selection (first copy in file order)."""
    from test_metrics_grasps import official_selection, repeated_rectangles

    pred, gts, owner = repeated_rectangles(300, seed=7)
    ann, lines = [], []
    for i, (x, y, theta, width) in enumerate(pred.tolist()):
        key = {"image_name": "0000.png", "image_path": f"scenes/scene_{100 + i % 90:04d}/kinect/rgb/0000.png",
               "object_id": i}
        ann.append({**key, "grasps": gts[owner == i].reshape(-1, 8).tolist()})
        lines.append(json.dumps({**key, "answer": f"<answer>({x!r}, {y!r}, {theta!r}, {width!r})</answer>"}))
    (tmp_path / "ann.json").write_text(json.dumps(ann))
    (tmp_path / "pred").mkdir()
    (tmp_path / "pred" / "grasp.jsonl").write_text("\n".join(lines) + "\n")
    r = run_eval(tmp_path, "grasp", "realvlg-r1")
    best_iou, correct = official_selection(pred, gts, owner)
    split = np.array(["seen", "similar", "novel"])[(np.arange(len(pred)) % 90) // 30]
    for name in ("seen", "similar", "novel"):
        assert r["splits"][name]["gacc"] == correct[split == name].mean()
        assert r["splits"][name]["miou"] == pytest.approx(best_iou[split == name].mean(), abs=1e-12)
    assert r["overall"]["validity"] == 1.0

"""`realvlg eval --backend …` runs the model first, appending predictions resumably, then scores
them: a tiny random Qwen2.5-VL built offline answers (mostly unusable text), through the real
transformers backend and the one parser."""

import json

import numpy as np
from PIL import Image

from realvlg.cli import main
from training.tiny_model import build_tiny_qwen2_5_vl


def test_inference_then_scoring_is_resumable(tmp_path, capsys):
    checkpoint = build_tiny_qwen2_5_vl(tmp_path / "ckpt")
    images = tmp_path / "data" / "scenes" / "scene_0100" / "kinect" / "rgb"
    images.mkdir(parents=True)
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (56, 84, 3), dtype=np.uint8)).save(images / "0000.png")
    records = [{"image_name": "0000.png", "image_path": "scenes/scene_0100/kinect/rgb/0000.png",
                "object_id": str(i), "description": f"the object number {i}", "bbox": [10, 10, 40, 30],
                "grasps": [[10, 10, 40, 10, 40, 30, 10, 30]], "contact_points": [[10, 20, 40, 20]]}
               for i in range(3)]
    (tmp_path / "data" / "ann.json").write_text(json.dumps(records))
    predictions = tmp_path / "pred.jsonl"
    argv = ["eval", "--task", "bbox", "--annotations", str(tmp_path / "data" / "ann.json"),
            "--predictions", str(predictions), "--backend", "transformers", "--checkpoint", str(checkpoint),
            "--trust-remote-code", "--device", "cpu", "--max-new-tokens", "12", "--no-progress",
            "--out", str(tmp_path / "results.json")]
    assert main(argv) == 0
    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert sorted(r["object_id"] for r in lines) == ["0", "1", "2"]
    assert all("raw_answer" in r and ("bbox" in r or "answer" in r) for r in lines)
    results = json.loads((tmp_path / "results.json").read_text())
    valid = sum("bbox" in r for r in lines) / 3
    assert results["n"] == 3 and results["overall"]["validity"] == valid
    assert "3 new predictions" in capsys.readouterr().err
    assert main(argv) == 0                                   # resumed: nothing asked twice
    assert len(predictions.read_text().splitlines()) == 3
    assert "0 new predictions" in capsys.readouterr().err

"""`realvlg eval`'s predictions file: a line with wrong types is refused with its line number."""

import json

import pytest

from realvlg.errors import InvalidInputError
from realvlg.metrics.benchmark import load_predictions


@pytest.mark.parametrize("line,problem", [
    ({"image_name": 5, "object_id": "1", "answer": "x"}, "image_name must be a string"),
    ({"image_name": "a.png", "object_id": [1], "answer": "x"}, "object_id must be"),
    ({"image_name": "a.png", "object_id": 1, "answer": 7}, "answer must be a string"),
    ({"image_name": "a.png", "object_id": 1, "bbox": [1, 2, 3]}, "bbox must be a list of 4 numbers"),
    ({"image_name": "a.png", "object_id": 1, "grasp": [1, 2, "3", 4]}, "grasp must be a list of 4 numbers"),
    ({"image_name": "a.png", "object_id": 1, "contact": "1,2,3,4"}, "contact must be a list of 4 numbers"),
])
def test_wrong_types_are_refused_with_the_line_number(tmp_path, line, problem):
    good = {"image_name": "b.png", "object_id": 2, "bbox": [1, 2, 3, 4.5]}
    path = tmp_path / "pred.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps(line) + "\n")
    with pytest.raises(InvalidInputError, match=rf"pred.jsonl:3: {problem}"):
        load_predictions(path)
    path.write_text(json.dumps(good) + "\n")
    assert load_predictions(path) == [good]

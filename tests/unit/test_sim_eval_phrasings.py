"""``realvlg sim-eval --instructions``: the phrasings file is read and checked before the graph starts."""

from __future__ import annotations

import pathlib

import pytest

from realvlg.errors import InvalidInputError
from realvlg.objects import OBJECTS
from realvlg.sim.eval import load_phrasings, run_eval

HANDWRITTEN = pathlib.Path(__file__).resolve().parents[2] / "config" / "handwritten_instructions.yaml"


def test_the_shipped_handwritten_file_has_every_object():
    phrasings = load_phrasings(HANDWRITTEN)
    assert set(phrasings) == set(OBJECTS) and all(len(v) == 3 for v in phrasings.values())


@pytest.mark.parametrize("text, message", [
    ("mug: [grab the mug]\ngiraffe: [grab the giraffe]\n", "unknown object 'giraffe'"),
    ("mug: []\n", "mug needs a non-empty list"),
    ("mug: grab the mug\n", "mug needs a non-empty list"),
    ("- grab the mug\n", "expected a mapping"),
    ("mug: [grab: {\n", "cannot read"),
])
def test_a_bad_file_is_refused_with_its_reason(tmp_path, text, message):
    path = tmp_path / "phrasings.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=message):
        load_phrasings(path)
    with pytest.raises(InvalidInputError, match="cannot read"):
        load_phrasings(tmp_path / "missing.yaml")


def test_an_object_without_phrasings_is_refused_before_any_trial():
    with pytest.raises(InvalidInputError, match="no phrasings for banana"):
        run_eval(None, "clutter", ["mug", "banana"], 1, phrasings={"mug": ["grab the mug"]})


def test_the_command_refuses_a_bad_file_or_absent_with_phrasings_before_starting_anything(tmp_path, capsys):
    from realvlg.cli import main

    bad = tmp_path / "bad.yaml"
    bad.write_text("giraffe: [grab the giraffe]\n")
    assert main(["sim-eval", "--instructions", str(bad), "--json", str(tmp_path / "out.json")]) == 2
    assert "unknown object 'giraffe'" in capsys.readouterr().err
    assert main(["sim-eval", "--absent", "--instructions", str(HANDWRITTEN)]) == 2
    assert "takes no --instructions" in capsys.readouterr().err
    assert not (tmp_path / "out.json").exists()

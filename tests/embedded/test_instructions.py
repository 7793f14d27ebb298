"""The embedded model's instruction generator: vocabulary facts, uniqueness of every referring
expression under an independent text-parsing listener, relation margins, held-out splits,
absent objects, determinism."""

from __future__ import annotations

import re

import numpy as np
import pytest

from realvlg.embedded.instructions import (
    KINDS,
    MARGIN,
    SceneObject,
    generate_instructions,
    is_held_out,
    scene_objects,
)
from realvlg.embedded.vocabulary import (
    ABSENT_NOUNS_TEST,
    ABSENT_NOUNS_TRAIN,
    ADJECTIVES,
    BORDERLINE_ADJECTIVES,
    BORDERLINE_CATEGORIES,
    CATEGORIES,
    COLOR_VARIANTS,
    FIXED_COLORS,
    GENERIC_NOUNS,
    HELD_OUT_COLORS,
    HELD_OUT_RELATION_ANCHORS,
    HELD_OUT_TEMPLATES,
    NEAR_COLORS,
    PART_WORDS,
    RECOLOR_PARTS,
    RELATIONS,
    SPLITS,
    SUPERLATIVES,
    TRAIN_TEMPLATES,
    sample_color,
    training_colors,
)
from realvlg.errors import InvalidInputError
from realvlg.objects import OBJECTS
from realvlg.sim.scenes import generate_scene

NAMES = list(OBJECTS)


# -- an independent listener: parses the text, then resolves it against the scene -------------
def _strip_template(text: str) -> tuple[str, str]:
    """(template, referring expression): the template with the longest fixed text that fits."""
    fits = []
    for template in TRAIN_TEMPLATES + HELD_OUT_TEMPLATES:
        pre, post = template.split("{ref}")
        if text.startswith(pre) and text.endswith(post) and len(text) > len(pre) + len(post):
            fits.append((len(pre) + len(post), template, text[len(pre):len(text) - len(post)]))
    assert fits, text
    _, template, ref = max(fits)
    return template, ref


def _parse_np(np_text: str) -> dict:
    assert np_text.startswith("the "), np_text
    tokens = np_text[4:].split()
    heads = ({w for o in OBJECTS.values() for w in o.words} | set(CATEGORIES) | set(GENERIC_NOUNS)
             | set(ABSENT_NOUNS_TRAIN) | set(ABSENT_NOUNS_TEST))
    for k in range(len(tokens)):  # the longest noun at the end
        head = " ".join(tokens[k:])
        if head in heads:
            break
    else:
        raise AssertionError(f"no noun in {np_text!r}")
    colors = {c for v in COLOR_VARIANTS.values() for c in v}
    mods = tokens[:k]
    assert all(m in colors or m in ADJECTIVES for m in mods), np_text
    return {"noun": head, "colors": [m for m in mods if m in colors],
            "adjectives": [m for m in mods if m in ADJECTIVES]}


def parse(text: str) -> dict:
    template, ref = _strip_template(text)
    out = {"template": template, "relation": None, "anchor_word": None, "part_word": None}
    for key, phrases in SUPERLATIVES.items():
        for p in phrases:
            if key in ("leftmost", "rightmost") and ref.startswith(f"the {p} "):
                out["relation"], ref = key, "the " + ref[len(f"the {p} "):]
            elif ref.endswith(f" {p}"):
                out["relation"], ref = key, ref[:-len(p) - 1]
    if out["relation"] is None:
        for key, phrases in RELATIONS.items():
            for p in sorted(phrases, key=len, reverse=True):
                if f" {p} the " in ref and out["relation"] is None:
                    ref, out["anchor_word"] = ref.split(f" {p} the ", 1)
                    out["relation"] = key
    part_words = {w for parts in PART_WORDS.values() for ws in parts.values() for w in ws}
    object_words = {w for o in OBJECTS.values() for w in o.words}
    if m := re.fullmatch(r"the (\w+) of (the .+)", ref):
        out["part_word"], ref = m[1], m[2]
    elif m := re.fullmatch(r"(the .+)'s (\w+)", ref) or re.fullmatch(r"(the .+) by its (\w+)", ref):
        ref, out["part_word"] = m[1], m[2]
    elif (m := re.fullmatch(r"the (.+) (\w+)", ref)) and m[2] in part_words and m[1] in object_words:
        ref, out["part_word"] = f"the {m[1]}", m[2]
    elif ref[4:] in part_words:
        out["part_word"], ref = ref[4:], "the object"
    if out["part_word"]:
        assert out["part_word"] in part_words, text
    out.update(_parse_np(ref))
    return out


def _fits(p: dict, o: SceneObject) -> bool:
    noun = p["noun"]
    if noun in CATEGORIES:
        if o.name not in CATEGORIES[noun] | BORDERLINE_CATEGORIES[noun]:
            return False
    elif noun not in GENERIC_NOUNS and noun not in OBJECTS[o.name].words:
        return False
    looks = {o.color} | FIXED_COLORS.get(o.name, set()) | NEAR_COLORS.get((o.name, o.color), set())
    if any(c not in looks for c in p["colors"]):
        return False
    if any(o.name not in ADJECTIVES[a] | BORDERLINE_ADJECTIVES[a] for a in p["adjectives"]):
        return False
    return p["part_word"] is None or any(p["part_word"] in ws for ws in PART_WORDS[o.name].values())


def listener(text: str, scene: list[SceneObject]) -> tuple[list[str], dict]:
    """Every object of ``scene`` ``text`` could mean, and the parse. Binary relations: on the
    named side by any amount; superlatives and "next to": within MARGIN of the best."""
    p = parse(text)
    cands = [o for o in scene if _fits(p, o)]
    rel = p["relation"]
    if rel in RELATIONS:
        anchors = [o for o in scene if p["anchor_word"] in OBJECTS[o.name].words]
        if len(anchors) != 1:
            return [], p
        a = anchors[0]
        p["anchor"] = a
        cands = [o for o in cands if o is not a]
        d = {o.name: np.subtract(o.position[:2], a.position[:2]) for o in cands}
        score = {"left of": lambda o: -d[o.name][1], "right of": lambda o: d[o.name][1],
                 "in front of": lambda o: d[o.name][0], "behind": lambda o: -d[o.name][0],
                 "next to": lambda o: np.hypot(*d[o.name])}[rel]
        if rel != "next to":
            return [o.name for o in cands if score(o) < 0], p
    elif rel in SUPERLATIVES:
        r = {o.name: np.hypot(*o.position[:2]) for o in cands}
        score = {"closest to the robot": lambda o: r[o.name], "farthest from the robot": lambda o: -r[o.name],
                 "leftmost": lambda o: -o.position[1], "rightmost": lambda o: o.position[1]}[rel]
        p["competitors"] = len(cands)
    else:
        return [o.name for o in cands], p
    if not cands:
        return [], p
    best = min(score(o) for o in cands)
    return [o.name for o in cands if score(o) <= best + MARGIN], p


def check(instructions, scene: list[SceneObject]):
    by_name = {o.name: o for o in scene}
    for ins in instructions:
        meant, p = listener(ins.text, scene)
        if ins.kind == "absent":
            assert ins.target is None and ins.part is None and meant == [], (ins.text, meant)
            continue
        assert meant == [ins.target], (ins.text, meant, [(o.name, o.color, o.position) for o in scene])
        t = by_name[ins.target]
        if p["relation"] in ("left of", "right of", "in front of", "behind"):
            a = p["anchor"]
            d = np.subtract(t.position[:2], a.position[:2])
            held = {"left of": d[1], "right of": -d[1], "in front of": -d[0], "behind": d[0]}[p["relation"]]
            assert held >= MARGIN, ins.text
        if p["relation"] in SUPERLATIVES:
            assert p["competitors"] >= 2, ins.text
        if ins.part is None:
            assert p["part_word"] is None, ins.text
        else:
            assert ins.part in t.parts and p["part_word"] in PART_WORDS[t.name][ins.part], ins.text


def random_scene(seed: int, split: str = "train", n: int | None = None) -> list[SceneObject]:
    rng = np.random.default_rng(seed)
    n = n or int(rng.integers(1, len(NAMES) + 1))
    names = [str(x) for x in rng.choice(NAMES, size=n, replace=False)]
    placements = generate_scene("clutter", seed, objects=names).placements
    return scene_objects(placements, {m: sample_color(m, rng, split) for m in names})


# -- vocabulary -----------------------------------------------------------------------------------
def test_color_variants_start_with_the_rendered_default():
    assert set(COLOR_VARIANTS) == set(OBJECTS) == set(RECOLOR_PARTS)
    for name, spec in OBJECTS.items():
        default, rgb = next(iter(COLOR_VARIANTS[name].items()))
        assert default in spec.colors, name
        geoms = [g for g in spec.geoms if g.part in RECOLOR_PARTS[name]]
        assert set(RECOLOR_PARTS[name]) <= set(spec.parts) and geoms, name
        np.testing.assert_allclose(geoms[0].rgba[:3], rgb, atol=1e-6, err_msg=name)
        for g in geoms:
            np.testing.assert_allclose(g.rgba[:3], rgb, atol=0.1, err_msg=name)
        assert all(0 <= c <= 1 for v in COLOR_VARIANTS[name].values() for c in v)
    assert "cap" not in RECOLOR_PARTS["bottle"] and RECOLOR_PARTS["stapler"] == ("top",)


def test_held_out_colors_keep_the_default_and_reuse_training_words():
    assert 3 <= len(HELD_OUT_COLORS) <= 5
    trained = {c for name in OBJECTS for c in training_colors(name)}
    for name, color in HELD_OUT_COLORS:
        assert color in COLOR_VARIANTS[name] and color in trained
        assert training_colors(name)[0] == next(iter(COLOR_VARIANTS[name]))
    rng = np.random.default_rng(0)
    assert {sample_color("mug", rng, "similar") for _ in range(20)} == {"black"}
    drawn = {(n, sample_color(n, rng, "train")) for n in OBJECTS for _ in range(30)}
    assert not drawn & HELD_OUT_COLORS and ("apple", "green") in drawn


def test_absent_nouns_are_disjoint_and_never_name_a_simulated_object():
    assert not set(ABSENT_NOUNS_TRAIN) & set(ABSENT_NOUNS_TEST)
    taken = {w for o in OBJECTS.values() for w in o.words} | set(CATEGORIES) | set(GENERIC_NOUNS)
    for noun in ABSENT_NOUNS_TRAIN + ABSENT_NOUNS_TEST:
        assert not any(re.search(rf"\b{re.escape(w)}s?\b", noun) for w in taken), noun


def test_part_words_name_one_part_per_object_and_cover_every_part():
    for name, spec in OBJECTS.items():
        assert set(PART_WORDS[name]) == set(spec.parts), name
        words = [w for ws in PART_WORDS[name].values() for w in ws]
        assert len(words) == len(set(words)), name


def test_held_out_relation_pairs_and_templates_leave_each_word_in_training():
    for rel, anchor in HELD_OUT_RELATION_ANCHORS:
        assert rel in RELATIONS and anchor in OBJECTS
        assert any((rel, other) not in HELD_OUT_RELATION_ANCHORS for other in OBJECTS if other != anchor)
    assert not set(TRAIN_TEMPLATES) & set(HELD_OUT_TEMPLATES)


# -- the generator --------------------------------------------------------------------------------
@pytest.mark.parametrize("split", SPLITS)
def test_every_instruction_identifies_its_target_alone(split):
    for seed in range(20):
        scene = random_scene(seed, split)
        out = generate_instructions(scene, np.random.default_rng(seed), split=split, per_target=3, absent=2)
        check(out, scene)
        for o in scene:
            texts = [i.text for i in out if i.target == o.name]
            assert len(texts) == 3 and len(set(texts)) == 3, (o.name, texts)
        assert sum(i.kind == "absent" for i in out) == 2


def test_train_never_says_anything_held_out():
    kinds = {}
    for seed in range(25):
        scene = random_scene(seed)
        for ins in generate_instructions(scene, np.random.default_rng(seed), per_target=4, absent=2):
            kinds[ins.kind] = kinds.get(ins.kind, 0) + 1
            assert not is_held_out(ins), ins.text
            _, p = listener(ins.text, scene)
            assert p["template"] in TRAIN_TEMPLATES, ins.text
            if p["relation"] in RELATIONS and ins.target:
                assert (p["relation"], p["anchor"].name) not in HELD_OUT_RELATION_ANCHORS, ins.text
            for c in p["colors"]:
                assert (ins.target or OBJECTS_BY_WORD.get(p["noun"]), c) not in HELD_OUT_COLORS, ins.text
            if ins.kind == "absent" and p["noun"] not in OBJECTS_BY_WORD:
                assert p["noun"] in ABSENT_NOUNS_TRAIN, ins.text
    assert set(kinds) == set(KINDS) | {"absent"}
    assert kinds["category"] == max(kinds.values()), kinds


OBJECTS_BY_WORD = {w: o.name for o in OBJECTS.values() for w in o.words}


def test_novel_says_only_held_out_combinations():
    seen_pairs = 0
    for seed in range(20):
        scene = random_scene(seed, "novel")
        for ins in generate_instructions(scene, np.random.default_rng(seed), split="novel", per_target=3, absent=1):
            assert is_held_out(ins), ins.text
            _, p = listener(ins.text, scene)
            pair = p["relation"] in RELATIONS and (p["relation"], p["anchor"].name) in HELD_OUT_RELATION_ANCHORS
            seen_pairs += pair
            assert pair or p["template"] in HELD_OUT_TEMPLATES, ins.text
            if ins.kind == "absent" and p["noun"] not in OBJECTS_BY_WORD:
                assert p["noun"] in ABSENT_NOUNS_TEST, ins.text
    assert seen_pairs > 0


def test_similar_scenes_say_their_held_out_colours():
    scene = scene_objects(generate_scene("clutter", 5, objects=["mug", "apple", "banana"]).placements,
                          {"mug": "black", "apple": "yellow"})
    texts = [i.text for s in range(20) for i in generate_instructions(
        scene, np.random.default_rng(s), split="similar", per_target=6, absent=0)]
    assert any("black" in t for t in texts) and any("yellow" in t for t in texts)
    with pytest.raises(InvalidInputError, match="held-out colours"):
        generate_instructions(scene, np.random.default_rng(0), split="train")


def test_relations_are_used_only_beyond_the_margin():
    def relation_texts(dy: float) -> list[str]:
        scene = [SceneObject("mug", "red", (0.45, 0.0, 0.0)), SceneObject("apple", "red", (0.45, dy, 0.0)),
                 SceneObject("marker", "black", (0.6, 0.2, 0.0))]
        return [i.text for s in range(150) for i in generate_instructions(
            scene, np.random.default_rng(s), per_target=4, absent=0, targets=["apple"]) if i.kind == "relation"]
    near, far = relation_texts(0.02), relation_texts(0.12)
    assert not any(re.search(r"(left|right) of the (mug|cup|coffee)", t) for t in near), near
    assert any(re.search(r"left of the (mug|cup|coffee)", t) for t in far)
    assert not any(re.search(r"right of the (mug|cup|coffee)", t) for t in far)


def test_ambiguous_descriptions_are_never_emitted():
    # three red objects, two fruit: "the red one" and "the fruit" never; "the red fruit" fits the apple alone
    scene = [SceneObject("apple", "red", (0.4, 0.1, 0.0)), SceneObject("mug", "red", (0.5, -0.1, 0.0)),
             SceneObject("stapler", "red", (0.6, 0.2, 0.0)), SceneObject("pear", "green", (0.35, -0.2, 0.0))]
    texts = [i.text for s in range(100) for i in generate_instructions(
        scene, np.random.default_rng(s), per_target=5, absent=0, targets=["apple"])]
    relation = r"(?! (left|right|in front|behind|next|nearest|closest|farthest|furthest|to|on)\b)"
    assert not any(re.search(r"\bthe red (one|object|item|thing)\b" + relation, t) for t in texts), texts
    assert not any(re.search(r"\bthe fruit\b" + relation, t) for t in texts), texts
    assert any(re.search(r"the red fruit$", t) for t in texts)


def test_absent_instructions_in_a_scene_with_every_object():
    scene = scene_objects(generate_scene("clutter", 11).placements)
    for split, nouns in (("train", ABSENT_NOUNS_TRAIN), ("seen", ABSENT_NOUNS_TEST)):
        out = generate_instructions(scene, np.random.default_rng(1), split=split, per_target=5, absent=6)
        check(out, scene)
        absent = [i for i in out if i.kind == "absent"]
        assert len(absent) == 6 and all(i.reference.noun in nouns for i in absent)
        assert all(sum(i.target == n for i in out) == 5 for n in OBJECTS)


def test_part_instructions_follow_the_scene_objects_parts():
    scene = [SceneObject("mug", "blue", (0.45, 0.0, 0.0), parts=("body",)),
             SceneObject("bottle", "blue", (0.5, 0.2, 0.0))]
    out = [i for s in range(60) for i in generate_instructions(scene, np.random.default_rng(s), per_target=6, absent=0)]
    check(out, scene)
    parts = {(i.target, i.part) for i in out}
    assert ("mug", "handle") not in parts and {("bottle", "cap"), ("bottle", "neck")} <= parts


def test_deterministic_given_the_rng():
    scene = random_scene(3, n=6)
    a = generate_instructions(scene, np.random.default_rng(7), per_target=4, absent=2)
    b = generate_instructions(scene, np.random.default_rng(7), per_target=4, absent=2)
    c = generate_instructions(scene, np.random.default_rng(8), per_target=4, absent=2)
    assert [i.text for i in a] == [i.text for i in b] != [i.text for i in c]


def test_bad_input_is_refused():
    scene = [SceneObject("mug", "red", (0.45, 0.0, 0.0))]
    with pytest.raises(InvalidInputError, match="split"):
        generate_instructions(scene, np.random.default_rng(0), split="test")
    with pytest.raises(InvalidInputError, match="once"):
        generate_instructions(scene * 2, np.random.default_rng(0))
    with pytest.raises(InvalidInputError, match="not in the scene"):
        generate_instructions(scene, np.random.default_rng(0), targets=["apple"])
    with pytest.raises(InvalidInputError, match="never rendered"):
        SceneObject("banana", "purple", (0.4, 0.0, 0.0))
    with pytest.raises(InvalidInputError, match="grasps on"):
        SceneObject("apple", "red", (0.4, 0.0, 0.0), parts=("stem",))

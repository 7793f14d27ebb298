"""Referring instructions for the embedded model's simulated scenes.

:func:`generate_instructions` writes, for every target object of a scene, ``per_target``
distinct instructions that each identify that object (and, for part instructions, its part)
uniquely, plus ``absent`` instructions that name nothing in the scene (target ``None``: the
model must answer "not found"). Kinds:

* ``category`` — an object word or a category noun: "grasp the banana", "pick up the coffee mug",
  "take the fruit" (only if it is the only fruit);
* ``color`` — "the yellow fruit", "the red one", "the blue bottle" (the colour it is rendered in);
* ``attribute`` — a shape/size adjective, maybe with colour: "the round fruit", "the small red one";
* ``relation`` — in the robot base frame (x forward away from the robot, y to the robot's LEFT):
  "the apple left of the mug" (larger y), "right of" (smaller y), "in front of" (smaller x),
  "behind" (larger x), "next to" (the candidate nearest the anchor, ≤ 15 cm), and superlatives
  "closest to / farthest from the robot" (xy distance from the base origin), "leftmost",
  "rightmost". A relation is used only when it holds by :data:`MARGIN` (3 cm): the target is
  ≥ 3 cm beyond the anchor, and for superlatives/"next to" ≥ 3 cm ahead of the runner-up;
* ``part`` — for the parts in ``SceneObject.parts``: "the handle of the mug", "the mug's handle",
  "the bottle cap", "grasp the mug by its handle", "the handle" (when only one object has one);
* ``function`` — what the object is used for (:data:`~realvlg.embedded.vocabulary.USES`):
  "something to write with", "what you would use to drink coffee from";
* ``absent`` — a simulated object not in the scene (maybe with a colour), a use none of the scene's
  objects has, or an everyday noun or use that is never simulated
  (:data:`~realvlg.embedded.vocabulary.ABSENT_NOUNS_TRAIN`/``ABSENT_USES_TRAIN`` in training,
  the ``_TEST`` ones in the test splits).

Each reference is wrapped in a request template of a phrasing family ("grasp {ref}", "could you
pick up {ref}?", "get {ref} for me", "take {ref} off the table", …;
:data:`~realvlg.embedded.vocabulary.REQUEST_FAMILIES`), sometimes with an opener or closer around
it ("hey, … now"; ``Instruction.template`` is the undecorated one); object phrases sometimes say "that", "this"
or "a" for "the"; and the finished text is sometimes capitalised, punctuated or mistyped (one letter
dropped, doubled or swapped in one word; ``Instruction.plain`` keeps the text before that). Kinds
are drawn with :data:`KIND_WEIGHTS` (category the most common: the closed-loop test says "grasp the
<object>").

Uniqueness: every referring expression is a :class:`Reference`; :func:`referents` is a lenient
listener that returns every object of the scene the expression could mean (borderline categories
and adjectives, fixed and near colours, any physical part with that word, relations that hold by
any amount); an expression is emitted only if its referents are exactly the target.

Splits: "train", "seen" and "similar" use :data:`~realvlg.embedded.vocabulary.TRAIN_TEMPLATES`, the
training uses and no held-out relation/anchor pair ("similar" differs in its scenes: held-out colours
are rendered and then said); "novel" emits only held-out combinations — a held-out relation/anchor
pair or a held-out template — and absent instructions; "paraphrase" (the seen split's scenes) says
every instruction in a held-out phrasing family, and its functional descriptions with held-out uses
or frames where the scene allows one. :func:`is_held_out` tells whether an instruction uses anything
held out of training; "train" never does, and it refuses scenes rendered in held-out colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from realvlg.embedded.vocabulary import (
    ABSENT_NOUNS_TEST,
    ABSENT_NOUNS_TRAIN,
    ABSENT_USES_TEST,
    ABSENT_USES_TRAIN,
    ADJECTIVES,
    BORDERLINE_ADJECTIVES,
    BORDERLINE_CATEGORIES,
    CAPITALISE_RATE,
    CATEGORIES,
    CLOSERS,
    COLOR_VARIANTS,
    DECORATE_RATE,
    DETERMINERS,
    FIXED_COLORS,
    GENERIC_NOUNS,
    HELD_OUT_COLORS,
    HELD_OUT_RELATION_ANCHORS,
    HELD_OUT_TEMPLATES,
    HELD_OUT_USE_FRAMES,
    HELD_OUT_USES,
    NEAR_COLORS,
    OPENERS,
    PART_WORDS,
    PUNCTUATION,
    RELATIONS,
    REQUEST_FAMILIES,
    SPLITS,
    SUPERLATIVES,
    TRAIN_TEMPLATES,
    TYPO_RATE,
    USE_FRAMES,
    USES,
    training_colors,
)
from realvlg.errors import InvalidInputError
from realvlg.objects import OBJECTS, find_object

MARGIN = 0.03  # a relation must hold by this much [m]
NEXT_TO_MAX = 0.15  # "next to": centre distance to the anchor at most [m]
KINDS = ("category", "color", "attribute", "relation", "part", "function")
KIND_WEIGHTS = {"category": 0.3, "color": 0.13, "attribute": 0.1, "relation": 0.2, "part": 0.13, "function": 0.14}
FAMILY_WEIGHTS = {"imperative": 0.3, "polite": 0.14, "question": 0.16, "need": 0.12, "for me": 0.16, "table": 0.12}
# "the handle of the mug" / "the mug's handle" / "the mug handle" / "the mug by its handle"
PART_FORMS = ("of", "poss", "compound", "by")


@dataclass(frozen=True)
class SceneObject:
    """One object of a scene as the instruction generator sees it: ``name`` (a key of
    :data:`~realvlg.objects.OBJECTS`), the ``color`` word it is rendered in (a key of
    ``COLOR_VARIANTS[name]``), ``position`` = its footprint centre in the robot base frame [m]
    (x forward, y to the robot's left, z up) and the ``parts`` with grasps that part
    instructions may name (default: every part of the object's ground-truth grasps)."""

    name: str
    color: str
    position: tuple[float, float, float]
    parts: tuple[str, ...] = ()

    def __post_init__(self):
        if self.name not in OBJECTS:
            raise InvalidInputError(f"unknown object {self.name!r}; known: {', '.join(OBJECTS)}")
        if self.color not in COLOR_VARIANTS[self.name]:
            raise InvalidInputError(f"the {self.name} is never rendered {self.color!r}; "
                                    f"colours: {', '.join(COLOR_VARIANTS[self.name])}")
        grasp_parts = tuple(dict.fromkeys(g.part for g in OBJECTS[self.name].grasps))
        if not self.parts:
            object.__setattr__(self, "parts", grasp_parts)
        elif not set(self.parts) <= set(grasp_parts):
            raise InvalidInputError(f"the {self.name} has grasps on {grasp_parts}, not {self.parts}")


@dataclass(frozen=True)
class Reference:
    """What a referring expression says. ``noun``: an object word, a category noun or a generic
    noun (None for a bare part, "the handle", or a use); ``color``/``adjective`` modifiers; ``part``
    (key of ``ObjectSpec.parts``) said as ``part_word`` in ``part_form``; ``relation`` (a key of
    RELATIONS or SUPERLATIVES) with, for binary relations, the ``anchor`` object said as
    ``anchor_word``; ``use`` (a key of USES or an absent use) said in ``use_frame``; the
    ``determiner`` of a plain noun phrase."""

    noun: str | None = None
    color: str | None = None
    adjective: str | None = None
    part: str | None = None
    part_word: str | None = None
    part_form: str = "of"
    relation: str | None = None
    anchor: str | None = None
    anchor_word: str | None = None
    use: str | None = None
    use_frame: str = USE_FRAMES[0]
    determiner: str = "the"

    @property
    def kind(self) -> str:
        if self.use:
            return "function"
        if self.relation:
            return "relation"
        if self.part:
            return "part"
        if self.adjective:
            return "attribute"
        if self.color:
            return "color"
        return "category"


@dataclass(frozen=True)
class Instruction:
    """One instruction: ``text``, the ``target`` object's name (None when it names nothing in the
    scene), the ``part`` it names (None: the object as a whole), its ``kind`` (one of
    :data:`KINDS` or "absent"), and how it was made: the ``reference``, the ``template`` and the
    ``plain`` text before capitals, punctuation and typos."""

    text: str
    target: str | None
    part: str | None
    kind: str
    reference: Reference | None = field(default=None, compare=False)
    template: str = field(default="", compare=False)
    plain: str = field(default="", compare=False)


# -- the listener -------------------------------------------------------------------------------
def _noun_fits(noun: str | None, name: str) -> bool:
    if noun is None or noun in GENERIC_NOUNS:
        return True
    if noun in CATEGORIES:
        return name in CATEGORIES[noun] or name in BORDERLINE_CATEGORIES.get(noun, ())
    return noun in OBJECTS[name].words


def color_words(obj: SceneObject) -> frozenset[str]:
    """Every colour word a person might use for ``obj`` as rendered (listener side)."""
    return (frozenset({obj.color}) | FIXED_COLORS.get(obj.name, frozenset())
            | NEAR_COLORS.get((obj.name, obj.color), frozenset()))


def _describes(ref: Reference, obj: SceneObject) -> bool:
    if ref.use:
        return obj.name in USES.get(ref.use, ())
    if not _noun_fits(ref.noun, obj.name):
        return False
    if ref.color and ref.color not in color_words(obj):
        return False
    if ref.adjective and not (obj.name in ADJECTIVES[ref.adjective]
                              or obj.name in BORDERLINE_ADJECTIVES.get(ref.adjective, ())):
        return False
    return not ref.part_word or any(ref.part_word in words for words in PART_WORDS[obj.name].values())


def _xy(obj: SceneObject) -> np.ndarray:
    return np.asarray(obj.position[:2], dtype=float)


def relation_offset(relation: str, obj: SceneObject, anchor: SceneObject) -> float:
    """How far [m] ``obj`` is ``relation`` (left of, right of, in front of, behind) the anchor:
    positive when it holds."""
    d = _xy(obj) - _xy(anchor)
    return {"left of": d[1], "right of": -d[1], "in front of": -d[0], "behind": d[0]}[relation]


def superlative_score(relation: str, obj: SceneObject, anchor: SceneObject | None = None) -> float:
    """Lower is better: the xy distance to the robot (or negated, or to the anchor for "next to"),
    −y for "leftmost", y for "rightmost"."""
    if relation == "next to":
        return float(np.linalg.norm(_xy(obj) - _xy(anchor)))
    r = float(np.linalg.norm(_xy(obj)))
    return {"closest to the robot": r, "farthest from the robot": -r,
            "leftmost": -obj.position[1], "rightmost": obj.position[1]}[relation]


def referents(ref: Reference, scene: Sequence[SceneObject]) -> tuple[str, ...]:
    """Every object of ``scene`` that ``ref`` could mean (the lenient listener of the module doc):
    for binary relations those on the right side of the anchor by any amount; for superlatives
    and "next to" those within :data:`MARGIN` of the best. An absent anchor gives ()."""
    candidates = [o for o in scene if _describes(ref, o)]
    if ref.relation in RELATIONS:
        anchors = [o for o in scene if ref.anchor_word in OBJECTS[o.name].words]
        if len(anchors) != 1:
            return ()
        anchor = anchors[0]
        candidates = [o for o in candidates if o is not anchor]
        if ref.relation != "next to":
            return tuple(o.name for o in candidates if relation_offset(ref.relation, o, anchor) > 0)
    else:
        anchor = None
    if ref.relation in SUPERLATIVES or ref.relation == "next to":
        if not candidates:
            return ()
        scores = np.array([superlative_score(ref.relation, o, anchor) for o in candidates])
        return tuple(o.name for o, s in zip(candidates, scores) if s <= scores.min() + MARGIN)
    return tuple(o.name for o in candidates)


def _clear(ref: Reference, target: SceneObject, scene: Sequence[SceneObject]) -> bool:
    """Whether a relation holds for the target by the margin (referents() checks the rest)."""
    if ref.relation in SUPERLATIVES:
        return sum(_describes(ref, o) for o in scene) >= 2  # a superlative needs something to beat
    if ref.relation in RELATIONS:
        anchor = next(o for o in scene if o.name == ref.anchor)
        if ref.relation == "next to":
            return superlative_score("next to", target, anchor) <= NEXT_TO_MAX
        return relation_offset(ref.relation, target, anchor) >= MARGIN
    return True


def identifies(ref: Reference, target: SceneObject, scene: Sequence[SceneObject]) -> bool:
    """Whether ``ref`` means ``target`` and nothing else in ``scene`` (relations by the margin)."""
    return referents(ref, scene) == (target.name,) and _clear(ref, target, scene)


def is_held_out(instruction: Instruction) -> bool:
    """Whether the instruction uses anything held out of training: a held-out template, use or use
    frame, a held-out relation/anchor pair, an object said in a held-out colour, or a test-only
    absent noun or use."""
    ref = instruction.reference
    if instruction.template in HELD_OUT_TEMPLATES:
        return True
    if ref is None:
        return False
    if ref.use:
        return ref.use in HELD_OUT_USES or ref.use in ABSENT_USES_TEST or ref.use_frame in HELD_OUT_USE_FRAMES
    if (ref.relation, ref.anchor) in HELD_OUT_RELATION_ANCHORS:
        return True
    named = instruction.target
    if named is None and ref.noun:
        spec = find_object(ref.noun)
        named = spec.name if spec else None
    if (named, ref.color) in HELD_OUT_COLORS:
        return True
    return instruction.kind == "absent" and ref.noun in ABSENT_NOUNS_TEST


# -- rendering ----------------------------------------------------------------------------------
def _noun_phrase(ref: Reference, superlative: str = "") -> str:
    phrase = " ".join(w for w in (superlative, ref.adjective, ref.color, ref.noun) if w)
    determiner = ref.determiner
    if determiner == "a" and phrase[0] in "aeiou":
        determiner = "an"
    return f"{determiner} {phrase}"


def render(ref: Reference, rng: np.random.Generator) -> str:
    """The referring expression ``ref`` in words (phrasings drawn by ``rng``)."""
    if ref.use:
        return ref.use_frame.format(use=ref.use)
    if ref.part_word:
        if ref.noun is None:
            return f"the {ref.part_word}"
        np_ = _noun_phrase(ref)
        return {"of": f"the {ref.part_word} of {np_}", "poss": f"{np_}'s {ref.part_word}",
                "compound": f"{np_} {ref.part_word}", "by": f"{np_} by its {ref.part_word}"}[ref.part_form]
    if ref.relation in ("leftmost", "rightmost"):
        return _noun_phrase(ref, ref.relation)
    np_ = _noun_phrase(ref)
    if ref.relation in SUPERLATIVES:
        phrases = SUPERLATIVES[ref.relation]
        return f"{np_} {phrases[int(rng.integers(len(phrases)))]}"
    if ref.relation in RELATIONS:
        phrases = RELATIONS[ref.relation]
        return f"{np_} {phrases[int(rng.integers(len(phrases)))]} the {ref.anchor_word}"
    return np_


def _template_fits(template: str, ref: Reference) -> bool:
    before, after = template.split("{ref}")
    particle = after.split(" ")[1:2] in (["up"], ["over"])  # "pick {ref} up", "bring {ref} over"
    if ref.part_form == "by" and ref.part_word:
        return not particle and bool(before)  # "grasp the mug by its handle"
    if particle:
        return not (ref.relation in RELATIONS or ref.relation in SUPERLATIVES or ref.part_word or ref.use)
    return True


def _template(rng: np.random.Generator, split: str, ref: Reference, held_pair: bool = False) -> str:
    """A request template for ``ref``: from a training family (drawn by FAMILY_WEIGHTS), or for
    "novel" and "paraphrase" a held-out one ("novel" also a training one around a held-out pair)."""
    if split in ("novel", "paraphrase"):
        templates = TRAIN_TEMPLATES + HELD_OUT_TEMPLATES if held_pair and split == "novel" else HELD_OUT_TEMPLATES
    else:
        templates = REQUEST_FAMILIES[_pick(rng, FAMILY_WEIGHTS)]
    return _draw(rng, [t for t in templates if _template_fits(t, ref)])


def _decorated(template: str, rng: np.random.Generator) -> str:
    """``template`` maybe with an opener before it and a closer after it (DECORATE_RATE each)."""
    if rng.random() < DECORATE_RATE:
        template = _draw(rng, OPENERS) + template
    if rng.random() < DECORATE_RATE and not template.endswith("?"):
        template += _draw(rng, CLOSERS)
    return template


def _typo(word: str, rng: np.random.Generator) -> str:
    i = int(rng.integers(1, len(word) - 1))
    return (word[:i] + word[i + 1:], word[:i] + word[i] + word[i:],
            word[:i] + word[i + 1] + word[i] + word[i + 2:])[int(rng.integers(3))]


def _noisy(text: str, rng: np.random.Generator) -> str:
    """``text`` as people type it: maybe one word of ≥ 4 letters mistyped, a capital first letter,
    a full stop or exclamation mark (rates in the vocabulary)."""
    if rng.random() < TYPO_RATE:
        words = text.split(" ")
        if long := [i for i, w in enumerate(words) if len(w) >= 4 and w.isalpha()]:
            i = _draw(rng, long)
            words[i] = _typo(words[i], rng)
            text = " ".join(words)
    if rng.random() < CAPITALISE_RATE:
        text = text[0].upper() + text[1:]
    if not text.endswith("?"):
        text += _pick(rng, PUNCTUATION)
    return text


def _pick(rng: np.random.Generator, weights: dict[str, float]) -> str:
    """A key of ``weights`` drawn with probability proportional to its value."""
    keys = list(weights)
    p = np.array([weights[k] for k in keys])
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


# -- candidate references -----------------------------------------------------------------------
def _grasp_parts(name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(g.part for g in OBJECTS[name].grasps))


def _candidates(kind: str, t: SceneObject, scene: Sequence[SceneObject], split: str) -> list[Reference]:
    """Every reference of ``kind`` that identifies ``t`` in ``scene`` (allowed in ``split``)."""
    words = OBJECTS[t.name].words
    cats = tuple(c for c, objs in CATEGORIES.items() if t.name in objs)
    adjs = tuple(a for a, objs in ADJECTIVES.items() if t.name in objs)
    refs: list[Reference] = []
    if kind == "category":
        refs = [Reference(noun=w) for w in (*words, *cats)]
    elif kind == "color":
        refs = [Reference(noun=n, color=t.color) for n in (*words, *cats, "one", "object") if n != t.color]
    elif kind == "attribute":
        refs = [Reference(noun=n, color=c, adjective=a) for a in adjs for n in (*cats, "one", "object")
                for c in (None, t.color)]
    elif kind == "relation":
        nps = [(words[0], None), *[(c, col) for c in cats for col in (None, t.color)], ("object", None),
               ("one", t.color)]
        refs = [Reference(noun=n, color=c, relation=s) for s in SUPERLATIVES for n, c in nps]
        for anchor in scene:
            if anchor.name == t.name:
                continue
            for rel in RELATIONS:
                if split != "novel" and (rel, anchor.name) in HELD_OUT_RELATION_ANCHORS:
                    continue
                refs += [Reference(noun=n, color=c, relation=rel, anchor=anchor.name, anchor_word=anchor.name)
                         for n, c in nps]
    elif kind == "part":
        for part in t.parts:
            part_words = PART_WORDS[t.name].get(part, ())
            if not part_words or (part_words[0] == "body" and len(_grasp_parts(t.name)) == 1):
                continue  # "the body of the apple" is just the apple
            for pw in part_words:
                refs.append(Reference(part=part, part_word=pw))
                for form in PART_FORMS:
                    refs += [Reference(noun=w, part=part, part_word=pw, part_form=form) for w in words]
                    if form != "compound":
                        refs += [Reference(noun=n, color=t.color, part=part, part_word=pw, part_form=form)
                                 for n in (*cats, "one") if n != t.color]
    elif kind == "function":
        uses = [u for u, objs in USES.items() if t.name in objs]
        trained = [Reference(use=u) for u in uses if u not in HELD_OUT_USES]
        held = [Reference(use=u) for u in uses if u in HELD_OUT_USES]
        # "paraphrase": held-out uses first, where one identifies the target
        refs = ([r for r in held if identifies(r, t, scene)] or trained) if split == "paraphrase" else trained
    refs = list(dict.fromkeys(refs))
    return [r for r in refs if identifies(r, t, scene)]


def _draw(rng: np.random.Generator, items: Sequence):
    return items[int(rng.integers(len(items)))]


def _target_instructions(t: SceneObject, scene: Sequence[SceneObject], rng: np.random.Generator, split: str,
                         count: int) -> list[Instruction]:
    pools: dict[str, list[Reference]] = {}
    weights = dict(KIND_WEIGHTS)
    out: dict[str, Instruction] = {}
    for _ in range(30 * count):
        if len(out) == count or not weights:
            break
        kind = _pick(rng, weights)
        if kind not in pools:
            pools[kind] = _candidates(kind, t, scene, split)
            if split == "novel" and kind == "relation":  # held-out pairs first: they are the point
                held = [r for r in pools[kind] if (r.relation, r.anchor) in HELD_OUT_RELATION_ANCHORS]
                pools[kind] = held or pools[kind]
        if not pools[kind]:
            del weights[kind]
            continue
        name_ref = Reference(noun=t.name)
        if kind == "category" and name_ref in pools[kind] and rng.random() < 0.5:
            ref = name_ref  # "grasp the <object>" is what the closed-loop test says
        else:
            ref = _draw(rng, pools[kind])
        if ref.anchor:  # any word for the anchor: every one names it alone
            ref = replace(ref, anchor_word=_draw(rng, OBJECTS[ref.anchor].words))
        if ref.use:
            ref = replace(ref, use_frame=_draw(rng, HELD_OUT_USE_FRAMES + USE_FRAMES if split == "paraphrase"
                                               else USE_FRAMES))
        elif kind in ("category", "color", "attribute"):
            ref = replace(ref, determiner=_pick(rng, DETERMINERS))
        template = _template(rng, split, ref, (ref.relation, ref.anchor) in HELD_OUT_RELATION_ANCHORS)
        plain = _decorated(template, rng).format(ref=render(ref, rng))
        if plain not in out:
            out[plain] = Instruction(_noisy(plain, rng), t.name, ref.part, ref.kind, ref, template, plain)
    return list(out.values())


def _absent_instructions(scene: Sequence[SceneObject], rng: np.random.Generator, split: str,
                         count: int) -> list[Instruction]:
    present = {o.name for o in scene}
    missing = [n for n in OBJECTS if n not in present]
    nouns, absent_uses = (ABSENT_NOUNS_TRAIN, ABSENT_USES_TRAIN) if split == "train" \
        else (ABSENT_NOUNS_TEST, ABSENT_USES_TEST)
    uses = [u for u in USES if u not in HELD_OUT_USES]
    out: dict[str, Instruction] = {}
    for _ in range(30 * count):
        if len(out) == count:
            break
        draw = rng.random()
        if missing and draw < 0.4:  # a simulated object the scene lacks
            name = _draw(rng, missing)
            colors = training_colors(name) if split in ("train", "seen", "paraphrase") else tuple(COLOR_VARIANTS[name])
            color = _draw(rng, colors) if rng.random() < 0.5 else None
            ref = Reference(noun=_draw(rng, OBJECTS[name].words), color=color, determiner=_pick(rng, DETERMINERS))
        elif draw < 0.55:  # the use of a simulated object the scene lacks
            ref = Reference(use=_draw(rng, uses), use_frame=_draw(rng, USE_FRAMES))
        elif draw < 0.7:
            ref = Reference(use=_draw(rng, absent_uses), use_frame=_draw(rng, USE_FRAMES))
        else:
            ref = Reference(noun=_draw(rng, nouns), determiner=_pick(rng, DETERMINERS))
        if referents(ref, scene):
            continue
        template = _template(rng, split, ref)
        plain = _decorated(template, rng).format(ref=render(ref, rng))
        if plain not in out:
            out[plain] = Instruction(_noisy(plain, rng), None, None, "absent", ref, template, plain)
    return list(out.values())


def generate_instructions(scene: Sequence[SceneObject], rng: np.random.Generator, *, split: str = "train",
                          per_target: int = 3, absent: int = 1,
                          targets: Sequence[str] | None = None) -> list[Instruction]:
    """``per_target`` distinct instructions for every target (default: every object of ``scene``,
    in scene order; fewer only if the scene allows no more), then ``absent`` instructions naming
    nothing in the scene. Deterministic given ``rng``. Raises
    :class:`~realvlg.errors.InvalidInputError` for an unknown split or target, an object twice in
    the scene, or a "train" scene rendered in a held-out colour."""
    if split not in SPLITS:
        raise InvalidInputError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    names = [o.name for o in scene]
    if len(set(names)) != len(names):
        raise InvalidInputError(f"each object may be in a scene once, got {names}")
    if split == "train" and (held := [o for o in scene if (o.name, o.color) in HELD_OUT_COLORS]):
        raise InvalidInputError(f"held-out colours in a training scene: "
                                f"{', '.join(f'{o.color} {o.name}' for o in held)}")
    for name in targets or ():
        if name not in names:
            raise InvalidInputError(f"target {name!r} is not in the scene ({', '.join(names)})")
    chosen = [o for o in scene if targets is None or o.name in targets]
    out = [i for t in chosen for i in _target_instructions(t, scene, rng, split, per_target)]
    return out + _absent_instructions(scene, rng, split, absent)


def scene_objects(placements, colors: dict[str, str] | None = None) -> list[SceneObject]:
    """:class:`SceneObject`s for :class:`~realvlg.sim.fr3_world.Placement`s (table top at z = 0),
    in the given ``colors`` (name → colour word; default: each object's default colour)."""
    colors = colors or {}
    return [SceneObject(p.name, colors.get(p.name, next(iter(COLOR_VARIANTS[p.name]))), (p.x, p.y, 0.0))
            for p in placements]

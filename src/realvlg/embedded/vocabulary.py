"""Words the embedded model's data generator uses to talk about the ten simulated objects.

Everything here is data: the instruction generator (:mod:`realvlg.embedded.instructions`) and
the scene renderer (``realvlg.embedded.datagen``) read it; nothing here depends on a scene.

* Colours — :data:`COLOR_VARIANTS` (per object, the colour words it may be rendered in with an
  RGB in [0, 1]; the first is the simulator's default), :data:`RECOLOR_PARTS` (the parts whose
  geoms take the variant colour), :data:`FIXED_COLORS` (colour words an object always shows on
  its other parts, e.g. the stapler's black base) and :data:`NEAR_COLORS` (words a person might
  also use for a rendered colour: the yellow-green pear is "yellow" to some). The generator only
  says an object's rendered colour; a listener also accepts fixed and near colours, so a colour
  expression is emitted only when no other object could be meant.
* Attributes — :data:`CATEGORIES` (category nouns: "fruit", "container", "tool", "office
  supply", "toiletry") and :data:`ADJECTIVES` ("round", "long", "curved", "tall", "small",
  "thin", "cylindrical"), each mapping a word to the objects it clearly describes; the
  ``BORDERLINE_*`` tables list objects a listener might still take it to mean (the stapler is a
  "tool" to some; the pear is roughly "round"). Emitted: clear; checked against: clear ∪ borderline.
* Parts — :data:`PART_WORDS`: the words for every physical part of every object (grasped or not),
  so "the handle" is ambiguous whenever two objects with handles are present.
* Uses — :data:`USES` (what an object is for, "drink coffee from" → every object it could mean)
  said in a :data:`USE_FRAMES` frame ("something to {use}").
* Requests — :data:`REQUEST_FAMILIES`: phrasing families of templates (imperative, polite,
  question, need, "for me", table); :data:`DETERMINERS`, and the rates at which texts are typed
  with a capital, a final mark or a typo.
* Absent objects — :data:`ABSENT_NOUNS_TRAIN` and :data:`ABSENT_NOUNS_TEST`: everyday tabletop
  objects never simulated, look-alikes included (disjoint; the test nouns never appear in
  training); :data:`ABSENT_USES_TRAIN` / ``ABSENT_USES_TEST``: uses no simulated object has.
* Held-out combinations (the test splits' novelty, analogues of RealVLG's seen/similar/novel):
  :data:`HELD_OUT_COLORS` (object/colour pairs never rendered in training: the "similar" split),
  :data:`HELD_OUT_RELATION_ANCHORS` (relation/anchor-object pairs never in training: "novel"),
  :data:`HELD_OUT_REQUEST_FAMILIES` (phrasing families never in training: "novel" and
  "paraphrase"), :data:`HELD_OUT_USES` and :data:`HELD_OUT_USE_FRAMES` ("paraphrase").

Spatial words are the robot's, in the base frame (REP-103: x forward away from the robot, y to
the robot's LEFT, z up): "left of" = larger y, "in front of" = smaller x (nearer the robot).
"""

from __future__ import annotations

import numpy as np

from realvlg.objects import OBJECTS

RGB = tuple[float, float, float]

COLOR_VARIANTS: dict[str, dict[str, RGB]] = {
    "mug": {"red": (0.75, 0.1, 0.12), "blue": (0.12, 0.25, 0.7), "white": (0.93, 0.93, 0.9),
            "black": (0.1, 0.1, 0.1)},
    "orange": {"orange": (1.0, 0.5, 0.05)},
    "pear": {"green": (0.72, 0.8, 0.25), "yellow": (0.93, 0.85, 0.3)},
    "apple": {"red": (0.78, 0.08, 0.08), "green": (0.45, 0.75, 0.2), "yellow": (0.95, 0.85, 0.25)},
    "banana": {"yellow": (0.95, 0.82, 0.15), "green": (0.5, 0.7, 0.2)},
    "stapler": {"red": (0.7, 0.1, 0.1), "black": (0.1, 0.1, 0.11), "blue": (0.15, 0.3, 0.75)},
    "bottle": {"blue": (0.1, 0.3, 0.85), "green": (0.15, 0.6, 0.3)},
    "marker": {"black": (0.08, 0.08, 0.08), "red": (0.8, 0.1, 0.1), "blue": (0.1, 0.2, 0.8)},
    "screwdriver": {"yellow": (0.95, 0.7, 0.05), "red": (0.8, 0.1, 0.1)},
    "razor": {"pink": (0.9, 0.45, 0.65), "blue": (0.2, 0.45, 0.85)},
}
"""Object → colour word → RGB in [0, 1]; the first entry is the simulator's default rendering."""

RECOLOR_PARTS: dict[str, tuple[str, ...]] = {
    "mug": ("body", "handle"), "orange": ("body",), "pear": ("body", "neck"), "apple": ("body",),
    "banana": ("middle", "end"), "stapler": ("top",), "bottle": ("body", "shoulder", "neck"),
    "marker": ("body", "cap"), "screwdriver": ("handle",), "razor": ("handle",),
}
"""Object → the parts whose geoms are drawn in the variant colour (the rest keep their rgba)."""

FIXED_COLORS: dict[str, frozenset[str]] = {
    "stapler": frozenset({"black"}), "bottle": frozenset({"white"}), "razor": frozenset({"white"}),
    "screwdriver": frozenset({"silver", "grey"}),
}
"""Colour words an object always shows on parts outside :data:`RECOLOR_PARTS` (listener side)."""

NEAR_COLORS: dict[tuple[str, str], frozenset[str]] = {
    ("pear", "green"): frozenset({"yellow"}), ("pear", "yellow"): frozenset({"green"}),
    ("screwdriver", "yellow"): frozenset({"orange"}), ("orange", "orange"): frozenset({"yellow"}),
}
"""(object, rendered colour) → other colour words a person might use for it (listener side)."""

HELD_OUT_COLORS: frozenset[tuple[str, str]] = frozenset({
    ("mug", "black"), ("apple", "yellow"), ("bottle", "green"), ("marker", "blue")})
"""(object, colour) pairs never rendered or said in training: the "similar" split's colours.
Each colour word itself is seen in training on other objects."""

CATEGORIES: dict[str, frozenset[str]] = {
    "fruit": frozenset({"orange", "pear", "apple", "banana"}),
    "container": frozenset({"mug", "bottle"}),
    "tool": frozenset({"screwdriver"}),
    "office supply": frozenset({"stapler", "marker"}),
    "toiletry": frozenset({"razor"}),
}
"""Category noun → the objects it clearly names."""

BORDERLINE_CATEGORIES: dict[str, frozenset[str]] = {
    "tool": frozenset({"stapler", "razor", "marker"}),
    "container": frozenset(),
    "fruit": frozenset(),
    "office supply": frozenset({"screwdriver"}),
    "toiletry": frozenset(),
}
"""Category noun → objects a listener might also take it to mean (never emitted for them)."""

ADJECTIVES: dict[str, frozenset[str]] = {
    "round": frozenset({"orange", "apple"}),
    "curved": frozenset({"banana"}),
    "long": frozenset({"banana", "screwdriver", "marker"}),
    "tall": frozenset({"bottle"}),
    "small": frozenset({"orange", "apple", "razor", "marker"}),
    "thin": frozenset({"marker", "razor"}),
    "cylindrical": frozenset({"mug", "bottle"}),
}
"""Shape/size adjective → the objects it clearly describes (sizes relative to the ten objects)."""

BORDERLINE_ADJECTIVES: dict[str, frozenset[str]] = {
    "round": frozenset({"pear"}),
    "curved": frozenset(),
    "long": frozenset({"stapler", "razor"}),
    "tall": frozenset({"mug", "pear"}),
    "small": frozenset({"pear", "banana", "stapler", "screwdriver"}),
    "thin": frozenset({"screwdriver"}),
    "cylindrical": frozenset({"marker", "screwdriver"}),
}

GENERIC_NOUNS = ("object", "item", "thing", "one")
"""Nouns that fit every object; used only with a colour, adjective or relation."""

PART_WORDS: dict[str, dict[str, tuple[str, ...]]] = {
    "mug": {"body": ("body",), "handle": ("handle",)},
    "orange": {"body": ("body",)},
    "pear": {"body": ("body", "bottom"), "neck": ("neck", "top"), "stem": ("stem",)},
    "apple": {"body": ("body",), "stem": ("stem",)},
    "banana": {"middle": ("middle", "centre"), "end": ("end", "tip"), "stem": ("stem",)},
    "stapler": {"base": ("base", "bottom"), "top": ("top", "arm"), "hinge": ("hinge",)},
    "bottle": {"body": ("body", "bottom"), "shoulder": ("shoulder",), "neck": ("neck",),
               "cap": ("cap", "lid", "top")},
    "marker": {"body": ("barrel", "body"), "cap": ("cap", "top")},
    "screwdriver": {"handle": ("handle", "grip"), "shaft": ("shaft",), "tip": ("tip",)},
    "razor": {"handle": ("handle",), "head": ("head", "top"), "blade": ("blade",)},
}
"""Object → part (as in ``ObjectSpec.parts``) → the words for it, the first the usual one."""

ABSENT_NOUNS_TRAIN: tuple[str, ...] = (
    "scissors", "spoon", "fork", "knife", "phone", "keyboard", "computer mouse", "remote control",
    "wallet", "notebook", "roll of tape", "toothbrush", "lemon", "plate", "bowl", "sponge",
    "pair of glasses", "key", "battery", "lighter", "calculator", "comb", "coin", "tomato",
    "soap bar", "mouse pad", "lipstick", "paper clip", "tea bag", "book", "pliers", "hand saw", "chisel",
    "hex key", "tape measure", "pencil", "paint roller", "ladle", "whisk", "tongs", "kiwi", "plum", "mango",
    "grapefruit", "potato", "golf ball", "thermometer", "jar", "soda can", "hairbrush")
"""Everyday tabletop objects never simulated, named by "absent" instructions in training."""

ABSENT_NOUNS_TEST: tuple[str, ...] = (
    "headphones", "wrench", "hammer", "lime", "peach", "teapot", "candle", "paintbrush", "ruler",
    "eraser", "charging cable", "wristwatch", "tennis ball", "glue stick", "spatula", "toy car")
"""Absent nouns of the test splits only (disjoint from :data:`ABSENT_NOUNS_TRAIN`)."""

RELATIONS: dict[str, tuple[str, ...]] = {
    "left of": ("left of", "to the left of", "on the left of"),
    "right of": ("right of", "to the right of", "on the right of"),
    "in front of": ("in front of",),
    "behind": ("behind",),
    "next to": ("next to", "nearest to"),
}
"""Binary relations to an anchor object → phrasings (the robot's view: see the module doc)."""

SUPERLATIVES: dict[str, tuple[str, ...]] = {
    "closest to the robot": ("closest to the robot", "nearest to the robot"),
    "farthest from the robot": ("farthest from the robot", "furthest from the robot"),
    "leftmost": ("leftmost",),
    "rightmost": ("rightmost",),
}
"""Unary superlatives → phrasings; "leftmost"/"rightmost" precede the noun, the others follow."""

HELD_OUT_RELATION_ANCHORS: frozenset[tuple[str, str]] = frozenset({
    ("left of", "bottle"), ("right of", "apple"), ("in front of", "banana"), ("behind", "mug"),
    ("next to", "stapler"), ("right of", "marker")})
"""(relation, anchor object) pairs never in training: the "novel" split. Each relation and each
anchor appears in training in other pairs."""

REQUEST_FAMILIES: dict[str, tuple[str, ...]] = {
    "imperative": ("grasp {ref}", "pick up {ref}", "grab {ref}", "take {ref}", "get {ref}", "lift {ref}",
                   "fetch {ref}", "pick {ref} up", "{ref}", "hold {ref}", "grip {ref}", "lift up {ref}"),
    "polite": ("grasp {ref}, please", "please pick up {ref}", "please grab {ref}", "pick up {ref} please",
               "kindly take {ref}", "get {ref}, thanks", "{ref}, please", "please get {ref}"),
    "question": ("could you pick up {ref}?", "can you grab {ref}?", "would you take {ref}?",
                 "could you get {ref}", "can you lift {ref}?", "could you please grasp {ref}?",
                 "will you fetch {ref}?"),
    "need": ("I need {ref}", "I want {ref}", "I'd like {ref}", "I would like {ref}",
             "I need you to pick up {ref}", "I want you to grab {ref}"),
    "for me": ("hand me {ref}", "give me {ref}", "get {ref} for me", "grab {ref} for me",
               "pick up {ref} for me", "get me {ref}", "fetch me {ref}"),
    "table": ("pick up {ref} from the table", "take {ref} off the table", "lift {ref} off the table",
              "get {ref} from the table", "grab {ref} from the table"),
}
"""Phrasing family → instruction templates of training (and the seen/similar splits); ``{ref}`` is
the referring expression ("the banana", "something to write with")."""

HELD_OUT_REQUEST_FAMILIES: dict[str, tuple[str, ...]] = {
    "indirect": ("would you mind picking up {ref}?", "can I have {ref}?", "may I have {ref}?",
                 "do you mind grabbing {ref}?", "could I get {ref}?"),
    "bring": ("bring me {ref}", "pass me {ref}", "bring {ref} over", "pass {ref} over here",
              "could you bring me {ref}?"),
    "goal": ("I'm looking for {ref}", "go ahead and take {ref}", "go get {ref}", "time to pick up {ref}",
             "let's grab {ref}"),
}
"""Phrasing families never in training: the "paraphrase" split says only these (and "novel" uses
them with its held-out relation pairs) — the figure for phrasings nobody wrote into training."""

TRAIN_TEMPLATES: tuple[str, ...] = tuple(t for f in REQUEST_FAMILIES.values() for t in f)
HELD_OUT_TEMPLATES: tuple[str, ...] = tuple(t for f in HELD_OUT_REQUEST_FAMILIES.values() for t in f)

OPENERS: tuple[str, ...] = ("hey, ", "robot, ", "ok, ", "now ", "okay robot, ", "alright, ", "hi, ")
CLOSERS: tuple[str, ...] = (" now", " carefully", " quickly", " right away", " when you can", " if you can")
DECORATE_RATE = 0.15  # of requests: an opener; again (independently) a closer unless it ends in "?"
"""Words around any request, in every split: a person's address and filler ("hey, grab the mug
now"); the model should learn to look past them."""

USES: dict[str, frozenset[str]] = {
    "drink coffee from": frozenset({"mug"}), "drink tea out of": frozenset({"mug"}),
    "have a hot drink from": frozenset({"mug"}), "sip coffee from": frozenset({"mug"}),
    "drink water from": frozenset({"bottle", "mug"}), "carry water in": frozenset({"bottle"}),
    "pour water from": frozenset({"bottle", "mug"}), "refill at the tap": frozenset({"bottle", "mug"}),
    "make fresh juice from": frozenset({"orange", "apple", "pear"}),
    "squeeze juice out of": frozenset({"orange"}), "peel into segments": frozenset({"orange"}),
    "make a smoothie with": frozenset({"banana", "orange", "apple", "pear"}),
    "top my cereal with": frozenset({"banana", "apple"}), "bake a pie with": frozenset({"apple", "pear"}),
    "snack on": frozenset({"orange", "pear", "apple", "banana"}),
    "eat as a snack": frozenset({"orange", "pear", "apple", "banana"}),
    "staple papers with": frozenset({"stapler"}), "fasten sheets of paper with": frozenset({"stapler"}),
    "staple a report together with": frozenset({"stapler"}), "bind pages with": frozenset({"stapler"}),
    "write with": frozenset({"marker"}), "draw with": frozenset({"marker"}),
    "label a box with": frozenset({"marker"}), "write on a whiteboard with": frozenset({"marker"}),
    "turn screws with": frozenset({"screwdriver"}), "tighten a screw with": frozenset({"screwdriver"}),
    "loosen a screw with": frozenset({"screwdriver"}), "fix a loose screw with": frozenset({"screwdriver"}),
    "shave with": frozenset({"razor"}), "shave my face with": frozenset({"razor"}),
    "trim stubble with": frozenset({"razor"}), "get a clean shave with": frozenset({"razor"}),
}
"""What an object is used for (a verb phrase completing "something to …") → every object a listener
might take it to mean (the generator says it only where that is the target alone)."""

HELD_OUT_USES: frozenset[str] = frozenset({
    "sip coffee from", "refill at the tap", "peel into segments", "top my cereal with", "eat as a snack",
    "bind pages with", "write on a whiteboard with", "fix a loose screw with", "get a clean shave with"})
"""Uses never said in training (the "paraphrase" split's functional descriptions)."""

USE_FRAMES: tuple[str, ...] = ("something to {use}", "the thing to {use}", "what you would use to {use}",
                               "something I can {use}", "the object used to {use}", "the thing I would {use}")
HELD_OUT_USE_FRAMES: tuple[str, ...] = ("the item you {use}", "whatever I could {use}", "anything to {use}")
"""How a use becomes a referring expression; the held-out frames only in the "paraphrase" split."""

ABSENT_USES_TRAIN: tuple[str, ...] = (
    "cut paper with", "stir soup with", "cut bread with", "call someone with", "brush my teeth with",
    "type an email with", "light a fire with", "unlock the door with", "wash the dishes with", "read at night")
ABSENT_USES_TEST: tuple[str, ...] = (
    "tighten a bolt with", "hammer a nail with", "paint a wall with", "flip pancakes with",
    "listen to music with", "erase pencil marks with", "tell the time with", "glue paper with")
"""Uses no simulated object has (absent instructions); the test uses stay out of training."""

DETERMINERS: dict[str, float] = {"the": 0.82, "that": 0.07, "this": 0.04, "a": 0.07}
"""Determiners of object/category/colour/attribute phrases and their probabilities ("a" → "an"
before a vowel); relations, parts and superlatives always say "the"."""

TYPO_RATE = 0.08       # of instructions: one word mistyped (a letter dropped, doubled or swapped)
CAPITALISE_RATE = 0.3  # of instructions: a capital first letter
PUNCTUATION = {"": 0.8, ".": 0.12, "!": 0.08}  # appended unless the text ends with "?"

SPLITS = ("train", "seen", "similar", "novel", "paraphrase")


def training_colors(name: str) -> tuple[str, ...]:
    """The colour words ``name`` may be rendered in during training (default first)."""
    return tuple(c for c in COLOR_VARIANTS[name] if (name, c) not in HELD_OUT_COLORS)


def sample_color(name: str, rng: np.random.Generator, split: str = "train", p_default: float = 0.5) -> str:
    """A colour word to render ``name`` in: for "similar" a held-out colour where the object has
    one; otherwise the default with probability ``p_default``, else another training colour."""
    held = [c for c in COLOR_VARIANTS[name] if (name, c) in HELD_OUT_COLORS]
    if split == "similar" and held:
        return held[int(rng.integers(len(held)))]
    colors = training_colors(name)
    if len(colors) == 1 or rng.random() < p_default:
        return colors[0]
    return colors[1 + int(rng.integers(len(colors) - 1))]


def object_words(name: str) -> tuple[str, ...]:
    """Nouns naming ``name`` (its name first, then synonyms)."""
    return OBJECTS[name].words

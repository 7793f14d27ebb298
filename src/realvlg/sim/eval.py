"""The paper's simulated grasping protocol (Tables 5/6) through the running graph.

Per object and trial: the executor homes the robot (releasing what it holds), ``/sim/reset`` puts
a seeded scene on the table (``single``: the object alone; ``clutter``: all the scene's objects),
``/grasp`` is asked "grasp the <object>" (or, with ``phrasings``, trial t of an object says its
phrasing t mod N: :func:`load_phrasings`), and ``/sim/check_grasp`` applies the success test — the
object lifted ≥ 5 cm above where it rested and still held 2 s later. A request that fails
(nothing planned, refused, dropped) is a failed trial with its reason kept.

The *absent-object* protocol (:func:`run_absent_eval`) sets the same scenes but asks for something
that is not on the table — another of the simulated objects where the scene lacks it, or an object
the simulation never has — and counts the requests that lead to a grasp attempt (a pose sent to the
executor). It should be none: the grounding must say "not found".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tqdm import tqdm

from realvlg.errors import InvalidInputError
from realvlg.objects import OBJECTS

SETTINGS = ("single", "clutter")


@dataclass
class Trial:
    object: str
    trial: int
    seed: int
    success: bool
    reason: str
    strategy: str = ""
    seconds: float = 0.0
    tries: int = 1  # executed tries the attempt needed (retries after a failed grasp)
    instruction: str = ""

    @property
    def first_try(self) -> bool:
        return self.success and self.tries <= 1


@dataclass
class EvalResult:
    setting: str
    strategy: str
    trials: list[Trial] = field(default_factory=list)

    def per_object(self) -> dict[str, dict]:
        out: dict[str, dict] = {}
        for t in self.trials:
            o = out.setdefault(t.object, {"successes": 0, "trials": 0})
            o["trials"] += 1
            o["successes"] += int(t.success)
        for o in out.values():
            o["success_rate"] = o["successes"] / o["trials"]
        return out

    @property
    def success_rate(self) -> float:
        """Success within the attempt's ``max_attempts`` tries."""
        return sum(t.success for t in self.trials) / len(self.trials) if self.trials else 0.0

    @property
    def first_try_rate(self) -> float:
        return sum(t.first_try for t in self.trials) / len(self.trials) if self.trials else 0.0

    def as_dict(self) -> dict:
        return {"setting": self.setting, "strategy": self.strategy, "success_rate": self.success_rate,
                "first_try_rate": self.first_try_rate, "objects": self.per_object(),
                "trials": [vars(t) for t in self.trials]}

    def markdown(self) -> str:
        rows = [f"| {name} | {o['successes']}/{o['trials']} | {o['success_rate'] * 100:.0f} % |"
                for name, o in self.per_object().items()]
        return "\n".join([f"Simulated grasping, {self.setting} setting, strategy {self.strategy}", "",
                          "| object | successes | rate |", "| --- | --- | --- |", *rows,
                          f"| **overall** | {sum(t.success for t in self.trials)}/{len(self.trials)} | "
                          f"**{self.success_rate * 100:.0f} %** |", "",
                          f"First try: {sum(t.first_try for t in self.trials)}/{len(self.trials)} = "
                          f"{self.first_try_rate * 100:.0f} %; within the attempt's tries: "
                          f"{self.success_rate * 100:.0f} %"])

    def bar_chart(self, path) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        per = self.per_object()
        fig, ax = plt.subplots(figsize=(8, 3.5))
        ax.bar(list(per), [o["success_rate"] * 100 for o in per.values()], color="#3a7")
        ax.axhline(self.success_rate * 100, color="k", ls="--", lw=1, label=f"overall {self.success_rate * 100:.0f} %")
        ax.set_ylim(0, 105)
        ax.set_ylabel("success [%]")
        ax.set_title(f"{self.setting} setting, strategy {self.strategy}, {len(self.trials)} trials")
        ax.legend(loc="lower right")
        plt.setp(ax.get_xticklabels(), rotation=30, ha="right")
        fig.tight_layout()
        fig.savefig(path, dpi=120)
        plt.close(fig)


@dataclass
class AbsentResult:
    setting: str
    trials: list[dict] = field(default_factory=list)   # {"present", "asked", "attempted", "message"}

    @property
    def attempt_rate(self) -> float:
        return sum(t["attempted"] for t in self.trials) / len(self.trials) if self.trials else 0.0

    def as_dict(self) -> dict:
        return {"setting": self.setting, "attempt_rate": self.attempt_rate, "trials": self.trials}

    def markdown(self) -> str:
        attempted = [t for t in self.trials if t["attempted"]]
        lines = [f"Instructions naming an absent object, {self.setting} setting: "
                 f"{len(attempted)}/{len(self.trials)} = {self.attempt_rate * 100:.0f} % led to a grasp attempt"]
        lines += [f"- asked {t['asked']!r} with {', '.join(t['present'])} on the table" for t in attempted]
        return "\n".join(lines)


def _scene(client, setting: str, obj: str, objects: list[str], seed: int) -> list[str]:
    """Home the robot and set the trial's scene; the objects on the table."""
    home = client.home()
    if not home.success:
        raise InvalidInputError(f"the robot could not go home: {home.message}")
    scene_objects = [obj] if setting == "single" else (objects if len(objects) > 1 else list(OBJECTS))
    reset = client.reset_scene(setting, scene_objects, seed)
    if not reset.success:
        raise InvalidInputError(f"the simulator could not set the scene: {reset.message}")
    return scene_objects


def run_absent_eval(client, setting: str, objects: list[str], trials: int, nouns: tuple[str, ...],
                    seed: int = 0, progress: bool = True) -> AbsentResult:
    """The absent-object protocol (module docstring): per object and trial, the trial's scene and
    "grasp the <x>" for an ``x`` not on the table — alternately another simulated object (where one
    is absent) and one of ``nouns`` (things the simulation never has)."""
    result = AbsentResult(setting)
    plan = [(o, t) for o in objects for t in range(trials)]
    for i, (obj, t) in enumerate(tqdm(plan, desc=f"absent {setting}", unit="trial", disable=not progress)):
        present = _scene(client, setting, obj, objects, seed + 1000 * t + list(OBJECTS).index(obj))
        missing = [o for o in OBJECTS if o not in present]
        asked = missing[i // 2 % len(missing)] if missing and i % 2 == 0 else nouns[i % len(nouns)]
        response = client.grasp(f"grasp the {asked}", "auto")
        result.trials.append({"present": present, "asked": asked, "attempted": bool(response.strategy_used),
                              "message": response.message})
    return result


def load_phrasings(path) -> dict[str, list[str]]:
    """A YAML file of object → instructions (e.g. ``config/handwritten_instructions.yaml``);
    :class:`~realvlg.errors.InvalidInputError` for an unreadable file, an unknown object or an
    object without a non-empty list of strings."""
    import pathlib

    import yaml

    try:
        data = yaml.safe_load(pathlib.Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"cannot read the instructions file {path}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path}: expected a mapping of object → list of instructions")
    for name, texts in data.items():
        if name not in OBJECTS:
            raise InvalidInputError(f"{path}: unknown object {name!r}; known: {', '.join(OBJECTS)}")
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise InvalidInputError(f"{path}: {name} needs a non-empty list of instructions")
    return data


def run_eval(client, setting: str, objects: list[str], trials: int, strategy: str = "auto",
             seed: int = 0, progress: bool = True, phrasings: dict[str, list[str]] | None = None) -> EvalResult:
    """Run the protocol with ``client`` (a :class:`realvlg.ros.graph_client.GraphClient`); with
    ``phrasings`` (object → instructions) trial t says the object's phrasing t mod N."""
    import time

    if setting not in SETTINGS:
        raise InvalidInputError(f"setting must be one of {SETTINGS}, got {setting!r}")
    unknown = [o for o in objects if o not in OBJECTS]
    if unknown:
        raise InvalidInputError(f"unknown objects {unknown}; known: {', '.join(OBJECTS)}")
    if phrasings is not None and (unsaid := [o for o in objects if o not in phrasings]):
        raise InvalidInputError(f"the instructions file has no phrasings for {', '.join(unsaid)}")
    result = EvalResult(setting, strategy)
    plan = [(o, t) for o in objects for t in range(trials)]
    for obj, t in tqdm(plan, desc=f"sim-eval {setting}", unit="trial", disable=not progress):
        started = time.monotonic()
        trial_seed = seed + 1000 * t + list(OBJECTS).index(obj)
        _scene(client, setting, obj, objects, trial_seed)
        instruction = phrasings[obj][t % len(phrasings[obj])] if phrasings else f"grasp the {obj}"
        response = client.grasp(instruction, strategy)
        if response.success:
            check = client.check_grasp(obj)
            success, reason = check.success, check.message
        else:
            success, reason = False, response.message
        result.trials.append(Trial(obj, t, trial_seed, success, reason, response.strategy_used,
                                   time.monotonic() - started, max(1, int(response.tries)), instruction))
    return result

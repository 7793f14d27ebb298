"""GRPO and GSPO with TRL's ``GRPOTrainer`` and the verifiable rewards of :mod:`training.rewards`.

* GRPO = ``importance_sampling_level="token"``, GSPO = ``"sequence"`` (TRL's GSPO); clip ranges
  ``epsilon`` / ``epsilon_high`` and the KL coefficient ``beta`` come from the run's config.
* Two TRL reward functions, ``format`` and ``task``, weighted ``[α, 1 − α]`` through
  ``reward_weights``: TRL logs each (``rewards/format/mean``, ``rewards/task/mean`` = accuracy)
  and their weighted sum (``reward``). Both read the real parser; ``task`` gets the sample's
  ``task`` and ``annotation`` columns as keyword arguments.
* UniVG-R1 difficulty weighting: :class:`DifficultyGRPOTrainer` multiplies each completion's
  advantage by φ(mean task reward of its group) (:mod:`training.difficulty`), which weights the
  policy term of the loss per sample and leaves the KL term alone, as UniVG-R1 eq. 4.
"""

from __future__ import annotations

import json

import numpy as np
import torch
from trl import GRPOTrainer

from realvlg.grounding.parsing import check_format
from training.difficulty import group_weights
from training.rewards import RewardConfig, compute_reward

IMPORTANCE_SAMPLING = {"grpo": "token", "gspo": "sequence"}


def completion_text(completion) -> str:
    """TRL passes conversational completions as ``[{"role": "assistant", "content": …}]``."""
    if isinstance(completion, str):
        return completion
    content = completion[0]["content"]
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content)
    return content


def reward_functions(config: RewardConfig, segmenter=None) -> list:
    """``[format, task]`` reward callables in TRL's signature (``completions`` + dataset columns).
    ``segmenter`` (seg task): box → mask, given the ``image`` column (default: the filled box)."""

    def format(completions, task, **kwargs) -> list[float]:  # noqa: A001 — TRL logs the function's name
        return [float(check_format(t, completion_text(c))) for c, t in zip(completions, task)]

    def task(completions, task, annotation, image=None, **kwargs) -> list[float]:
        images = image if image is not None else [None] * len(completions)
        return [compute_reward(t, completion_text(c), json.loads(a), config, segmenter=segmenter, image=im).task
                for c, t, a, im in zip(completions, task, annotation, images)]

    return [format, task]


class DifficultyGRPOTrainer(GRPOTrainer):
    """GRPOTrainer with UniVG-R1's difficulty-aware advantage weights (``difficulty`` = the φ name)."""

    def __init__(self, *args, difficulty: str = "exp", accuracy_reward: str = "task", **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.difficulty = difficulty
        self._accuracy_column = self.reward_func_names.index(accuracy_reward)
        self._weights: torch.Tensor | None = None

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards_per_func = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)
        mode = "train" if self.model.training else "eval"
        group = self.num_generations if mode == "train" else self.num_generations_eval
        accuracy = torch.nan_to_num(rewards_per_func[:, self._accuracy_column], nan=0.0).cpu().numpy()
        weights = group_weights(accuracy, group, self.difficulty)
        self._weights = torch.as_tensor(weights, dtype=torch.float32, device=rewards_per_func.device)
        self._metrics[mode]["difficulty_weight/mean"].append(float(np.mean(weights)))
        return rewards_per_func

    def _generate_and_score_completions(self, inputs):
        output = super()._generate_and_score_completions(inputs)
        n = output["advantages"].shape[0]
        start = self.accelerator.process_index * n
        local = self._weights[start:start + n].to(output["advantages"].device)
        output["advantages"] = output["advantages"] * (local if output["advantages"].dim() == 1 else local[:, None])
        return output

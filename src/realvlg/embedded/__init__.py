"""The embedded default model: a small language-conditioned grounding and grasp network."""

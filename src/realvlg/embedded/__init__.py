"""The embedded default model: a small language-conditioned grounding + grasp network and its simulated training data."""

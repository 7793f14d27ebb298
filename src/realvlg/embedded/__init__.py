"""The embedded default model: a small language-conditioned RGB-D grounding + grasp network (issue 8)."""

"""Grounding: from an image and an instruction to a box, mask, rectangle grasp or contact pair."""

"""Grasp planning from 3D data: object clouds to 6-DoF grasps."""

"""ROS-free geometry: camera intrinsics, back-projection, grasp types, 2D→6-DoF lifting, transforms.

Conventions (fixed once for all of realvlg):

* Units: metres and radians. Degrees appear only at the model-answer boundary (the paper's θ).
* Pixels: x (column) to the right, y (row) down; (0, 0) is the centre of the top-left pixel, as in
  OpenCV, ROS ``CameraInfo`` and librealsense.
* Camera frame: REP-103 optical frame, x right, y down, z forward (along the viewing ray).
* Gripper frame: z = approach (from the palm towards the object), y = closing (from one finger to
  the other), x = y × z. graspnetAPI uses x = approach; convert with
  :func:`realvlg.geometry.grasps.to_graspnet_rotation` at its boundary.
"""

"""realvlg: language-instructed robot grasping on ROS 2.

Pure cores (``realvlg.geometry`` and friends) import no rclpy; ``realvlg.ros`` holds the thin
ROS 2 adapters over them.
"""

__version__ = "0.1.0"

"""The ROS 2 layer of realvlg: thin adapters over the ROS-free core.

Only this package imports rclpy or message classes; :mod:`realvlg.ros.conversions` is the one place
that knows message layouts.
"""

"""Dataset loaders (plain Python, no ROS)."""

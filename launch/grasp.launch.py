"""ros2 launch realvlg grasp.launch.py [robot:=sim|franka|ur10e] [camera:=sim|realsense|replay|external] [grounding:=embedded|vlm|oracle]
                                       [hand:=franka|shadow]

Starts the same nodes with the same parameter files as `realvlg up` (both read
realvlg.graph.plan_graph), for machines with a full ROS 2 install (launch, launch_ros): each node
by package + executable (`ros2 run realvlg <node>`), its parameter files from the package's share
directory, respawned as plan_graph's NodeSpec says (``respawn``, ``respawn_delay``). Run records go
under runs/ of the directory ros2 launch was started from.
"""

from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from launch import LaunchDescription
from realvlg.graph import CAMERAS, GROUNDINGS, HANDS, PACKAGE, ROBOTS, plan_graph


def _nodes(context):
    choice = {name: LaunchConfiguration(name).perform(context) for name in ("robot", "camera", "grounding", "hand")}
    return [Node(package=PACKAGE, executable=spec.executable, name=spec.name,
                 parameters=[*spec.params_files, spec.overrides], output="screen",
                 respawn=spec.respawn, respawn_delay=spec.respawn_delay)
            for spec in plan_graph(**choice)]


def generate_launch_description():
    return LaunchDescription([
        DeclareLaunchArgument("robot", default_value="sim", choices=list(ROBOTS)),
        DeclareLaunchArgument("camera", default_value="sim", choices=list(CAMERAS)),
        DeclareLaunchArgument("grounding", default_value="embedded", choices=list(GROUNDINGS)),
        DeclareLaunchArgument("hand", default_value="franka", choices=list(HANDS)),
        OpaqueFunction(function=_nodes),
    ])

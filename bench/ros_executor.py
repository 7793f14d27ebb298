"""CPU burnt by a node's executor while one service callback blocks (as a grasp request does) and
50 Hz pose messages keep arriving: rclpy's MultiThreadedExecutor (the peer) against realvlg's
DispatchingExecutor, in the same run. Prints CPU seconds per wall second of the blocked window."""

import os
import subprocess
import sys

WINDOW = 8.0
NODE = r'''
import sys, threading, time, rclpy
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.executors import MultiThreadedExecutor
from geometry_msgs.msg import PoseStamped
from std_srvs.srv import Trigger
from realvlg.ros.executor import DispatchingExecutor
kind, window = sys.argv[1], float(sys.argv[2])
rclpy.init()
node = rclpy.create_node("exec_bench_" + kind)
group = ReentrantCallbackGroup()
node.create_subscription(PoseStamped, "/bench/pose", lambda m: None, 50, callback_group=group)
pub = node.create_publisher(PoseStamped, "/bench/pose", 50)
def blocked(req, res):
    t0 = time.process_time(); time.sleep(window); res.message = f"{time.process_time() - t0:.3f}"; return res
node.create_service(Trigger, "/bench/block_" + kind, blocked, callback_group=group)
node.create_timer(0.02, lambda: pub.publish(PoseStamped()), callback_group=group)
executor = (MultiThreadedExecutor if kind == "rclpy" else DispatchingExecutor)(num_threads=4)
executor.add_node(node)
threading.Thread(target=executor.spin, daemon=True).start()
client = rclpy.create_node("exec_bench_client_" + kind)
cli = client.create_client(Trigger, "/bench/block_" + kind)
cli.wait_for_service(timeout_sec=30)
future = cli.call_async(Trigger.Request())
rclpy.spin_until_future_complete(client, future, timeout_sec=window + 30)
print("CPU", future.result().message, flush=True)
rclpy.shutdown()
'''


def measure(kind: str) -> float:
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST", ROS_DOMAIN_ID=str(150 + os.getpid() % 50))
    out = subprocess.run([sys.executable, "-c", NODE, kind, str(WINDOW)], capture_output=True, text=True,
                         env=env, timeout=120).stdout
    return float(next(line.split()[1] for line in out.splitlines() if line.startswith("CPU"))) / WINDOW


if __name__ == "__main__":
    rounds = {"rclpy": [], "realvlg": []}
    for _ in range(2):
        for kind in rounds:
            rounds[kind].append(measure(kind))
    peer, ours = min(rounds["rclpy"]), min(rounds["realvlg"])
    print(f"CPU s per s while a callback blocks (best of {len(rounds['rclpy'])}): "
          f"MultiThreadedExecutor {peer:.3f}, DispatchingExecutor {ours:.3f}, ratio {peer / max(ours, 1e-3):.1f}x")

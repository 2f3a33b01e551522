"""What the arm's two rclpy processes (arm_sim.py, arm_expert.py) share: the node start-up
with SIGINT/SIGTERM turned into a stop flag (so they finish what they are doing and exit 0),
the reliable QoS, and seconds as builtin_interfaces sec/nanosec. rclpy is imported inside the
functions: bridge.py and the tests use this package without ROS."""
import signal


def sec_nanosec(t):
    """Seconds as (sec, nanosec), the fields of builtin_interfaces Time and Duration."""
    ns = int(round(t * 1e9))
    return ns // 1_000_000_000, ns % 1_000_000_000


def start_node(name):
    """rclpy up with our own signal handling: (node, stop, reliable), where `stop` becomes
    non-empty on SIGINT/SIGTERM and `reliable` is the QoS of every topic here (depth 10)."""
    import rclpy
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from rclpy.signals import SignalHandlerOptions

    rclpy.init(signal_handler_options=SignalHandlerOptions.NO)
    stop = []
    for s in (signal.SIGINT, signal.SIGTERM):
        signal.signal(s, lambda *_: stop.append(True))
    node = rclpy.create_node(name)
    return node, stop, QoSProfile(depth=10, reliability=ReliabilityPolicy.RELIABLE)

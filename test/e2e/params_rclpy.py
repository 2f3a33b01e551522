"""rclpy (Fast DDS) against ndp_policy's parameter services: list, get, describe, set.

Prints one JSON object with what it saw; exits 1 if the node never answered.
Usage: params_rclpy.py --node /ndp_policy --timeout 30
"""
import argparse
import json
import sys
import time

import rclpy
from rcl_interfaces.msg import Log, Parameter, ParameterEvent, ParameterType, ParameterValue
from rclpy.qos import QoSProfile, ReliabilityPolicy, DurabilityPolicy
from rcl_interfaces.srv import DescribeParameters, GetParameters, ListParameters, SetParameters


def call(node, client, req, timeout):
    if not client.wait_for_service(timeout_sec=timeout):
        raise TimeoutError(f"{client.srv_name}: no service")
    fut = client.call_async(req)
    rclpy.spin_until_future_complete(node, fut, timeout_sec=timeout)
    if not fut.done():
        raise TimeoutError(f"{client.srv_name}: no answer")
    return fut.result()


def value(v):
    t = v.type
    return {
        ParameterType.PARAMETER_BOOL: lambda: v.bool_value,
        ParameterType.PARAMETER_INTEGER: lambda: v.integer_value,
        ParameterType.PARAMETER_DOUBLE: lambda: v.double_value,
        ParameterType.PARAMETER_STRING: lambda: v.string_value,
        ParameterType.PARAMETER_DOUBLE_ARRAY: lambda: list(v.double_array_value),
        ParameterType.PARAMETER_STRING_ARRAY: lambda: list(v.string_array_value),
    }.get(t, lambda: None)()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--node", default="/ndp_policy")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--check", action="store_true",
                    help="assert what every backend must show (test_r2r.sh); exit 1 on failure")
    ap.add_argument("--velocity-max", type=float, default=1.0, help="the node's velocity_max[0]")
    a = ap.parse_args()
    rclpy.init()
    node = rclpy.create_node("params_peer")
    n = a.node
    out = {}
    logs = []
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)
    node.create_subscription(Log, "/rosout", lambda m: logs.append((m.level, m.name, m.msg)), qos)
    events = []
    node.create_subscription(ParameterEvent, "/parameter_events",
                             lambda m: events.append((m.node, [p.name for p in m.changed_parameters])), qos)
    try:
        deadline = time.time() + a.timeout
        lst = call(node, node.create_client(ListParameters, f"{n}/list_parameters"), ListParameters.Request(), a.timeout)
        out["names"] = sorted(lst.result.names)
        get = node.create_client(GetParameters, f"{n}/get_parameters")
        names = ["rate_hz", "velocity_max", "enabled", "use_sim_time"]
        r = call(node, get, GetParameters.Request(names=names), a.timeout)
        out["get"] = {k: value(v) for k, v in zip(names, r.values)}
        d = call(node, node.create_client(DescribeParameters, f"{n}/describe_parameters"),
                 DescribeParameters.Request(names=["rate_hz"]), a.timeout)
        out["describe_type"] = d.descriptors[0].type
        out["describe_description"] = d.descriptors[0].description
        setc = node.create_client(SetParameters, f"{n}/set_parameters")

        def p(name, v):
            return Parameter(name=name, value=v)

        req = SetParameters.Request(parameters=[
            p("velocity_max", ParameterValue(type=ParameterType.PARAMETER_DOUBLE_ARRAY, double_array_value=[0.5] * len(out["get"]["velocity_max"]))),
            p("rate_hz", ParameterValue(type=ParameterType.PARAMETER_DOUBLE, double_value=50.0)),
            p("enabled", ParameterValue(type=ParameterType.PARAMETER_BOOL, bool_value=False)),
        ])
        s = call(node, setc, req, max(1.0, deadline - time.time()))
        out["set"] = [{"ok": x.successful, "reason": x.reason} for x in s.results]
        r = call(node, get, GetParameters.Request(names=names), a.timeout)
        out["after"] = {k: value(v) for k, v in zip(names, r.values)}
        # The node logs each applied change; it must reach /rosout.
        until = time.time() + 10
        while time.time() < until and not any("velocity_max" in m for _, _, m in logs):
            rclpy.spin_once(node, timeout_sec=0.1)
        out["rosout"] = [{"level": l, "name": nm, "msg": m} for l, nm, m in logs if "ndp_policy" in nm]
        out["parameter_events"] = [names for nd, names in events if nd == n]
    except TimeoutError as e:
        out["error"] = str(e)
        print(json.dumps(out))
        sys.exit(1)
    finally:
        node.destroy_node()
        rclpy.shutdown()
    print(json.dumps(out))
    if a.check:
        fails = check(out, a.velocity_max)
        for f in fails:
            print(f"params_rclpy: {f}", file=sys.stderr)
        sys.exit(1 if fails else 0)


def check(out, vmax):
    """What a ROS user sees of any backend's parameters: every parameter listed with its
    value, a description with the range, run-time ones set, start-up ones refused with the
    reason, the change applied and logged on /rosout."""
    fails = []
    for want in ["checkpoint", "rate_hz", "velocity_max", "enabled", "use_sim_time", "joint_names"]:
        if want not in out["names"]:
            fails.append(f"{want} not listed: {out['names']}")
    if out["get"]["rate_hz"] != 100.0 or out["get"]["enabled"] is not True:
        fails.append(f"values read back: {out['get']}")
    if out["get"]["velocity_max"][0] != vmax:
        fails.append(f"velocity_max {out['get']['velocity_max']}")
    if "range:" not in out["describe_description"] or "ticks per second" not in out["describe_description"]:
        fails.append(f"rate_hz described as {out['describe_description']!r}")
    ok = [x["ok"] for x in out["set"]]
    if ok != [True, False, True]:
        fails.append(f"set velocity_max, rate_hz, enabled: {out['set']}")
    elif "start-up only" not in out["set"][1]["reason"]:
        fails.append(f"rate_hz refused with {out['set'][1]['reason']!r}")
    if out["after"]["velocity_max"][0] != 0.5 or out["after"]["enabled"] is not False or \
            out["after"]["rate_hz"] != 100.0:
        fails.append(f"after set: {out['after']}")
    if not any("velocity_max" in r["msg"] for r in out["rosout"]):
        fails.append(f"the node's log line of the change is not on /rosout: {out['rosout']}")
    return fails


if __name__ == "__main__":
    main()

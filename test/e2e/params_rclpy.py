"""rclpy (Fast DDS) against ndp_policy's parameter services: list, get, describe, set.

Prints one JSON object with what it saw; exits 1 if the node never answered.
Usage: params_rclpy.py --node /ndp_policy --timeout 30
"""
import argparse
import json
import sys
import time

import rclpy
from rcl_interfaces.msg import Log, Parameter, ParameterType, ParameterValue
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
    a = ap.parse_args()
    rclpy.init()
    node = rclpy.create_node("params_peer")
    n = a.node
    out = {}
    logs = []
    qos = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.VOLATILE)
    node.create_subscription(Log, "/rosout", lambda m: logs.append((m.level, m.name, m.msg)), qos)
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
    except TimeoutError as e:
        out["error"] = str(e)
        print(json.dumps(out))
        sys.exit(1)
    finally:
        node.destroy_node()
        rclpy.shutdown()
    print(json.dumps(out))


if __name__ == "__main__":
    main()

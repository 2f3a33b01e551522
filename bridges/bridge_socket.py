"""The trainer's bridge socket protocol, server side, shared by every simulator bridge
(bridges/mujoco/bridge.py, bridges/ros_arm/bridge.py; the client is src/env/bridge.rs):
newline-delimited JSON over a Unix socket, one reply per request, `{"op":"close"}` ends it.
Any failure is answered with {"error": "..."} and the bridge keeps serving. Standard library
only, so that importing it costs nothing."""
import json
import math
import os
import socket


def clean(values):
    """Numbers for JSON, which has no NaN or Inf: non-finite values travel as null."""
    return [float(v) if math.isfinite(v) else None for v in values]


def serve(path, handle):
    """Waits for the one trainer connection on the Unix socket `path` and answers its requests
    with `handle(request_dict) -> reply_dict` until it closes or says close."""
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    conn, _ = server.accept()
    server.close()
    os.unlink(path)
    reader = conn.makefile("r", encoding="utf-8")
    writer = conn.makefile("w", encoding="utf-8")
    for line in reader:
        try:
            req = json.loads(line)
            if not isinstance(req, dict):
                raise ValueError("a request is a JSON object")
            if req.get("op") == "close":
                break
            reply = handle(req)
        except Exception as e:  # the trainer gets the error; the bridge keeps serving
            reply = {"error": f"{type(e).__name__}: {e}"}
        writer.write(json.dumps(reply, allow_nan=False) + "\n")
        writer.flush()
    conn.close()

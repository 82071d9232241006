"""Independent mask subscriber for the daemon tests (pyzmq + pycocotools, no ReferStream code).

usage: subscriber.py ENDPOINT [--stall]

Subscribes to every mask and event topic and prints one JSON line per message, flushed at once:
  {"kind": "mask", "topic": ..., "header": {...}, "shape": [h, w], "area": n, "rle_area": n}
      shape/area: the payload decoded by pycocotools.mask.decode; rle_area: pycocotools.mask.area
  {"kind": "event", "topic": ..., "event": {...}}
  {"kind": "error", "message": ...} for a message that breaks the protocol.
Prints "READY" once subscribed. Runs until killed.

--stall: subscribe, then never read (a slow subscriber); prints READY and sleeps.
"""
import json
import os
import sys
import threading
import time

import numpy as np
import zmq
from pycocotools import mask as mask_utils

endpoint = sys.argv[1]

# Never outlive the test that started us: exit once the parent is gone (we were re-parented), even when a
# test failed before it could kill us.
_parent = os.getppid()


def _exit_when_orphaned():
    while True:
        time.sleep(1)
        if os.getppid() != _parent:
            os._exit(0)


threading.Thread(target=_exit_when_orphaned, daemon=True).start()
stall = "--stall" in sys.argv[2:]

context = zmq.Context.instance()
sock = context.socket(zmq.SUB)
sock.setsockopt(zmq.LINGER, 0)
if stall:
    # The smallest buffers, so that the daemon's high-water mark for this subscriber is reached at once.
    sock.setsockopt(zmq.RCVHWM, 1)
    sock.setsockopt(zmq.RCVBUF, 4096)
sock.setsockopt(zmq.SUBSCRIBE, b"masks/")
sock.setsockopt(zmq.SUBSCRIBE, b"events/")
sock.connect(endpoint)
print("READY", flush=True)

if stall:
    while True:
        time.sleep(3600)


def emit(obj):
    sys.stdout.write(json.dumps(obj, sort_keys=True) + "\n")
    sys.stdout.flush()


while True:
    frames = sock.recv_multipart()
    topic = frames[0].decode("utf-8", "replace")
    try:
        if topic.startswith("masks/"):
            if len(frames) != 3:
                emit({"kind": "error", "message": "mask message with %d frames" % len(frames)})
                continue
            header = json.loads(frames[1])
            h, w = header["height"], header["width"]
            if header["encoding"] == "rle":
                rle = {"size": [h, w], "counts": frames[2]}
                decoded = mask_utils.decode(rle)
                emit({"kind": "mask", "topic": topic, "header": header, "shape": list(decoded.shape),
                      "area": int(decoded.sum()), "rle_area": int(mask_utils.area(rle)),
                      "received": time.time()})
            elif header["encoding"] == "bits":
                bits = np.unpackbits(np.frombuffer(frames[2], dtype=np.uint8))[: h * w].reshape(h, w)
                emit({"kind": "mask", "topic": topic, "header": header, "shape": [h, w], "area": int(bits.sum()),
                      "rle_area": int(bits.sum()), "received": time.time()})
            else:
                emit({"kind": "mask", "topic": topic, "header": header, "shape": None, "area": None, "rle_area": None,
                      "received": time.time()})
        elif topic.startswith("events/"):
            emit({"kind": "event", "topic": topic, "event": json.loads(frames[1])})
    except Exception as error:  # noqa: BLE001 - report anything as a protocol error line
        emit({"kind": "error", "message": "%s: %r" % (topic, error)})

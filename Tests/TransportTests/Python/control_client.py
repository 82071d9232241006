"""Independent control client for the transport tests (pyzmq only, no ReferStream code).

usage: control_client.py ENDPOINT

Sends, on one REQ socket, each request of the list below (raw bytes, valid and invalid) and prints one
JSON line per reply: {"sent": <index>, "reply": <the parsed reply>}. Exits 2 on a 10 s timeout.
"""
import json, sys

import zmq

REQUESTS = [
    b'{"id": 1, "command": "phrase.add", "params": {"stream": "cam0", "text": "a person riding a horse", "id": "py1"}}',
    b'{"id": "two", "command": "phrase.list", "params": {"stream": "cam0"}}',
    b'\xff\xfe not utf-8',
    b'this is not json',
    b'{"id": 5, "command": "phrase.fly"}',
    b'{"id": 6, "command": "phrase.remove", "params": {"id": "py1"}}',
]

sock = zmq.Context.instance().socket(zmq.REQ)
sock.setsockopt(zmq.RCVTIMEO, 10000)
sock.setsockopt(zmq.LINGER, 0)
sock.connect(sys.argv[1])
for index, request in enumerate(REQUESTS):
    sock.send(request)
    try:
        reply = sock.recv()
    except zmq.Again:
        print("timeout", flush=True)
        sys.exit(2)
    print(json.dumps({"sent": index, "reply": json.loads(reply)}), flush=True)

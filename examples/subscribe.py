# Print every mask the ReferStream daemon publishes: python examples/subscribe.py [tcp://127.0.0.1:5561]
import json, sys, time
import zmq, pycocotools.mask as cocomask

sub = zmq.Context().socket(zmq.SUB)
sub.connect(sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5561")
sub.setsockopt(zmq.SUBSCRIBE, b"masks/")          # or b"masks/cam0/" for one stream
while True:
    topic, header, payload = sub.recv_multipart()
    h = json.loads(header)                       # docs/protocol.md lists the fields
    mask = cocomask.decode({"size": [h["height"], h["width"]], "counts": payload})  # uint8 HxW, 0/1
    print(topic.decode(), "seq", h["seq"], "frame", h["frame"], "area", int(mask.sum()),
          f"age {1000 * (time.time() - h['capture_time']):.0f} ms")

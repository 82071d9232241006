"""Independent mask subscriber for the transport tests (pyzmq + pycocotools + numpy, no ReferStream code).

usage: decode_masks.py ENDPOINT COUNT

Subscribes to `masks/`, prints `ready` once a mask of the stream `warmup` has arrived (the test keeps
publishing those until then: ZeroMQ's slow-joiner rule), then decodes the next COUNT masks of other
streams and prints one JSON line for each: the topic, the header as received, and the decoded mask as
row-major packed bits (np.packbits, base64), its shape and its area. Exits 2 when nothing arrives for 20 s.
"""
import base64, json, struct, sys, zlib

import numpy as np
import pycocotools.mask as cocomask
import zmq


def decode_png(data):
    # 8-bit greyscale or RGB, non-interlaced, filter type 0 on every row (what ReferStream writes);
    # anything else is reported as an error rather than guessed.
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0], "bad CRC"
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour == 0 and interlace == 0, (depth, colour, interlace)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, width + 1)
    assert (rows[:, 0] == 0).all(), "unexpected row filter"
    values = rows[:, 1:]
    assert set(np.unique(values)) <= {0, 255}, "PNG mask values other than 0/255"
    return (values == 255).astype(np.uint8)


def main():
    endpoint, count = sys.argv[1], int(sys.argv[2])
    sub = zmq.Context.instance().socket(zmq.SUB)
    sub.setsockopt(zmq.RCVHWM, 0)
    sub.setsockopt(zmq.RCVTIMEO, 20000)
    sub.setsockopt(zmq.SUBSCRIBE, b"masks/")
    sub.connect(endpoint)
    ready = False
    done = 0
    while done < count:
        try:
            topic, header, payload = sub.recv_multipart()
        except zmq.Again:
            print("timeout", flush=True)
            sys.exit(2)
        h = json.loads(header)
        if h["stream"] == "warmup":
            if not ready:
                ready = True
                print("ready", flush=True)
            continue
        if h["encoding"] == "rle":
            m = cocomask.decode({"size": [h["height"], h["width"]], "counts": payload})
        elif h["encoding"] == "bits":
            m = np.unpackbits(np.frombuffer(payload, np.uint8), count=h["height"] * h["width"]).reshape(h["height"], h["width"])
        elif h["encoding"] == "png":
            m = decode_png(payload)
        else:
            raise SystemExit("unknown encoding " + h["encoding"])
        m = np.ascontiguousarray(m, dtype=np.uint8)
        print(json.dumps({
            "topic": topic.decode(),
            "header": h,
            "shape": list(m.shape),
            "area": int(m.sum()),
            "packed": base64.b64encode(np.packbits(m.ravel()).tobytes()).decode(),
        }), flush=True)
        done += 1


if __name__ == "__main__":
    main()

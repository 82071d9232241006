"""Fetches the daemon's /metrics and /healthz with the standard library and parses the metrics with
prometheus_client's text parser (an independent reader of the exposition format).

usage: scrape.py HOST:PORT
Prints one JSON object: {"metrics": {"name{label=value,...}": value, ...}, "types": {family: type},
"health_status": <HTTP status>, "health": <the /healthz JSON>}. Exits 1 when /metrics does not parse.
"""
import json
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families

base = "http://" + sys.argv[1]
text = urllib.request.urlopen(base + "/metrics", timeout=10).read().decode("utf-8")
samples, types = {}, {}
try:
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for sample in family.samples:
            labels = ",".join("%s=%s" % (k, v) for k, v in sorted(sample.labels.items()))
            samples["%s{%s}" % (sample.name, labels)] = sample.value
except Exception as error:  # noqa: BLE001
    print(json.dumps({"error": "metrics do not parse: %r" % error}))
    sys.exit(1)
try:
    response = urllib.request.urlopen(base + "/healthz", timeout=10)
    status, body = response.status, response.read()
except urllib.error.HTTPError as error:
    status, body = error.code, error.read()
print(json.dumps({"metrics": samples, "types": types, "health_status": status, "health": json.loads(body)}, sort_keys=True))

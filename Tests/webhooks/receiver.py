#!/usr/bin/env python3
"""Webhook receiver for the end-to-end tests (Tests/CSTestSupport/WebhookReceiver.swift).

Records every request (POST, or GET), in the order it arrived, as one JSON line in LOG (flushed at once):
{"n": <1...>, "path", "eventId", "timestamp", "signature", "body", "status"}. What it answers
depends on the path:
  /ok/...            200
  /fail<K>/...       500 for the first K requests to this path, then 200
  /slow<MS>/...      waits MS milliseconds, then 200
  /always500/...     500
  /redirect/...      302 to http://127.0.0.1:<port of /ok on the same server>/ok/redirected
  /big/...           200 with a 5 MB body
Threaded: a slow request does not hold the others. Usage: receiver.py PORT LOG
"""
import json
import re
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])
LOG = sys.argv[2]
lock = threading.Lock()
counts = {}
n = [0]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        first = self.path.split("/")[1] if self.path.count("/") >= 1 else ""
        with lock:
            counts[self.path] = counts.get(self.path, 0) + 1
            seen = counts[self.path]
        status, extra, payload = 200, {}, b"ok"
        m = re.fullmatch(r"fail(\d+)", first)
        s = re.fullmatch(r"slow(\d+)", first)
        if m and seen <= int(m.group(1)):
            status = 500
        elif first == "always500":
            status = 500
        elif s:
            time.sleep(int(s.group(1)) / 1000)
        elif first == "redirect":
            status, extra = 302, {"Location": "http://127.0.0.1:%d/ok/redirected" % PORT}
        elif first == "big":
            payload = b"x" * (5 * 1024 * 1024)
        with lock:
            n[0] += 1
            record = {
                "n": n[0], "path": self.path, "eventId": self.headers.get("X-CS-Event-Id"),
                "timestamp": self.headers.get("X-CS-Timestamp"), "signature": self.headers.get("X-CS-Signature"),
                "body": body, "status": status,
            }
            with open(LOG, "a") as f:
                f.write(json.dumps(record) + "\n")
                f.flush()
        self.send_response(status)
        for k, v in extra.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        try:
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # A followed redirect may come as a GET: recorded the same way.
    do_GET = do_POST


ThreadingHTTPServer.allow_reuse_address = True
ThreadingHTTPServer.daemon_threads = True
server = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
print("listening", PORT, flush=True)
server.serve_forever()

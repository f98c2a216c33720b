#!/usr/bin/env python3
"""Redis memory with and without the archive (docs/benchmarks.md, "Archive: Redis memory").

Opens and closes N conversations, twice, each time against a fresh redis-server, one
cs-dispatcher and (second run) one cs-archiver with a fresh PostgreSQL:

  without: no archiver: every closed conversation stays in Redis (as before issue 19);
  with:    cs-archiver with --hot-window-seconds 0 and the dispatcher's rating window at
           --rating-window-seconds W: each archived conversation expires at its rateUntil.

Conversations are driven through the inbound streams, as gateways write them (a customer
`msg` opens one, a customer `close` without a conversation id closes it), so no gateway or
WebSocket client is needed. Prints used_memory (bytes, INFO memory) before, after the closes,
and after archiving and expiry; and the number of keys.

  scripts/measure-archive-memory.py [--conversations 2000] [--rating-window 5]

Needs CS_BIN_DIR (default: swift build --show-bin-path), redis-server, PostgreSQL binaries.
"""
import argparse
import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PARTITIONS = 8


def fnv1a(text):
    h = 2166136261
    for b in text.encode():
        h ^= b
        h = (h * 16777619) & 0xFFFFFFFF
    return h


class Redis:
    """A minimal RESP client: enough for pipelined XADDs and INFO."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""

    def _encode(self, args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _read(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind in (b"+", b":"):
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode()
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RuntimeError("bad reply %r" % line)

    def pipeline(self, commands):
        self.sock.sendall(b"".join(self._encode(c) for c in commands))
        return [self._read() for _ in commands]

    def call(self, *args):
        return self.pipeline([args])[0]

    def info_int(self, section, field):
        for line in self.call("INFO", section).splitlines():
            if line.startswith(field + ":"):
                return int(line.split(":", 1)[1])
        return 0


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait(what, predicate, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise SystemExit("timed out waiting for " + what)


def start_postgres(workdir):
    bindir = max(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    data = os.path.join(workdir, "pg")
    prefix = []
    if os.getuid() == 0:
        user = pwd.getpwnam("postgres") if "postgres" in [p.pw_name for p in pwd.getpwall()] else pwd.getpwnam("nobody")
        os.chown(workdir, user.pw_uid, user.pw_gid)
        prefix = ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid, "--clear-groups", "--"]
    subprocess.run(prefix + [bindir + "/initdb", "-D", data, "-U", "cs", "--auth=trust", "--no-sync"],
                   check=True, stdout=subprocess.DEVNULL, cwd="/tmp")
    port = free_port()
    proc = subprocess.Popen(prefix + [bindir + "/postgres", "-D", data, "-p", str(port), "-k", workdir,
                                      "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"],
                            stdout=open(os.path.join(workdir, "postgres.log"), "w"), stderr=subprocess.STDOUT, cwd="/tmp")
    url = "postgres://cs@127.0.0.1:%d/postgres" % port
    wait("postgres", lambda: subprocess.run(["psql", url, "-Atc", "SELECT 1"], capture_output=True).returncode == 0)
    return proc, url


def count(url, sql):
    out = subprocess.run(["psql", url, "-Atc", sql], capture_output=True, text=True)
    return int(out.stdout.strip() or -1) if out.returncode == 0 else -1


def run(bindir, n, rating_window, archive):
    workdir = tempfile.mkdtemp(prefix="cs-archive-mem-")
    procs = []
    try:
        port = free_port()
        procs.append(subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                       "--appendonly", "no", "--dir", workdir], stdout=subprocess.DEVNULL))
        wait("redis", lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).stdout.strip() == b"PONG")
        redis_url = "redis://127.0.0.1:%d" % port
        r = Redis(port)
        logs = open(os.path.join(workdir, "processes.log"), "w")
        procs.append(subprocess.Popen([bindir + "/cs-dispatcher", "--redis-url", redis_url, "--dispatcher-id", "d-mem",
                                       "--partitions", str(PARTITIONS), "--rating-window-seconds", str(rating_window),
                                       "--log-level", "warning"], stdout=logs, stderr=logs))
        pg_url = None
        if archive:
            pg, pg_url = start_postgres(workdir)
            procs.append(pg)
            procs.append(subprocess.Popen([bindir + "/cs-archiver", "--redis-url", redis_url, "--database-url", pg_url,
                                           "--archiver-id", "a-mem", "--hot-window-seconds", "0", "--batch", "100",
                                           "--log-level", "warning"], stdout=logs, stderr=logs))
        wait("dispatcher leases", lambda: r.call("EXISTS", "cs:{p0}:lease") == "1")
        time.sleep(1)
        baseline = r.info_int("memory", "used_memory")
        customers = ["v_mem%09d" % i for i in range(n)]
        t0 = time.time()
        # In rounds of 100: every close re-publishes the queue positions of everyone still
        # waiting, so a few thousand waiting at once would make this quadratic.
        for first in range(0, n, 100):
            group = customers[first:first + 100]
            for kind in ("msg", "close"):
                commands = []
                for c in group:
                    stream = "cs:{p%d}:in" % (fnv1a(c) % PARTITIONS)
                    fields = ["k", kind, "u", c, "r", "customer", "n", "Mem"]
                    if kind == "msg":
                        fields += ["cid", "m-" + c, "b", "a message of about sixty characters, like a real first one"]
                    else:
                        fields += ["cid", "x-" + c]
                    commands.append(["XADD", stream, "*"] + fields)
                r.pipeline(commands)
                # The customer's open-conversation key exists from the open to the close.
                want = len(group) if kind == "msg" else 0
                wait("conversations " + ("open" if kind == "msg" else "closed"),
                     lambda: sum(int(x) for x in r.pipeline([["EXISTS", "cs:{u:%s}:conv" % c] for c in group])) == want,
                     timeout=300)
        time.sleep(2)
        after_close = r.info_int("memory", "used_memory")
        keys_after_close = int(r.call("DBSIZE"))
        closing_seconds = time.time() - t0
        after = after_close
        keys_after = keys_after_close
        if archive:
            wait("archived", lambda: count(pg_url, "SELECT count(*) FROM cs_conversations") >= n, timeout=600)
            # Expiry: at rateUntil (closedAt + rating window); Redis' active expiry then removes them.
            time.sleep(rating_window + 3)
            # Every conversation's meta, log and dedup gone (a few dozen other keys remain).
            wait("expired", lambda: int(r.call("DBSIZE")) < 100, timeout=120)
            time.sleep(2)
            after = r.info_int("memory", "used_memory")
            keys_after = int(r.call("DBSIZE"))
        return dict(archive=archive, baseline=baseline, after_close=after_close, keys_after_close=keys_after_close,
                    after=after, keys_after=keys_after, seconds=round(closing_seconds, 1),
                    archived=count(pg_url, "SELECT count(*) FROM cs_conversations") if archive else 0,
                    entries=count(pg_url, "SELECT count(*) FROM cs_entries") if archive else 0)
    finally:
        for p in reversed(procs):
            p.terminate()
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(workdir, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--rating-window", type=int, default=5)
    args = parser.parse_args()
    bindir = os.environ.get("CS_BIN_DIR") or subprocess.run(["swift", "build", "--show-bin-path"], capture_output=True,
                                                            text=True, check=True).stdout.strip()
    for archive in (False, True):
        result = run(bindir, args.conversations, args.rating_window, archive)
        print(("with archiver   " if archive else "without archiver") +
              "  used_memory: baseline %(baseline)d, after %(n)d closes %(after_close)d (%(keys_after_close)d keys), "
              "at the end %(after)d (%(keys_after)d keys); archived %(archived)d conversations, %(entries)d entries"
              % dict(result, n=args.conversations))
        sys.stdout.flush()


if __name__ == "__main__":
    main()

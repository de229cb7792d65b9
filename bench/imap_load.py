# IMAP logins per second for bench/dovecot (not a test, never pass/fail).
#
#   imap_load.py PORT USER CLIENTS SECONDS
#
# The password comes from the environment (MAIL_PW), never the command line.
# CLIENTS threads each repeat, for SECONDS: connect to 127.0.0.1:PORT, read
# the greeting, `a LOGIN USER PASSWORD`, `b LOGOUT`, close. A login counts
# when the server answered `a OK`. Prints one line of JSON: logins,
# refused, errors, seconds, logins_per_s, p50_ms, p99_ms (of the whole
# connect-to-close of a login). Exit 0 when every login was accepted, 1
# otherwise: a refused login must never be timed as a fast one.
import json
import os
import socket
import sys
import threading
import time

HOST = "127.0.0.1"


def quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_line(f):
    line = f.readline()
    if not line:
        raise ConnectionError("connection closed")
    return line.decode("utf-8", "replace")


def one_login(port, login_cmd):
    with socket.create_connection((HOST, port), timeout=30) as s:
        f = s.makefile("rb")
        greeting = read_line(f)
        if not greeting.startswith("* OK"):
            raise ConnectionError("greeting: " + greeting.strip())
        s.sendall(login_cmd)
        while True:
            line = read_line(f)
            if line.startswith("a "):
                break
        ok = line.startswith("a OK")
        s.sendall(b"b LOGOUT\r\n")
        while True:
            line = read_line(f)
            if line.startswith("b "):
                break
        return ok, line


def main():
    port, user, clients, seconds = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    pw = os.environ["MAIL_PW"]
    login_cmd = ("a LOGIN %s %s\r\n" % (quote(user), quote(pw))).encode()
    lock = threading.Lock()
    times = []
    counts = {"refused": 0, "errors": 0}
    last_error = []
    deadline = time.monotonic() + seconds

    def worker():
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            try:
                ok, _ = one_login(port, login_cmd)
            except (OSError, ConnectionError) as e:
                with lock:
                    counts["errors"] += 1
                    last_error[:] = [str(e)]
                continue
            dt = time.monotonic() - t0
            with lock:
                if ok:
                    times.append(dt)
                else:
                    counts["refused"] += 1

    start = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    times.sort()

    def pct(q):
        if not times:
            return 0.0
        return times[min(len(times) - 1, max(0, int(q * len(times) + 0.999999) - 1))] * 1e3

    result = {
        "logins": len(times),
        "refused": counts["refused"],
        "errors": counts["errors"],
        "seconds": round(elapsed, 3),
        "logins_per_s": round(len(times) / elapsed, 1),
        "p50_ms": round(pct(0.50), 2),
        "p99_ms": round(pct(0.99), 2),
    }
    if last_error:
        result["last_error"] = last_error[0]
    print(json.dumps(result))
    return 0 if counts["refused"] == 0 and counts["errors"] == 0 and times else 1


if __name__ == "__main__":
    sys.exit(main())

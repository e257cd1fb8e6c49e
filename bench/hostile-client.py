#!/usr/bin/env python3
"""Hostile HTTP clients for bench/run-hostile (not run on its own): each mode attacks a metric server on a
Unix socket (an absolute path) or a TCP host:port for a bounded time, then closes everything it opened and
prints one line of what it saw. Only the standard library, so the benchmark needs nothing else installed.

Usage: hostile-client.py MODE TARGET SECONDS [N]
Modes:
  idle N         hold N connections that send nothing
  slowloris N    hold N connections that send a request one header byte per second, never finishing it
  nonreader N    N connections that each send 16 pipelined GET /metrics and never read
  pipeline N     N connections that each send 100 pipelined GET /runsc-metrics/pid and read everything:
                 the server must answer the excess with 429 (or 503) before closing, not reset
  badhttp        garbage request lines, HTTP/2.0 and HTTP/0.9, 1 MB URIs, 10,000 headers, in a loop
  regex          /metrics with regular-expression bombs in both filters, two at a time, in a loop
"""
import os
import resource
import socket
import sys
import threading
import time
import urllib.parse


def connect(target):
    if target.startswith("/"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(target)
    else:
        host, port = target.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    return s


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def hold(target, seconds, n, send=None):
    """Opens up to n connections (fewer if the server or our fd limit refuses) and keeps them."""
    conns = []
    refused = 0
    for _ in range(n):
        try:
            s = connect(target)
            s.setblocking(True)
            if send:
                s.sendall(send)
            conns.append(s)
        except OSError:
            refused += 1
    return conns, refused


def count_closed(conns):
    closed = 0
    for s in conns:
        try:
            s.setblocking(False)
            if s.recv(1 << 16) == b"":
                closed += 1
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
    return closed


def mode_idle(target, seconds, n):
    conns, refused = hold(target, seconds, n)
    time.sleep(seconds)
    closed = count_closed(conns)
    for s in conns:
        s.close()
    print(f"opened {len(conns)}, refused at connect {refused}, closed by the server {closed}")


def mode_slowloris(target, seconds, n):
    conns, refused = hold(target, seconds, n, b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        for s in conns:
            try:
                s.send(b"X")
            except OSError:
                pass
        time.sleep(1)
    closed = count_closed(conns)
    for s in conns:
        s.close()
    print(f"opened {len(conns)}, refused {refused}, closed by the server {closed}")


def mode_nonreader(target, seconds, n):
    conns, refused = [], 0
    for _ in range(n):
        try:
            s = connect(target)
            if not target.startswith("/"):
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 16)
            conns.append(s)
        except OSError:
            refused += 1
    time.sleep(seconds)
    for s in conns:
        s.close()
    print(f"{len(conns)} connections with 16 pipelined GET /metrics each, never read")


def mode_pipeline(target, seconds, n):
    end = time.monotonic() + seconds
    results = {"429": 0, "reset": 0, "rounds": 0}
    lock = threading.Lock()

    def one():
        while time.monotonic() < end:
            try:
                s = connect(target)
                s.sendall(b"GET /runsc-metrics/pid HTTP/1.1\r\nHost: x\r\n\r\n" * 100)
                data = b""
                s.settimeout(30)
                try:
                    while True:
                        b = s.recv(1 << 16)
                        if not b:
                            break
                        data += b
                    outcome = "429" if (b" 429 " in data or b" 503 " in data) else "reset"
                except ConnectionResetError:
                    outcome = "429" if (b" 429 " in data or b" 503 " in data) else "reset"
                s.close()
            except OSError:
                outcome = "reset"
            with lock:
                results[outcome] += 1
                results["rounds"] += 1

    threads = [threading.Thread(target=one) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(f"{results['rounds']} rounds of 100 pipelined requests: {results['429']} ended with 429/503, "
          f"{results['reset']} without")


def one_shot(target, payload, timeout=10):
    try:
        s = connect(target)
        s.settimeout(timeout)
        s.sendall(payload)
        data = s.recv(64)
        s.close()
        return data.split(b" ")[1].decode() if data.startswith(b"HTTP/") else "closed"
    except OSError:
        return "error"


def mode_badhttp(target, seconds, n):
    payloads = [
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
        b"GET /metrics HTTP/2.0\r\nHost: x\r\n\r\n",
        b"GET /metrics HTTP/0.9\r\n\r\n",
        b"GET /" + b"a" * (1 << 20) + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\n" + b"X-A: b\r\n" * 10000 + b"\r\n",
        b"BREW /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\nabc",
    ]
    end = time.monotonic() + seconds
    seen = {}
    while time.monotonic() < end:
        for p in payloads:
            status = one_shot(target, p, max(1.0, end - time.monotonic() + 5))
            seen[status] = seen.get(status, 0) + 1
    print("answers: " + ", ".join(f"{k}x{v}" for k, v in sorted(seen.items())))


def mode_regex(target, seconds, n):
    bombs = ["((a{1000}){1000}){3}", "(((a{100}){100}){100}){100}", "(a*)*" * 200, "[a-z]{1000}" * 30]
    end = time.monotonic() + seconds
    seen = {}
    lock = threading.Lock()

    def loop(param):
        i = 0
        while time.monotonic() < end:
            q = urllib.parse.quote(bombs[i % len(bombs)], safe="")
            i += 1
            # Bounded by the attack's time (plus a little), so the run's length does not depend on the server.
            left = max(1.0, end - time.monotonic() + 5)
            status = one_shot(target, f"GET /metrics?{param}={q} HTTP/1.1\r\nHost: x\r\n\r\n".encode(), left)
            with lock:
                seen[status] = seen.get(status, 0) + 1

    threads = [threading.Thread(target=loop, args=(p,))
               for p in ("runsc-sandbox-metrics-filter", "runsc-capability-filter")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("answers: " + ", ".join(f"{k}x{v}" for k, v in sorted(seen.items())))


def main():
    mode, target, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    raise_fd_limit()
    globals()["mode_" + mode](target, seconds, n)


if __name__ == "__main__":
    main()

"""A small HTTP load generator: N threads, keep-alive connections, a fixed duration. Run in its own process.

    python -m bench.loadgen SPEC.json   ->  prints one JSON object: p50/p95/mean ms, requests/s, status counts
                                            (and every latency, sorted, when the spec says "latencies": true)

SPEC: {"host", "port", "duration", "clients": [{"method", "path", "cookie", "form_from": path or null}]}.
A client with ``form_from`` first GETs that page, takes its CSRF token and the first choice of every radio group,
and POSTs that form to ``path`` over and over (an intake step submit). Redirects are not followed.
"""

from __future__ import annotations

import http.client
import json
import re
import statistics
import sys
import threading
import time
from urllib.parse import urlencode

RADIO = re.compile(r'<input[^>]*type="radio"[^>]*>')
NAME = re.compile(r'name="([^"]+)"')
VALUE = re.compile(r'value="([^"]*)"')
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


class Client:
    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.conn: http.client.HTTPConnection | None = None

    def request(self, method: str, path: str, body: str | None = None) -> tuple[int, bytes, list]:
        headers = {"Cookie": self.cookie, "Connection": "keep-alive", "Host": f"{self.host}:{self.port}"}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
            try:
                self.conn.request(method, path, body=body, headers=headers)
                resp = self.conn.getresponse()
                data = resp.read()
                if resp.will_close:
                    self.conn.close()
                    self.conn = None
                return resp.status, data, resp.getheaders()
            except (http.client.HTTPException, OSError):
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def prepare_form(client: Client, page: str) -> str:
    status, data, headers = client.request("GET", page)
    if status != 200:
        raise RuntimeError(f"GET {page} answered {status}")
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("csrftoken="):
            client.cookie += "; " + value.split(";", 1)[0]
    html = data.decode()
    token = CSRF.search(html)
    fields: dict[str, str] = {"csrfmiddlewaretoken": token.group(1) if token else ""}
    for tag in RADIO.findall(html):
        name, value = NAME.search(tag), VALUE.search(tag)
        if name and value and name.group(1) not in fields:
            fields[name.group(1)] = value.group(1)
    fields["action"] = "next"
    return urlencode(fields)


def run(spec: dict) -> dict:
    host, port, duration = spec["host"], spec["port"], spec["duration"]
    latencies: list[list[float]] = [[] for _ in spec["clients"]]
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    ready = threading.Barrier(len(spec["clients"]) + 1)
    window: dict[str, float] = {}
    failures: list[str] = []

    def worker(i: int, c: dict) -> None:
        client = Client(host, port, c.get("cookie", ""))
        try:
            body = prepare_form(client, c["form_from"]) if c.get("form_from") else None
            client.request(c["method"], c["path"], body)  # warm the connection and the worker
        except Exception as exc:  # noqa: BLE001 - reported, and the others still run
            with lock:
                failures.append(repr(exc))
            ready.wait()
            return
        ready.wait()
        mine = latencies[i]
        local: dict[int, int] = {}
        while time.perf_counter() < window["end"]:
            t0 = time.perf_counter()
            try:
                status, _, _ = client.request(c["method"], c["path"], body)
            except Exception:  # noqa: BLE001 - a failed request is counted, not fatal
                status = 0
            mine.append(time.perf_counter() - t0)
            local[status] = local.get(status, 0) + 1
        with lock:
            for k, v in local.items():
                statuses[k] = statuses.get(k, 0) + v

    threads = [
        threading.Thread(target=worker, args=(i, c), daemon=True) for i, c in enumerate(spec["clients"])
    ]
    for t in threads:
        t.start()
    window["end"] = float("inf")
    ready.wait()
    began = time.perf_counter()
    window["end"] = began + duration
    for t in threads:
        t.join(duration + 60)
    elapsed = time.perf_counter() - began
    every = sorted(x for lat in latencies for x in lat)
    if not every:
        return {"requests": 0, "statuses": statuses, "failures": failures[:3]}
    return {
        "requests": len(every),
        "seconds": round(elapsed, 2),
        "rps": round(len(every) / elapsed, 1),
        "p50_ms": round(every[len(every) // 2] * 1000, 1),
        "p95_ms": round(every[min(len(every) - 1, int(len(every) * 0.95))] * 1000, 1),
        "mean_ms": round(statistics.fmean(every) * 1000, 1),
        "statuses": {str(k): v for k, v in sorted(statuses.items())},
        "failures": failures[:3],
        **({"latencies_ms": [round(x * 1000, 2) for x in every]} if spec.get("latencies") else {}),
    }


if __name__ == "__main__":
    with open(sys.argv[1]) as fh:
        print(json.dumps(run(json.load(fh))))

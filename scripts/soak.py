#!/usr/bin/env python3
"""Soak test: mixed traffic through the gateway for a while, with injected failures,
watching the gateway's resident memory and counting every unexpected answer.

Started by scripts/soak.sh (which builds the binaries and prepares a temp HOME).
Standard library only. Everything talks to 127.0.0.1.

Traffic (8 client threads): Anthropic pass-through JSON and streams, OpenAI clients
on the Anthropic upstreams (converted, JSON and streams), Anthropic clients on the
OpenAI upstream (converted), count_tokens, model lists, and clients that hang up
mid-stream. Two Anthropic upstreams: the preferred one cycles every phase through
healthy / HTTP 500 / 429 / broken streams / stalled streams; the other stays healthy.
Failover should hide 500s and 429s entirely; broken and stalled streams that already
started cannot be replayed, so those end with an error event: they are counted as
injected, everything else that is not a success is unexpected.
"""

import http.client
import json
import os
import random
import sys
import threading
import time

GW = os.environ["SOAK_GATEWAY"]  # host:port
KEY = os.environ["SOAK_KEY"]
FLAKY = os.environ["SOAK_FLAKY_MOCK"]  # host:port of the flaky Anthropic mock
PID = int(os.environ["SOAK_GATEWAY_PID"])
DURATION = float(os.environ.get("SOAK_SECONDS", "600"))
PHASE = float(os.environ.get("SOAK_PHASE_SECONDS", "20"))

PHASES = [
    ("healthy", {}),
    ("http-500", {"fail_with": [500, '{"type":"error","error":{"type":"api_error","message":"boom"}}']}),
    ("rate-limited", {"fail_with": [429, '{"type":"error","error":{"type":"rate_limit_error","message":"slow"}}']}),
    ("broken-streams", {"break_after": 4, "deltas": 20}),
    ("stalled-streams", {"stall_after": 4, "deltas": 20}),
]

lock = threading.Lock()
counts = {}
stop = time.time() + DURATION
phase_name = ["healthy"]


def count(kind):
    with lock:
        counts[kind] = counts.get(kind, 0) + 1


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request(path, body, headers, stream, hang_up=False):
    host, port = GW.split(":")
    c = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        c.request("POST" if body is not None else "GET", path,
                  body=json.dumps(body) if body is not None else None, headers=headers)
        r = c.getresponse()
        if hang_up:
            r.read(64)
            return r.status, "hung-up"
        data = r.read().decode("utf-8", "replace")
        return r.status, data
    finally:
        c.close()


def one():
    kind = random.choice(["ant-json", "ant-stream", "oai-on-ant", "oai-stream-on-ant",
                          "ant-on-oai", "count", "models", "hangup"])
    ant_h = {"x-api-key": KEY, "content-type": "application/json", "anthropic-version": "2023-06-01"}
    oai_h = {"authorization": f"Bearer {KEY}", "content-type": "application/json"}
    msg = {"model": "claude-soak", "max_tokens": 64, "messages": [{"role": "user", "content": "hi " * 50}]}
    chat = {"model": "claude-soak", "messages": [{"role": "user", "content": "hi"}]}
    if kind == "ant-json":
        status, text = request("/v1/messages", msg, ant_h, False)
    elif kind == "ant-stream":
        status, text = request("/v1/messages", dict(msg, stream=True), ant_h, True)
    elif kind == "oai-on-ant":
        status, text = request("/v1/chat/completions", chat, oai_h, False)
    elif kind == "oai-stream-on-ant":
        status, text = request("/v1/chat/completions", dict(chat, stream=True), oai_h, True)
    elif kind == "ant-on-oai":
        status, text = request("/v1/messages", dict(msg, model="via-gpt", stream=True), ant_h, True)
    elif kind == "count":
        status, text = request("/v1/messages/count_tokens", {"model": "claude-soak", "messages": msg["messages"]}, ant_h, False)
    elif kind == "models":
        status, text = request("/v1/models", None, {"x-api-key": KEY}, False)
    else:
        status, text = request("/v1/messages", dict(msg, stream=True), ant_h, True, hang_up=True)
    if status != 200:
        count(f"unexpected:{kind}:{status}")
        return
    streamish = kind in ("ant-stream", "oai-stream-on-ant", "ant-on-oai")
    if streamish and ('"error"' in text or "event: error" in text):
        injected = phase_name[0] in ("broken-streams", "stalled-streams") and kind != "ant-on-oai"
        count(f"{'injected' if injected else 'unexpected'}:stream-error:{kind}")
        return
    if kind == "ant-stream" and "message_stop" not in text:
        count(f"unexpected:truncated:{kind}")
        return
    count(f"ok:{kind}")


def worker():
    while time.time() < stop:
        try:
            one()
        except Exception as e:  # a transport error is an unexpected answer too
            count(f"unexpected:exception:{type(e).__name__}")


def steer():
    i = 0
    while time.time() < stop:
        name, behavior = PHASES[i % len(PHASES)]
        phase_name[0] = name
        host, port = FLAKY.split(":")
        c = http.client.HTTPConnection(host, int(port), timeout=5)
        c.request("POST", "/__mock/behavior", body=json.dumps(behavior),
                  headers={"content-type": "application/json"})
        c.getresponse().read()
        c.close()
        time.sleep(min(PHASE, max(0, stop - time.time())))
        i += 1


def main():
    samples = []
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(8)]
    threads.append(threading.Thread(target=steer, daemon=True))
    start = time.time()
    for t in threads:
        t.start()
    while time.time() < stop:
        samples.append((round(time.time() - start), rss_kb(PID)))
        time.sleep(5)
    for t in threads:
        t.join(timeout=60)
    samples.append((round(time.time() - start), rss_kb(PID)))
    total = sum(counts.values())
    unexpected = {k: v for k, v in counts.items() if k.startswith("unexpected")}
    injected = sum(v for k, v in counts.items() if k.startswith("injected"))
    first = [kb for t, kb in samples if t >= 30][:6]  # after warm-up
    last = [kb for _, kb in samples][-6:]
    warm = sum(first) / max(1, len(first))
    end = sum(last) / max(1, len(last))
    peak = max(kb for _, kb in samples)
    print(json.dumps({
        "seconds": round(time.time() - start),
        "requests": total,
        "ok": total - injected - sum(unexpected.values()),
        "injected_stream_errors": injected,
        "unexpected": unexpected,
        "rss_kb_after_warmup": round(warm),
        "rss_kb_at_end": round(end),
        "rss_kb_peak": peak,
        "rss_samples": samples,
        "by_kind": dict(sorted(counts.items())),
    }, indent=1))
    growth = end - warm
    ok = not unexpected and growth < 8 * 1024
    print(f"soak: {total} requests, {len(unexpected)} unexpected kinds, RSS {warm/1024:.1f} MB after warm-up -> "
          f"{end/1024:.1f} MB at end (peak {peak/1024:.1f} MB): {'PASS' if ok else 'FAIL'}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()

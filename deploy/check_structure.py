#!/usr/bin/env python3
"""Structural checks of deploy/ that schema validation cannot do: the pieces must agree
with each other and with the gateway's config (paths, ports, names, read-only mounts).

Run by deploy/check.sh (with PyYAML from its venv). Prints one line per problem and
exits 1 if there is any. Usage: check_structure.py DEPLOY_DIR
"""

import os
import posixpath
import re
import sys
from urllib.parse import urlparse

import yaml

DEPLOY = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(__file__))
K8S = os.path.join(DEPLOY, "k8s")
GATEWAY_IMAGE = "llm-gateway:local"
problems = []


def problem(where, msg):
    problems.append(f"{where}: {msg}")


def load_all(path):
    with open(path, encoding="utf-8") as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


def load(path):
    docs = load_all(path)
    if len(docs) != 1:
        raise SystemExit(f"{path}: expected one YAML document, found {len(docs)}")
    return docs[0]


def check_gateway_config(where, cfg):
    """What both deployments rely on in the gateway's config. Returns it."""
    if not isinstance(cfg, dict):
        problem(where, "the config is not a YAML mapping")
        return {}
    if cfg.get("version") != 1:
        problem(where, "version must be 1")
    srv = cfg.get("server") or {}
    if srv.get("host") != "0.0.0.0":
        problem(where, "server.host must be 0.0.0.0 (reachable from the LB / Service)")
    if not isinstance(srv.get("port", 3847), int):
        problem(where, "server.port must be an integer")
    tls = srv.get("tls")
    if not (isinstance(tls, dict) and tls.get("cert") and tls.get("key")):
        problem(where, "server.tls.cert and server.tls.key must be set (team mode serves HTTPS)")
    if not srv.get("data_dir"):
        problem(where, "server.data_dir must be set (the config mount is read-only)")
    state = srv.get("shared_state") or ""
    u = urlparse(state)
    if u.scheme != "redis" or not u.hostname:
        problem(where, f"server.shared_state must be redis://HOST:PORT/DB, got {state!r}")
    if srv.get("shared_state_fail", "open") not in ("open", "closed"):
        problem(where, "server.shared_state_fail must be open or closed")
    keys = cfg.get("gateway_keys") or []
    if not any(k.get("status") == "enabled" for k in keys):
        problem(where, "no enabled gateway key: the server refuses to start beyond loopback")
    for k in keys:
        if not re.fullmatch(r"[0-9a-f]{64}", str(k.get("key_sha256", ""))):
            problem(where, f"gateway key {k.get('name')!r}: key_sha256 is not 64 hex digits")
    for up in cfg.get("upstreams") or []:
        secret = str(up.get("api_key", ""))
        if where.endswith(".example.yaml") or "secret-config" in where:
            if secret and "REPLACE" not in secret:
                problem(where, f"upstream {up.get('name')!r}: example api_key must be a placeholder")
    return cfg


def port_of(srv):
    return srv.get("port", 3847)


# --------------------------------------------------------------------------- compose
def expand_default(s):
    """${VAR:-default} / ${VAR-default} / ${VAR} as compose would with VAR unset."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*(?::?-([^}]*))?\}", lambda m: m.group(1) or "", s)


def parse_volume(v):
    """(source, target, read_only) for short or long volume syntax."""
    if isinstance(v, dict):
        return v.get("source"), v.get("target"), bool(v.get("read_only")), v.get("type")
    parts = v.split(":")
    if len(parts) == 1:
        return None, parts[0], False, "volume"
    src, tgt = parts[0], parts[1]
    mode = parts[2] if len(parts) > 2 else ""
    kind = "bind" if src.startswith((".", "/", "$", "~")) else "volume"
    return src, tgt, "ro" in mode.split(","), kind


def check_compose():
    where = "deploy/compose.yaml"
    doc = load(os.path.join(DEPLOY, "compose.yaml"))
    services = doc.get("services") or {}
    gateways = {n: s for n, s in services.items() if s.get("image") == GATEWAY_IMAGE}
    if len(gateways) != 2:
        problem(where, f"expected 2 gateway services (image {GATEWAY_IMAGE}), found {sorted(gateways)}")
    if "redis" not in services or "redis" not in str(services["redis"].get("image", "")):
        problem(where, "expected a service named redis running the redis image")
    elif not services["redis"].get("healthcheck"):
        problem(where, "redis needs a healthcheck (the gateways wait for service_healthy)")
    data_volumes = []
    cfg = None
    for name, svc in sorted(gateways.items()):
        w = f"{where} services.{name}"
        if not svc.get("build"):
            problem(w, "no build: section (the image is built from the repo's Dockerfile)")
        elif os.path.normpath(os.path.join(DEPLOY, svc["build"].get("context", "."))) != os.path.dirname(DEPLOY):
            problem(w, "build.context must be the repository root")
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict(e.split("=", 1) for e in env)
        cfg_path = env.get("LLM_GATEWAY_CONFIG")
        if not cfg_path:
            problem(w, "LLM_GATEWAY_CONFIG is not set")
            continue
        vols = [parse_volume(v) for v in svc.get("volumes") or []]
        by_target = {t: (s, ro, k) for s, t, ro, k in vols}
        if cfg_path not in by_target:
            problem(w, f"nothing is mounted at LLM_GATEWAY_CONFIG={cfg_path}")
        else:
            src, ro, _ = by_target[cfg_path]
            if not ro:
                problem(w, f"the config at {cfg_path} must be mounted read-only")
            src_file = os.path.join(DEPLOY, expand_default(src))
            if not os.path.isfile(src_file):
                problem(w, f"the config's default source {src_file} does not exist")
            else:
                cfg = check_gateway_config(os.path.relpath(src_file, os.path.dirname(DEPLOY)), load(src_file))
        if cfg:
            srv = cfg.get("server") or {}
            data_dir = srv.get("data_dir")
            if data_dir and not posixpath.isabs(data_dir):
                data_dir = posixpath.join(posixpath.dirname(cfg_path), data_dir)
            if data_dir not in by_target:
                problem(w, f"no volume at server.data_dir {data_dir}")
            else:
                src, ro, kind = by_target[data_dir]
                if ro:
                    problem(w, f"the data dir {data_dir} must be writable")
                data_volumes.append(src)
            tls = srv.get("tls") or {}
            for f in ("cert", "key"):
                p = tls.get(f)
                if not p:
                    continue
                if not posixpath.isabs(p):
                    p = posixpath.join(posixpath.dirname(cfg_path), p)
                d = posixpath.dirname(p)
                if d not in by_target:
                    problem(w, f"server.tls.{f} {p}: nothing mounted at {d}")
                elif not by_target[d][1]:
                    problem(w, f"the TLS directory {d} must be mounted read-only")
            host = urlparse(srv.get("shared_state") or "").hostname
            if host and host not in services:
                problem(w, f"server.shared_state host {host!r} is not a compose service")
        hc = svc.get("healthcheck") or {}
        if not hc.get("test") or hc.get("disable"):
            problem(w, "no healthcheck")
        dep = (svc.get("depends_on") or {}).get("redis") if isinstance(svc.get("depends_on"), dict) else None
        if not dep or dep.get("condition") != "service_healthy":
            problem(w, "must depend on redis with condition: service_healthy")
        if not svc.get("read_only"):
            problem(w, "read_only: true expected (the image writes only to its volumes)")
        if "ALL" not in (svc.get("cap_drop") or []):
            problem(w, "cap_drop: [ALL] expected")
    if len(data_volumes) == 2 and data_volumes[0] == data_volumes[1]:
        problem(where, "the two replicas share one data volume; each needs its own usage.db")
    # The load balancer: every gateway service behind it, on the gateway's port.
    lb = [n for n, s in services.items() if re.search(r"haproxy|nginx", str(s.get("image", "")))]
    if not lb:
        problem(where, "no load balancer service (haproxy or nginx image)")
        return
    cfg_file = os.path.join(DEPLOY, "haproxy.cfg")
    if not os.path.isfile(cfg_file):
        problem(where, "deploy/haproxy.cfg is missing")
        return
    text = open(cfg_file, encoding="utf-8").read()
    servers = dict(re.findall(r"^\s*server\s+\S+\s+([A-Za-z0-9_.-]+):(\d+)", text, re.M))
    for name in gateways:
        if name not in servers:
            problem("deploy/haproxy.cfg", f"no `server` line for {name}")
        elif cfg and servers[name] != str(port_of(cfg.get("server") or {})):
            problem("deploy/haproxy.cfg", f"{name} is reached on port {servers[name]}, the gateway listens on {port_of(cfg['server'])}")
    if not re.search(r"^\s*balance\s+roundrobin", text, re.M):
        problem("deploy/haproxy.cfg", "balance roundrobin expected")
    if not re.search(r"uri\s+/health\b", text):
        problem("deploy/haproxy.cfg", "the replicas' health check must GET /health")


# ------------------------------------------------------------------------ kubernetes
EXPECTED_KINDS = {
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("v1", "Secret"),
    ("policy/v1", "PodDisruptionBudget"),
}


def check_k8s():
    kz_path = os.path.join(K8S, "kustomization.yaml")
    kz = load(kz_path)
    w = "deploy/k8s/kustomization.yaml"
    if kz.get("namespace"):
        problem(w, "must stay namespace-agnostic (no namespace:)")
    resources = kz.get("resources") or []
    for r in resources:
        if not os.path.isfile(os.path.join(K8S, r)):
            problem(w, f"resource {r} does not exist")
    on_disk = sorted(f for f in os.listdir(K8S) if f.endswith((".yaml", ".yml")) and f != "kustomization.yaml")
    for f in on_disk:
        if f not in resources:
            problem(w, f"{f} is in deploy/k8s/ but not in resources")
    objs = []
    for r in resources:
        p = os.path.join(K8S, r)
        if os.path.isfile(p):
            for d in load_all(p):
                if d.get("metadata", {}).get("namespace"):
                    problem(f"deploy/k8s/{r}", f"{d['kind']} {d['metadata'].get('name')} sets a namespace")
                objs.append((r, d))
    kinds = {(d.get("apiVersion"), d.get("kind")) for _, d in objs}
    for k in sorted(EXPECTED_KINDS - kinds):
        problem("deploy/k8s", f"no {k[1]} ({k[0]})")

    def find(kind, name=None, pred=None):
        return [d for _, d in objs if d.get("kind") == kind and (name is None or d["metadata"]["name"] == name) and (pred is None or pred(d))]

    secrets = {d["metadata"]["name"]: d for d in find("Secret")}

    def secret_keys(s):
        return set((s.get("data") or {}).keys()) | set((s.get("stringData") or {}).keys())

    # Every container: resources and a locked-down securityContext.
    for _, d in objs:
        if d.get("kind") != "Deployment":
            continue
        spec = d["spec"]["template"]["spec"]
        psc = spec.get("securityContext") or {}
        for c in spec.get("containers", []):
            wc = f"Deployment {d['metadata']['name']} container {c['name']}"
            res = c.get("resources") or {}
            for part in ("requests", "limits"):
                for r in ("cpu", "memory"):
                    if r not in (res.get(part) or {}):
                        problem(wc, f"resources.{part}.{r} is not set")
            sc = c.get("securityContext") or {}
            if not (sc.get("runAsNonRoot") or psc.get("runAsNonRoot")):
                problem(wc, "runAsNonRoot is not set")
            if not sc.get("readOnlyRootFilesystem"):
                problem(wc, "readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                problem(wc, "allowPrivilegeEscalation must be false")
            if "ALL" not in ((sc.get("capabilities") or {}).get("drop") or []):
                problem(wc, "capabilities.drop must contain ALL")

    gws = find("Deployment", pred=lambda d: any(c.get("image") == GATEWAY_IMAGE for c in d["spec"]["template"]["spec"].get("containers", [])))
    if len(gws) != 1:
        problem("deploy/k8s", f"expected one gateway Deployment (image {GATEWAY_IMAGE}), found {len(gws)}")
        return
    dep = gws[0]
    wd = f"Deployment {dep['metadata']['name']}"
    if dep["spec"].get("replicas") != 2:
        problem(wd, f"replicas must be 2, found {dep['spec'].get('replicas')}")
    pod = dep["spec"]["template"]
    labels = pod["metadata"].get("labels") or {}
    sel = dep["spec"]["selector"].get("matchLabels") or {}
    if not sel or any(labels.get(k) != v for k, v in sel.items()):
        problem(wd, "selector.matchLabels does not match the pod template's labels")
    spec = pod["spec"]
    c = next(c for c in spec["containers"] if c.get("image") == GATEWAY_IMAGE)
    env = {e["name"]: e.get("value") for e in c.get("env") or []}
    cfg_path = env.get("LLM_GATEWAY_CONFIG")
    mounts = {m["mountPath"]: m for m in c.get("volumeMounts") or []}
    vols = {v["name"]: v for v in spec.get("volumes") or []}
    cfg = None
    if not cfg_path:
        problem(wd, "LLM_GATEWAY_CONFIG is not set")
    else:
        d, base = posixpath.split(cfg_path)
        m = mounts.get(d) or mounts.get(cfg_path)
        if not m:
            problem(wd, f"nothing is mounted at {d} (LLM_GATEWAY_CONFIG={cfg_path})")
        else:
            if not m.get("readOnly"):
                problem(wd, f"the config mount {m['mountPath']} must be readOnly")
            if m.get("subPath"):
                problem(wd, "the config mount uses subPath: Secret updates would never reach the pod")
            v = vols.get(m["name"], {})
            sname = (v.get("secret") or {}).get("secretName")
            if not sname:
                problem(wd, f"the config volume {m['name']} is not a Secret")
            elif sname not in secrets:
                problem(wd, f"the config Secret {sname} is not in the kustomization")
            else:
                items = (v.get("secret") or {}).get("items")
                key = base
                if items:
                    key = next((i["key"] for i in items if i["path"] == base), None)
                if key not in secret_keys(secrets[sname]):
                    problem(wd, f"Secret {sname} has no key {base} for {cfg_path}")
                else:
                    raw = (secrets[sname].get("stringData") or {}).get(key)
                    if raw is None:
                        import base64
                        raw = base64.b64decode(secrets[sname]["data"][key]).decode()
                    cfg = check_gateway_config(f"Secret {sname} {key}", yaml.safe_load(raw))
    ports = {p.get("name"): p["containerPort"] for p in c.get("ports") or []}
    srv = (cfg or {}).get("server") or {}
    gw_port = port_of(srv)
    if gw_port not in ports.values():
        problem(wd, f"no containerPort {gw_port} (server.port)")
    tls_on = bool(srv.get("tls"))
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        p = c.get(probe)
        if p is None:
            if probe != "startupProbe":
                problem(wd, f"no {probe}")
            continue
        h = p.get("httpGet") or {}
        if h.get("path") != "/health":
            problem(wd, f"{probe} must GET /health, found {h.get('path')}")
        port = h.get("port")
        port = ports.get(port, port) if isinstance(port, str) else port
        if port != gw_port:
            problem(wd, f"{probe} hits port {h.get('port')}, the gateway listens on {gw_port}")
        want = "HTTPS" if tls_on else "HTTP"
        if h.get("scheme", "HTTP") != want:
            problem(wd, f"{probe} scheme must be {want} (server.tls is {'set' if tls_on else 'unset'})")
    if cfg:
        data_dir = srv.get("data_dir")
        if data_dir and not posixpath.isabs(data_dir):
            data_dir = posixpath.join(posixpath.dirname(cfg_path), data_dir)
        m = mounts.get(data_dir)
        if not m:
            problem(wd, f"nothing is mounted at server.data_dir {data_dir}")
        else:
            if m.get("readOnly"):
                problem(wd, "the data dir must be writable")
            if "emptyDir" not in vols.get(m["name"], {}) and "persistentVolumeClaim" not in vols.get(m["name"], {}):
                problem(wd, "the data dir should be an emptyDir (or a PVC)")
        tls = srv.get("tls") or {}
        for f in ("cert", "key"):
            p = tls.get(f)
            if not p:
                continue
            if not posixpath.isabs(p):
                p = posixpath.join(posixpath.dirname(cfg_path), p)
            d, base = posixpath.split(p)
            m = mounts.get(d)
            if not m:
                problem(wd, f"server.tls.{f} {p}: nothing mounted at {d}")
                continue
            if not m.get("readOnly"):
                problem(wd, f"the TLS mount {d} must be readOnly")
            sname = (vols.get(m["name"], {}).get("secret") or {}).get("secretName")
            s = secrets.get(sname)
            if not s:
                problem(wd, f"the TLS volume at {d} is not a Secret of the kustomization")
            elif s.get("type") != "kubernetes.io/tls":
                problem(wd, f"Secret {sname} must be of type kubernetes.io/tls")
            elif base not in secret_keys(s):
                problem(wd, f"server.tls.{f} names {base}, Secret {sname} has {sorted(secret_keys(s))}")
        host = urlparse(srv.get("shared_state") or "").hostname
        if host and not find("Service", host.split(".")[0]):
            problem(wd, f"server.shared_state host {host!r} is no Service here (fine for a managed Redis; then drop redis.yaml)")
    # Service and PDB select the gateway pods.
    svcs = find("Service", pred=lambda s: all(labels.get(k) == v for k, v in (s["spec"].get("selector") or {"-": "-"}).items()))
    if not svcs:
        problem("deploy/k8s", "no Service selects the gateway pods")
    for s in svcs:
        for p in s["spec"].get("ports") or []:
            t = p.get("targetPort", p.get("port"))
            t = ports.get(t, t) if isinstance(t, str) else t
            if t != gw_port:
                problem(f"Service {s['metadata']['name']}", f"targetPort {p.get('targetPort')} is not the gateway's port {gw_port}")
    for pdb in find("PodDisruptionBudget"):
        ml = pdb["spec"].get("selector", {}).get("matchLabels") or {}
        if not ml or any(labels.get(k) != v for k, v in ml.items()):
            problem(f"PodDisruptionBudget {pdb['metadata']['name']}", "does not select the gateway pods")
        if pdb["spec"].get("minAvailable", 0) >= dep["spec"].get("replicas", 1):
            problem(f"PodDisruptionBudget {pdb['metadata']['name']}", "minAvailable >= replicas blocks every drain")


def main():
    for name, fn in (("compose", check_compose), ("kubernetes", check_k8s)):
        try:
            fn()
        except (KeyError, TypeError, AttributeError, StopIteration) as e:
            problem(name, f"unexpected structure ({type(e).__name__}: {e})")
    for p in problems:
        print(f"  FAIL {p}")
    if problems:
        return 1
    print("  ok   compose: 2 gateway replicas + redis + LB, config :ro, per-replica data, healthchecks")
    print("  ok   k8s: replicas=2, /health probes on the container port, config Secret read-only at LLM_GATEWAY_CONFIG, TLS Secret, emptyDir data_dir, resources, securityContext, Service, PDB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

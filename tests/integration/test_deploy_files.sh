#!/usr/bin/env bash
# The deployment files, checked as far as a machine without a Docker engine allows:
#   - deploy/docker-compose.yml and deploy/docker-compose.workers.yml parse as YAML and pass
#     a lint written here: every service has an image or a build, a restart policy and a
#     health check (one-shot `tools` services excepted), ARXDIGEST_* variables are config
#     keys (from the key table of common/config.c), named volumes and secrets are declared,
#     no secret is written inline, the worker has no container_name and no host port, every
#     bind-mounted file of the repository exists; `docker compose config` too when present;
#   - deploy/Dockerfile: bookworm FROM lines, install-deps.sh in the build stage, a non-root
#     USER in the final stage, every runtime package known to apt, every COPY source present,
#     HEALTHCHECK and EXPOSE of the six ports; hadolint too when present;
#   - the Dockerfile's build steps, run here: the same CMake Release configure and build
#     (into a temporary folder); every shared library the four binaries need belongs to a
#     runtime package of the final stage (or to what those pull in, or to the base system);
#   - the real binaries accept each service's environment and config file (with CURVE on,
#     keys made by deploy/cluster/make-keys.sh with `arxdigest keygen`), and the daemons
#     started with it answer the image's health check (deploy/cluster/image/healthcheck.sh)
#     on /healthz; the entrypoint reads the LLM key from a secret file.
# Not covered: building the image or starting the containers (no Docker engine here).
source "$(dirname "$0")/lib.sh"

SRC="$AX_SOURCE_DIR"
DEPLOY="$SRC/deploy"
cd "$SRC"

# ------------------------------------------------------------------ compose lint (python)
mkdir -p "$T/envs"
python3 - "$SRC" "$T/envs" <<'PY' || fail "compose lint"
import os, re, sys, yaml

src, envdir = sys.argv[1], sys.argv[2]
deploy = os.path.join(src, "deploy")
errors = []
def err(msg): errors.append(msg)

# The config keys: common/config.c's table, ARXDIGEST_ + KEY upper-cased, '.' -> '_'.
table = open(os.path.join(src, "common", "config.c")).read()
table = table[table.index("ax_cfg_keys[] = {"):]
table = table[:table.index("\n};")]
keys = re.findall(r'^\s*(?:[A-Z]+\(|\{)"([a-z_.]+)"', table, re.M)
assert len(keys) > 40, "could not read the key table of common/config.c"
env_keys = {"ARXDIGEST_" + k.upper().replace(".", "_") for k in keys if k != "profiles"}
# Read by other code than the key table: the LLM key (llm.api_key_env) and the log level.
extra_env = {"ARXDIGEST_LLM_API_KEY", "AX_LOG_LEVEL"}

# What the test substitutes for the compose variables (as from deploy/.env).
test_vars = {"REDIS_PASSWORD": "compose-lint-password", "BROKER_HOST": "broker.example.org",
             "CURVE_ENABLED": "true", "WORKER_KEY": "w1"}
var_re = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)")
def interpolate(s, where):
    def sub(m):
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) or m.group(4)
        op, arg = m.group(2), m.group(3)
        val = test_vars.get(name)
        if op in (":-", "-"):
            return val if val else arg
        if op in (":?", "?"):
            if not val:
                err(f"{where}: ${{{name}}} is required and has no test value")
            return val or ""
        return val or ""
    return var_re.sub(sub, s)

SECRET_WORDS = re.compile(r"(?i)(password|passwd|secret|api_?key|token)")
def check_no_inline_secret(where, text):
    text = str(text)
    if re.search(r"sk-[A-Za-z0-9]{8,}", text):
        err(f"{where}: looks like an inline API key")
    # a URL password must be a ${VAR}
    for m in re.finditer(r"://[^/@\s]*:([^@/\s]+)@", text):
        if not m.group(1).startswith("${"):
            err(f"{where}: a password is written inline in a URL")

def walk(node, where, fn):
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, f"{where}.{k}", fn)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, f"{where}[{i}]", fn)
    else:
        fn(where, node)

def lint(fname, worker_service):
    path = os.path.join(deploy, fname)
    doc = yaml.safe_load(open(path))
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        err(f"{fname}: no services"); return
    walk(doc, fname, check_no_inline_secret)
    if re.search(r"sk-[A-Za-z0-9]{8,}", open(path).read()):
        err(f"{fname}: looks like an inline API key")
    declared_volumes = set((doc.get("volumes") or {}).keys())
    declared_secrets = set((doc.get("secrets") or {}).keys())
    for name, sec in (doc.get("secrets") or {}).items():
        if "environment" in sec or "content" in (sec or {}):
            err(f"{fname}: secret {name}: must come from a file, not inline")
    for name, svc in doc["services"].items():
        w = f"{fname}: service {name}"
        tool = "tools" in (svc.get("profiles") or [])
        if "image" not in svc and "build" not in svc:
            err(f"{w}: neither image nor build")
        if not tool and svc.get("restart") not in ("always", "unless-stopped", "on-failure"):
            err(f"{w}: restart policy missing or not restarting: {svc.get('restart')!r}")
        hc = svc.get("healthcheck") or {}
        if not tool and (not hc.get("test") or hc.get("disable")):
            err(f"{w}: no health check")
        arx = "arxdigest" in str(svc.get("command", "")) or "arxdigest" in str(svc.get("image", ""))
        env = svc.get("environment") or {}
        if isinstance(env, list):
            env = dict((e.split("=", 1) + [None])[:2] for e in env)
        for k, v in env.items():
            if SECRET_WORDS.search(k) and v not in (None, "") and "${" not in str(v) \
                    and not str(v).startswith("/"):
                err(f"{w}: {k} is written inline (use ${{VAR}}, a pass-through or a secret file)")
            if k == "ARXDIGEST_LLM_API_KEY" and v is not None:
                err(f"{w}: ARXDIGEST_LLM_API_KEY must be a pass-through (no value in the file)")
            if arx and k.startswith("ARXDIGEST_") and k not in env_keys | extra_env:
                err(f"{w}: {k} is not a config key (common/config.c)")
            if arx and not k.startswith("ARXDIGEST_") and k not in extra_env:
                err(f"{w}: {k}: not an arxdigest variable")
        for v in svc.get("volumes") or []:
            s = v if isinstance(v, str) else f"{v.get('source')}:{v.get('target')}"
            source = interpolate(s, w).split(":")[0]
            if source.startswith((".", "/")):
                full = os.path.normpath(os.path.join(deploy, source))
                if full.startswith(src) and "/keys" not in full and not os.path.exists(full):
                    err(f"{w}: bind mount {source} does not exist in the repository")
            elif source not in declared_volumes:
                err(f"{w}: volume {source} is not declared under volumes:")
        for s in svc.get("secrets") or []:
            s = s if isinstance(s, str) else s.get("source")
            if s not in declared_secrets:
                err(f"{w}: secret {s} is not declared under secrets:")
        if "build" in svc:
            b = svc["build"]
            ctx = os.path.normpath(os.path.join(deploy, b.get("context", ".")))
            if not os.path.isfile(os.path.join(ctx, b.get("dockerfile", "Dockerfile"))):
                err(f"{w}: build dockerfile not found")
        if arx and svc.get("command"):
            cmd = svc["command"]
            if cmd[0].startswith("arxdigest-") and "--config" not in cmd:
                err(f"{w}: the daemon is not given the mounted config file")
            # the environment as the container gets it, with container paths mapped here
            with open(os.path.join(envdir, f"{fname}.{name}.env"), "w") as f:
                f.write(f"#command {' '.join(cmd)}\n")
                for k, v in env.items():
                    if v is not None:
                        f.write(f"{k}={interpolate(str(v), w)}\n")
    if worker_service not in doc["services"]:
        err(f"{fname}: no {worker_service} service")
    else:
        wk = doc["services"][worker_service]
        if "container_name" in wk:
            err(f"{fname}: {worker_service} has a container_name: --scale would fail")
        for p in wk.get("ports") or []:
            if re.search(r"\d+:\d+", str(p)) or isinstance(p, dict) and p.get("published"):
                err(f"{fname}: {worker_service} publishes a fixed host port: --scale would fail")
    return doc

main = lint("docker-compose.yml", "worker")
workers = lint("docker-compose.workers.yml", "worker")
if main:
    s = main["services"]
    for need in ("redis", "broker", "worker", "collector"):
        if need not in s:
            err(f"docker-compose.yml: no {need} service")
    r = s.get("redis", {})
    cmd = " ".join(map(str, r.get("command", [])))
    if not str(r.get("image", "")).startswith("redis:7"):
        err("redis: not redis:7")
    if "--appendonly yes" not in cmd or "--requirepass ${" not in cmd:
        err("redis: needs --appendonly yes and --requirepass ${VAR}")
    if not any(str(v).endswith(":/data") for v in r.get("volumes", [])):
        err("redis: no volume on /data")
    coll = s.get("collector", {})
    if not any(str(v).startswith("digests:") for v in coll.get("volumes", [])):
        err("collector: digests are not on the named volume")
    wenv = s.get("worker", {}).get("environment", {})
    if wenv.get("ARXDIGEST_WORKER_BROKER") != "tcp://broker:5555":
        err("worker: ARXDIGEST_WORKER_BROKER is not tcp://broker:5555")
if workers:
    wenv = workers["services"]["worker"].get("environment", {})
    if "${BROKER_HOST" not in str(wenv.get("ARXDIGEST_WORKER_BROKER")):
        err("docker-compose.workers.yml: the worker does not join ${BROKER_HOST}")
    if "ports" in workers["services"]["worker"]:
        err("docker-compose.workers.yml: the worker publishes ports")

# The env file examples: variables the compose files use, no value filled in for secrets.
used = set()
for f in ("docker-compose.yml", "docker-compose.workers.yml"):
    used |= set(m.group(1) or m.group(4) for m in var_re.finditer(open(os.path.join(deploy, f)).read())
                if m.group(0) != "$$")
for ex in ("broker-host.env.example", "worker-host.env.example"):
    for n, line in enumerate(open(os.path.join(deploy, "cluster", ex)), 1):
        line = line.split(" #")[0].strip().lstrip("#")
        m = re.match(r"([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if not m:
            continue
        if m.group(1) not in used:
            err(f"cluster/{ex}:{n}: {m.group(1)} is used by no compose file")
        if SECRET_WORDS.search(m.group(1)) and m.group(2) and not m.group(2).startswith("/"):
            err(f"cluster/{ex}:{n}: {m.group(1)} has a value in the example")

if errors:
    print("\n".join("  " + e for e in errors), file=sys.stderr)
    sys.exit(1)
PY
ok "compose files parse and pass the lint (services, restart, health, env keys, volumes, secrets, scaling)"

compose_cli=""
if docker compose version >/dev/null 2>&1; then compose_cli="docker compose"; fi
if [ -n "$compose_cli" ]; then
  for f in docker-compose.yml docker-compose.workers.yml; do
    (cd "$DEPLOY" && REDIS_PASSWORD=x BROKER_HOST=h $compose_cli -f "$f" config -q) \
      || fail "$compose_cli config rejects deploy/$f"
  done
  ok "docker compose config accepts both files"
else
  echo "note: docker compose is not installed here: its own validation is not run"
fi

# ------------------------------------------------------------------ Dockerfile checks
DF="$DEPLOY/Dockerfile"
[ -f "$DF" ] || fail "no deploy/Dockerfile"
froms="$(grep -E '^FROM ' "$DF")"
[ -n "$froms" ] || fail "Dockerfile: no FROM"
while read -r _ image _; do
  case "$image" in debian:bookworm-slim|debian:bookworm) ;; *) fail "Dockerfile: FROM $image is not Debian bookworm" ;; esac
done <<<"$froms"
[ "$(grep -cE '^FROM ' "$DF")" -ge 2 ] || fail "Dockerfile: not multi-stage"
build_stage="$(awk '/^FROM /{n++} n==1' "$DF")"
final_stage="$(awk '/^FROM /{n++} n>=2 && /^FROM /{buf=""} {buf=buf $0 "\n"} END{printf "%s", buf}' "$DF")"
grep -qE '^RUN .*deploy/install-deps\.sh' <<<"$build_stage" || fail "Dockerfile: the build stage does not run deploy/install-deps.sh"
grep -q 'CMAKE_BUILD_TYPE=Release' <<<"$build_stage" || fail "Dockerfile: no CMake Release build"
user="$(grep -E '^USER ' <<<"$final_stage" | tail -n 1 | awk '{print $2}')"
[ -n "$user" ] || fail "Dockerfile: no USER in the final stage"
case "${user%%:*}" in root|0) fail "Dockerfile: the final stage runs as root" ;; esac
grep -qE '^HEALTHCHECK .*arxdigest-healthcheck' <<<"$final_stage" || fail "Dockerfile: no HEALTHCHECK"
for p in 5555 5556 5557 9101 9102 9103; do
  grep -E '^EXPOSE ' "$DF" | grep -qw "$p" || fail "Dockerfile: port $p not exposed"
done
grep -q '/etc/arxdigest/arxdigest.yaml' <<<"$final_stage" || fail "Dockerfile: no /etc/arxdigest/arxdigest.yaml"
grep -q '/var/lib/arxdigest/digests' <<<"$final_stage" || fail "Dockerfile: no /var/lib/arxdigest/digests"
ok "Dockerfile: bookworm stages, install-deps.sh + Release build, USER $user, HEALTHCHECK, EXPOSE"

# The runtime packages (the apt-get install of the final stage), each known to apt.
runtime_pkgs="$(python3 - "$DF" <<'PY'
import re, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
final = text[[m.start() for m in re.finditer(r"^FROM ", text, re.M)][-1]:]
pkgs = []
for m in re.finditer(r"apt-get install ([^&;\n]*)", final):
    pkgs += [w for w in m.group(1).split() if not w.startswith("-")]
print(" ".join(pkgs))
PY
)"
[ -n "$runtime_pkgs" ] || fail "Dockerfile: no apt-get install in the final stage"
for p in $runtime_pkgs; do
  apt-cache show "$p" >/dev/null 2>&1 || fail "Dockerfile: runtime package $p is unknown to apt (apt-cache show)"
done
ok "runtime packages known to apt: $runtime_pkgs"

# Every COPY source (not --from) exists in the repository, and .dockerignore keeps it.
while read -r src; do
  [ -e "$SRC/$src" ] || fail "Dockerfile: COPY source $src does not exist"
done < <(python3 - "$DF" <<'PY'
import re, shlex, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
for m in re.finditer(r"^COPY\s+(.*)$", text, re.M):
    args = shlex.split(m.group(1))
    if any(a.startswith("--from") for a in args):
        continue
    args = [a for a in args if not a.startswith("--")]
    for s in args[:-1]:
        print(s)
PY
)
if [ -f "$SRC/.dockerignore" ]; then
  for keep in CMakeLists.txt common broker worker collector cli tests deploy/install-deps.sh \
              deploy/cluster/arxdigest.yaml deploy/cluster/image; do
    python3 - "$SRC/.dockerignore" "$keep" <<'PY' || fail ".dockerignore excludes $keep, which the Dockerfile copies"
import fnmatch, sys
path = sys.argv[2]
excluded = False
for line in open(sys.argv[1]):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    neg = line.startswith("!")
    pat = line.lstrip("!").strip("/")
    parts = path.split("/")
    hit = any(fnmatch.fnmatch("/".join(parts[:i]), pat) for i in range(1, len(parts) + 1))
    if hit:
        excluded = not neg
sys.exit(1 if excluded else 0)
PY
  done
fi
ok "every COPY source exists and is not excluded by .dockerignore"
if command -v hadolint >/dev/null 2>&1; then
  hadolint "$DF" || fail "hadolint"
  ok "hadolint"
else
  echo "note: hadolint is not installed here: not run"
fi

# ------------------------------------------------------------------ the build steps
# The build stage, as the Dockerfile has it, in a temporary folder. Once per ctest run:
# the sanitizer tree's run leaves it to the release tree's.
REL=""
if grep -q '^AX_SANITIZE:BOOL=ON' "$AX_BUILD_DIR/CMakeCache.txt" 2>/dev/null; then
  echo "note: sanitizer build tree: the Release build steps run in the release tree's run of this test"
else
  # The build stage replayed in $T/ctx (its WORKDIR /src): its COPY lines (of the
  # repository, after install-deps.sh) as copies, then its RUN lines but install-deps.sh's
  # (run by tests/run.sh and .ci/run already: no apt here), verbatim.
  CTX="$T/ctx"
  mkdir -p "$CTX"
  python3 - "$DF" >"$T/build-steps.sh" <<'PY'
import re, shlex, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
build = re.split(r"^FROM ", text, flags=re.M)[1]
for line in build.splitlines():
    if line.startswith("COPY "):
        args = [a for a in shlex.split(line[5:]) if not a.startswith("--")]
        dest = args[-1]
        for src in args[:-1]:
            if dest.endswith("/"):
                print(f"mkdir -p {shlex.quote(dest)} && cp -r \"$AX_SOURCE_DIR\"/{shlex.quote(src)} {shlex.quote(dest)}")
            else:
                print(f"mkdir -p \"$(dirname {shlex.quote(dest)})\" && cp -r \"$AX_SOURCE_DIR\"/{shlex.quote(src)} {shlex.quote(dest)}")
    elif line.startswith("RUN ") and "install-deps.sh" not in line:
        print(line[4:])
PY
  grep -q 'cmake -S' "$T/build-steps.sh" || fail "Dockerfile: no cmake RUN line in the build stage"
  (cd "$CTX" && bash -euo pipefail "$T/build-steps.sh") >"$T/release-build.log" 2>&1 \
    || fail "the Dockerfile's build steps fail (log: $T/release-build.log)"
  REL="$CTX/build"
  for b in arxdigest arxdigest-broker arxdigest-worker arxdigest-collector; do
    [ -x "$REL/$b" ] || fail "the build did not produce $b"
  done
  ok "the Dockerfile's CMake Release build steps succeed here"

  # Every shared library the binaries need comes from a runtime package, from what apt
  # pulls in with them, or from the base system (Priority: required, as in bookworm-slim).
  closure="$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
               --no-replaces --no-enhances $runtime_pkgs 2>/dev/null | grep -v '^ ' | sort -u)"
  for b in "$REL"/arxdigest "$REL"/arxdigest-broker "$REL"/arxdigest-worker "$REL"/arxdigest-collector; do
    for so in $(readelf -d "$b" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
      path="$(ldd "$b" | awk -v so="$so" '$1 == so {print $3}' || true)"
      [ -n "$path" ] && [ -e "$path" ] || fail "$so of $b is not found here"
      pkg="$(dpkg -S "$(readlink -f "$path")" 2>/dev/null | head -n 1 | cut -d: -f1 || true)"
      [ -n "$pkg" ] || pkg="$(dpkg -S "$path" 2>/dev/null | head -n 1 | cut -d: -f1 || true)"
      [ -n "$pkg" ] || pkg="$(dpkg -S "${path/#\/usr\/lib\//\/lib\/}" 2>/dev/null | head -n 1 | cut -d: -f1 || true)"
      [ -n "$pkg" ] || fail "$so ($path): no Debian package owns it"
      grep -qx "$pkg" <<<"$closure" && continue
      prio="$(dpkg-query -W -f='${Priority}' "$pkg" 2>/dev/null || true)"
      [ "$prio" = required ] && continue
      fail "$(basename "$b") needs $so from $pkg, which the runtime stage does not install"
    done
  done
  ok "every shared library of the four binaries is in the runtime stage's packages"
fi

# ------------------------------------------------------------------ the real binaries
# Each service's environment (as compose hands it over, container paths mapped to this
# machine) and the mounted config file, with CURVE on and keys from make-keys.sh.
BINDIR="${REL:-$AX_BUILD_DIR}"
[ -n "$REL" ] || BINDIR="$AX_BUILD_DIR"
KEYS="$T/keys"
ARXDIGEST="$BINDIR/arxdigest" "$DEPLOY/cluster/make-keys.sh" --out "$KEYS" w1 >"$T/make-keys.log" 2>&1 \
  || fail "deploy/cluster/make-keys.sh failed: $(cat "$T/make-keys.log")"
for f in server.key server.pub admin.key admin.pub w1.key w1.pub allowed_clients allowed_control_clients; do
  [ -s "$KEYS/$f" ] || fail "make-keys.sh did not write $f"
done
[ "$(grep -cv '^#' "$KEYS/allowed_clients")" -eq 1 ] || fail "allowed_clients should list w1 alone"
grep -qF -e "$(grep -v '^#' "$KEYS/w1.pub")" "$KEYS/allowed_clients" || fail "allowed_clients does not hold w1's key"
[ "$(grep -cv '^#' "$KEYS/allowed_control_clients")" -eq 1 ] || fail "allowed_control_clients should list admin alone"
grep -qF -e "$(grep -v '^#' "$KEYS/admin.pub")" "$KEYS/allowed_control_clients" \
  || fail "allowed_control_clients does not hold admin's key"
w1_before="$(cat "$KEYS/w1.key" "$KEYS/server.key" | sha256sum)"
ARXDIGEST="$BINDIR/arxdigest" "$DEPLOY/cluster/make-keys.sh" --out "$KEYS" w1 w2 >"$T/make-keys2.log" 2>&1 \
  || fail "make-keys.sh (second run) failed: $(cat "$T/make-keys2.log")"
[ "$(grep -cv '^#' "$KEYS/allowed_clients")" -eq 2 ] || fail "a second run should add w2 to allowed_clients"
[ "$(grep -cv '^#' "$KEYS/allowed_control_clients")" -eq 1 ] || fail "a second run should keep admin alone for control"
[ "$(cat "$KEYS/w1.key" "$KEYS/server.key" | sha256sum)" = "$w1_before" ] || fail "a second run replaced existing keys"
ok "make-keys.sh: server, admin and worker keys, allow-lists (workers; admin for control); a second run adds a worker and keeps the rest"

CONFIG="$DEPLOY/cluster/arxdigest.yaml"
mkdir -p "$T/digests"
# service_env FILE: the service's variables, one per line, container paths mapped here.
service_env() {
  grep -v '^#' "$1" | sed -e "s#/etc/arxdigest/keys#$KEYS#g" -e "s#/var/lib/arxdigest/digests#$T/digests#g"
}
dead_port="$(free_port)"
for envf in "$T"/envs/*.env; do
  svc="$(basename "$envf" .env)"
  mapfile -t vars < <(service_env "$envf")
  # `status` loads the file and the environment as the daemons do, then needs Redis:
  # exit 1 (Redis unreachable) means the configuration was accepted; 2 means it was not.
  set +e
  env -u ARXDIGEST_LLM_API_KEY "${vars[@]}" "$BINDIR/arxdigest" status --config "$CONFIG" \
    --set "redis.url=redis://127.0.0.1:$dead_port/0" >"$T/$svc.status.log" 2>&1
  rc=$?
  set -e
  [ "$rc" -ne 2 ] && ! grep -q "configuration error" "$T/$svc.status.log" \
    || fail "$svc: the binaries reject its environment or config: $(cat "$T/$svc.status.log")"
done
ok "every service's ARXDIGEST_* environment and the mounted config are accepted by the binaries"

# The daemons themselves, started with the broker's, the collector's and the worker's
# environment (ports and Redis moved by --set, since this machine runs other tests), answer
# the image's health check; the CURVE handshake with make-keys.sh's keys succeeds.
start_redis
P_JOBS="$(free_port)"; P_CTL="$(free_port)"; P_RES="$(free_port)"
P_MB="$(free_port)"; P_MW="$(free_port)"; P_MC="$(free_port)"
common=(--config "$CONFIG" --set "redis.url=$REDIS_URL")
mapfile -t benv < <(service_env "$T/envs/docker-compose.yml.broker.env")
mapfile -t cenv < <(service_env "$T/envs/docker-compose.yml.collector.env")
mapfile -t wenv < <(service_env "$T/envs/docker-compose.workers.yml.worker.env")
start broker env "${benv[@]}" "$BINDIR/arxdigest-broker" "${common[@]}" \
  --set "broker.bind=tcp://127.0.0.1:$P_JOBS" --set "broker.control=tcp://127.0.0.1:$P_CTL" \
  --set "broker.metrics=127.0.0.1:$P_MB"
start collector env "${cenv[@]}" "$BINDIR/arxdigest-collector" "${common[@]}" \
  --set "collector.bind=tcp://127.0.0.1:$P_RES" --set "collector.metrics=127.0.0.1:$P_MC"
start worker env -u ARXDIGEST_LLM_API_KEY "${wenv[@]}" "$BINDIR/arxdigest-worker" "${common[@]}" \
  --set "worker.broker=tcp://127.0.0.1:$P_JOBS" --set "worker.collector=tcp://127.0.0.1:$P_RES" \
  --set "worker.metrics=127.0.0.1:$P_MW"
HC="$DEPLOY/cluster/image/healthcheck.sh"
wait_for 20 "broker /healthz" bash "$HC" "$P_MB"
wait_for 20 "collector /healthz" bash "$HC" "$P_MC"
wait_for 20 "worker /healthz" bash "$HC" "$P_MW"
grep -q "CURVE on" "$T/broker.log" || fail "the broker did not turn CURVE on with the compose environment"
# The worker's CURVE handshake with the broker (w1's key, on the allow-list) succeeded.
wait_for 20 "the worker to join the broker" grep -q "worker joined" "$T/broker.log"
! grep -qi "refused\|handshake failed" "$T/broker.log" "$T/worker.log" "$T/collector.log" \
  || fail "a CURVE handshake was refused"
bash "$HC" "$(free_port)" "$P_MB" || fail "the health check should pass when one of its ports answers"
! bash "$HC" "$(free_port)" 2>/dev/null || fail "the health check passes with nothing listening"
ok "broker, collector and worker run with the compose environment; the image's health check passes"

# The entrypoint: the LLM key from a secret file when the variable is empty, never over it.
EP="$DEPLOY/cluster/image/entrypoint.sh"
printf 'sk-from-file\n' >"$T/llm_key"
out="$(env -u ARXDIGEST_LLM_API_KEY AX_LLM_API_KEY_FILE="$T/llm_key" sh "$EP" sh -c 'echo "$ARXDIGEST_LLM_API_KEY|${AX_LLM_API_KEY_FILE-unset}"')"
[ "$out" = "sk-from-file|unset" ] || fail "entrypoint: key not read from the secret file ($out)"
out="$(ARXDIGEST_LLM_API_KEY=sk-env AX_LLM_API_KEY_FILE="$T/llm_key" sh "$EP" sh -c 'echo "$ARXDIGEST_LLM_API_KEY"')"
[ "$out" = "sk-env" ] || fail "entrypoint: the file overrode the environment"
out="$(env -u ARXDIGEST_LLM_API_KEY AX_LLM_API_KEY_FILE=/dev/null sh "$EP" sh -c 'echo "[${ARXDIGEST_LLM_API_KEY-unset}]"')"
[ "$out" = "[unset]" ] || fail "entrypoint: /dev/null (no secret) should leave the key unset ($out)"
ok "entrypoint: LLM key from the secret file, the environment wins, /dev/null means none"

echo "test_deploy_files: all checks passed"

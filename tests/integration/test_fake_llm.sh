#!/usr/bin/env bash
# The fake LLM server (tests/fake_llm/fake_llm.py) that the LLM tests and benchmarks use in
# place of DeepSeek/OpenAI: real answers for real ids, the recorded 401, RPM/TPM 429s with
# their headers and recovery, every fault kind, request validation against OpenAI's spec,
# /_stats, flags as well as /_control, and enough speed not to be the bottleneck.
source "$(dirname "$0")/lib.sh"
SAMPLE="$AX_SOURCE_DIR/tests/data/llm/sample_real.jsonl"
SPEC_YAML="$AX_SOURCE_DIR/../shared/fixtures/llm/openai-openapi.yaml"

start_fake() { start_fake_llm "$@"; }

# 1. everything the selftest checks, on a server with two keys and no other option
start_fake fake --api-key sk-test-1 --api-key sk-test-2
"$PY" "$FL/selftest.py" "$PORT" "$SAMPLE"

# 2. flags (not /_control): a garbage answer by count, then a normal one, then the RPM limit
start_fake flags --api-key k --rpm 2 --fail-garbage-next 1 --latency-ms 50
url="http://127.0.0.1:$PORT/chat/completions"
id="$(head -n 1 "$SAMPLE" | "$PY" -c 'import json,sys; print(json.loads(sys.stdin.readline())["id"])')"
body='{"model":"m","messages":[{"role":"system","content":"Answer in English, one JSON object."},{"role":"user","content":"arXiv id: '"$id"'"}],"response_format":{"type":"json_object"}}'
content() { "$PY" -c 'import json,sys; print(json.load(sys.stdin)["choices"][0]["message"]["content"])'; }
r1="$(curl -sS -H 'Authorization: Bearer k' -d "$body" "$url" | content)"
case "$r1" in *"{"*) fail "first answer should be garbage: $r1" ;; esac
r2="$(curl -sS -H 'Authorization: Bearer k' -d "$body" "$url" | content)"
echo "$r2" | "$PY" -c 'import json,sys; a=json.load(sys.stdin); assert a["company"]=="unknown" and 1<=a["score"]<=5' \
  || fail "second answer should be the real one: $r2"
code="$(curl -sS -o "$T/429.json" -D "$T/429.h" -w '%{http_code}' -H 'Authorization: Bearer k' -d "$body" "$url")"
[ "$code" = 429 ] || fail "third request: $code, not 429"
grep -qi '^retry-after: [1-9][0-9]*' "$T/429.h" || fail "no Retry-After"
grep -qi '^x-ratelimit-reset-requests: ' "$T/429.h" || fail "no x-ratelimit-reset-requests"
grep -q '"code": "rate_limit_exceeded"' "$T/429.json" || fail "not rate_limit_exceeded"
code="$(curl -sS -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer nope' -d "$body" "$url")"
[ "$code" = 401 ] || fail "wrong key: $code"
ok "flags: --fail-garbage-next, --rpm (429 with Retry-After over curl), --api-key"

# 3. not the bottleneck: 256 connections against 200 ms answers (serialised would be 5/s)
start_fake speed --latency-ms 200
out="$("$PY" "$FL/load.py" --port "$PORT" --concurrency 256 --duration 3)"
echo "   load: $out"
echo "$out" | "$PY" -c 'import json,sys; d=json.load(sys.stdin); assert d["rps"] >= 400 and d["status"] == {"200": d["requests"]}, d' \
  || fail "too slow: $out"
ok "256 concurrent 200 ms answers: $(echo "$out" | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["rps"])') req/s"

# 4. validate.py's constants are the spec's (when the shared spec and PyYAML are at hand)
if [ -f "$SPEC_YAML" ] && "$PY" -c 'import yaml' 2>/dev/null; then
  "$PY" "$FL/check_schema.py" "$SPEC_YAML" || fail "validate.py differs from openai-openapi.yaml"
  ok "validate.py matches openai-openapi.yaml"
else
  echo "skip - check_schema.py (no $SPEC_YAML or no python3-yaml)"
fi

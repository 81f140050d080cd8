#!/bin/sh
# arxdigest-entrypoint: the image's entrypoint. Runs its arguments (a daemon or the
# arxdigest command line) as PID 1, after one step: the LLM API key may come from a file
# (a Docker secret) instead of the environment.
#
#   AX_LLM_API_KEY_FILE   file holding the key (default /run/secrets/llm_api_key); used only
#                         when the key's variable is empty. An empty file (the compose files
#                         mount /dev/null when no secret is given) means no key.
#
# The key's variable is ARXDIGEST_LLM_API_KEY, or the one named by ARXDIGEST_LLM_API_KEY_ENV
# (llm.api_key_env). The file's path deliberately has no ARXDIGEST_ name: every ARXDIGEST_*
# variable must be a config key, or the daemons refuse to start.
set -eu

key_var="${ARXDIGEST_LLM_API_KEY_ENV:-ARXDIGEST_LLM_API_KEY}"
key_file="${AX_LLM_API_KEY_FILE:-/run/secrets/llm_api_key}"
case "$key_var" in
  ''|[0-9]*|*[!A-Za-z0-9_]*) echo "arxdigest-entrypoint: bad ARXDIGEST_LLM_API_KEY_ENV '$key_var'" >&2; exit 2 ;;
esac
eval "current=\${$key_var:-}"
if [ -z "$current" ] && [ -r "$key_file" ] && [ -s "$key_file" ]; then
  # first line, without the trailing newline or carriage return an editor may leave
  key="$(head -n 1 "$key_file" | tr -d '\r\n')"
  if [ -n "$key" ]; then
    export "$key_var=$key"
  fi
fi
unset AX_LLM_API_KEY_FILE current key

if [ "$#" -eq 0 ]; then set -- arxdigest --help; fi
exec "$@"

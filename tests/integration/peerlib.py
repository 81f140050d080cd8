"""peerlib.py: what the fake-peer scripts of the integration tests share: TAP-like checks
and a redis-cli shortcut."""
import subprocess
import sys


def check(cond, msg):
    """Prints "ok - msg", or "FAIL: msg" and exits 1."""
    if not cond:
        print("FAIL:", msg)
        sys.exit(1)
    print("ok -", msg)


def redis_cli(port, *args):
    """Output of one redis-cli command against the test's redis-server (stripped)."""
    return subprocess.run(["redis-cli", "-p", str(port), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def redis_cli_bytes(port, value, *args):
    """redis-cli ARGS... with `value` (bytes) as its last argument (-x: read from stdin),
    for binary values such as packed papers."""
    return subprocess.run(["redis-cli", "-p", str(port), "-x", *args], input=value, capture_output=True,
                          check=True).stdout.decode().strip()

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

"""One JSON line per event on stdout (the journal keeps it): {"time":…,"event":…,…}. Never pass a secret."""
import datetime
import json
import sys
import threading

_lock = threading.Lock()


def event(name, **fields):
    """Writes one event line, flushed at once (stdout is a pipe under systemd, block-buffered otherwise)."""
    now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    line = json.dumps({"time": now, "event": name, **fields}, separators=(",", ":"), default=str)
    with _lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def fatal(message):
    """What an operator reads in `journalctl -u bluegreen-app` when the app cannot start: plain text on stderr."""
    sys.stderr.write(f"goals: fatal: {message}\n")
    sys.stderr.flush()

"""The app as a process: `python3 -B -m goals` (bin/start runs it, from the release directory).

Reads the settings (a bad one: exit 2 before listening, naming it and the fix), listens on 127.0.0.1:$PORT, checks
the database with bounded retries on transient errors (then /health answers 200), and serves until it is stopped.
Gives up (exit 1) when the database refuses the login or address, or has not answered after the retries: systemd
restarts it (Restart=on-failure), and the deploy fails if it never becomes healthy. No SIGTERM handler: the default
action ends the process, and the product's local proxy has already drained it.
"""
import os
import sys
import threading

from . import log
from .config import HOST, ConfigError, read_config
from .database import Store, classify, with_retry
from .server import AppState, make_server

#: The start check: 8 attempts, 250 ms doubling to 5 s (about 20 s in all), as the Node sample's readiness check.
START_ATTEMPTS, START_BASE_DELAY, START_MAX_DELAY = 8, 0.25, 5.0

RELEASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def where(db):
    """The database as it may be printed: dialect, host, port and name (never the URL: it holds the password)."""
    return f"{db.dialect}://{db.host}:{db.port}/{db.database}"


def main():
    try:
        config = read_config(os.environ, RELEASE_DIR)
    except ConfigError as e:
        log.fatal(str(e))
        return 2
    if config.fault == "crash-on-start":
        log.fatal("APP_FAULT=crash-on-start: crashing on start, as asked (unset APP_FAULT to run normally).")
        return 1

    def retry_event(**fields):
        log.event("db-retry", **fields)

    store = Store(config.database, config.version, retry_event)
    state = AppState(config, store)
    try:
        server = make_server(HOST, config.port, state)
    except OSError as e:
        log.fatal(f"cannot listen on {HOST}:{config.port}: {e.strerror or e}; is another process on that port?")
        return 1
    threading.Thread(target=server.serve_forever, name="http", daemon=True).start()
    log.event("listening", host=HOST, port=config.port, servedBy=config.served_by, database=where(config.database))

    try:
        with_retry(store.ping, START_ATTEMPTS, START_BASE_DELAY, START_MAX_DELAY, lambda **f: log.event("database-not-ready", **f))
    except Exception as e:  # noqa: BLE001 - every way the check fails ends the process with its reason
        kind, code, meaning = classify(e)
        if kind == "refused":
            why = f"refused the app: {meaning}"
        elif kind in ("transient", "unreachable"):
            why = f"did not answer in {START_ATTEMPTS} attempts (about 20 s)"
        else:
            why = "failed"
        log.event("database-failed", kind=kind, code=code)
        log.fatal(f"the database {where(config.database)} {why} ({str(e).strip()}); the app exits, systemd starts it again")
        return 1
    state.ready.set()
    log.event("ready", servedBy=config.served_by, schema={"column": store.column, "readRoutine": store.routine})
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The HTTP side, the same API as the Node sample (app/src/server.ts), on http.server's ThreadingHTTPServer.

  GET /health        200 {"status":"ok"} once the database answered at start; 503 before (or under APP_FAULT=unhealthy).
                     No database call: the probes ask it every few seconds on every VM.
  GET /, /version    {"version", "color"}
  GET /goals?limit=N the newest goals, N from 1 to 100 (default 20): {"goals": [{"id","title","createdAt"}]}
  POST /goals        {"title": "…"} → 201 and the goal as stored
  GET /slow?ms=N     sleeps N ms (at most 30 000), then {"sleptMs": N}

Under APP_FAULT=errors-after-flip, once the file APP_FAULT_MARKER exists (the rehearsal creates it at the flip), one
request in five other than /health is answered 503 with `x-fault: injected`, as the Node sample does.

Every response carries `x-served-by: <color>@<version>` (the rehearsal's load counts by it). No drain and no
connection-age logic: the product's local proxy in front of the app moves keep-alive clients and drains requests.
"""
import http.server
import json
import os
import threading
import time
import urllib.parse

from . import log
from .database import MAX_TITLE_LENGTH, classify, is_driver_error

SERVED_BY_HEADER = "x-served-by"
#: Under APP_FAULT=errors-after-flip, one request in this many fails once the build takes production traffic.
INJECTED_ERROR_EVERY = 5
FAULT_HEADER = "x-fault"
MAX_SLOW_MS = 30_000
MAX_BODY_BYTES = 16 * 1024
EXAMPLE = '{"title": "Run a marathon"}'


class HttpError(Exception):
    def __init__(self, status, message, close=False):
        super().__init__(message)
        self.status = status
        self.close = close


class AppState:
    """What the handlers share: the settings, the store, and whether the database answered at start."""

    def __init__(self, config, store):
        self.config = config
        self.store = store
        self.ready = threading.Event()
        self._production_requests = 0
        self._lock = threading.Lock()

    def injects_error(self, path):
        """True when this request gets the injected 503 of APP_FAULT=errors-after-flip (see app/src/faults.ts)."""
        config = self.config
        if config.fault != "errors-after-flip" or path == "/health" or not os.path.exists(config.fault_marker):
            return False
        with self._lock:
            self._production_requests += 1
            return self._production_requests % INJECTED_ERROR_EVERY == 0


def parse_new_goal(body):
    """The title of a POST /goals body, or HttpError(400) saying what is wrong (lengths in UTF-16 code units, as NVARCHAR counts)."""
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise HttpError(400, f"body is not JSON; send {EXAMPLE}") from None
    title = data.get("title") if isinstance(data, dict) else None
    if not isinstance(title, str) or title.strip() == "":
        raise HttpError(400, f"title is missing or empty; send {EXAMPLE}")
    try:
        units = len(title.encode("utf-16-le")) // 2
    except UnicodeEncodeError:
        raise HttpError(400, "title contains a lone UTF-16 surrogate, which is not a character; send valid Unicode") from None
    if units > MAX_TITLE_LENGTH:
        raise HttpError(400, f"title is {units} UTF-16 code units long; at most {MAX_TITLE_LENGTH} are allowed (most characters count 1, "
                             "emoji and other characters outside the Basic Multilingual Plane count 2)")
    if "\u0000" in title:
        raise HttpError(400, "title contains a NUL character (\\u0000), which a title cannot hold (PostgreSQL cannot store it at all); remove it")
    return title.strip()


def list_limit(query):
    raw = query.get("limit", [None])[0]
    if raw is None:
        return 20
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise HttpError(400, f"limit={raw} must be an integer from 1 to 100")
    return int(raw)


def slow_ms(query):
    try:
        ms = float(query.get("ms", ["0"])[0])
    except ValueError:
        ms = 0
    return int(min(max(ms if ms == ms else 0, 0), MAX_SLOW_MS))


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the proxy in front expects
    server_version = "goals-python"
    sys_version = ""
    state: AppState = None  # set by make_server

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # no line per request: events only (see log.py)

    def do_GET(self):
        self._serve("GET")

    def do_HEAD(self):
        self._serve("HEAD")

    def do_POST(self):
        self._serve("POST")

    def do_PUT(self):
        self._serve("PUT")

    def do_DELETE(self):
        self._serve("DELETE")

    def do_PATCH(self):
        self._serve("PATCH")

    def _serve(self, method):
        self._body_read = False
        if self.state.injects_error(urllib.parse.urlsplit(self.path).path):
            unread = self.headers.get("Content-Length", "0") != "0" or "Transfer-Encoding" in self.headers
            self._send(503, {"error": "injected fault: APP_FAULT=errors-after-flip fails one request in five in production"},
                       close=unread, headers={FAULT_HEADER: "injected"})
            return
        try:
            status, body = self._route(method)
            self._send(status, body, head=method == "HEAD")
        except HttpError as e:
            # A body left unread would be taken for the next request: close the connection instead.
            unread = not self._body_read and (self.headers.get("Content-Length", "0") != "0" or "Transfer-Encoding" in self.headers)
            self._send(e.status, {"error": str(e)}, close=e.close or unread)
        except Exception as e:  # noqa: BLE001 - every failure gets an answer
            if not is_driver_error(e):
                log.event("request-failed", path=self.path, error=type(e).__name__, message=str(e).strip()[:300])
                self._send(500, {"error": "internal error; see the app's log"})
            else:
                _, code, _ = classify(e)
                log.event("request-failed", path=self.path, code=code or getattr(e, "pgcode", None), message=str(e).strip()[:300])
                self._send(503, {"error": "the database did not answer; retry shortly"})

    def _route(self, method):
        state = self.state
        config = state.config
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)

        def only(*allowed):
            if method not in allowed:
                raise HttpError(405, f"{method} is not allowed on {url.path}; use {' or '.join(allowed)}")

        if url.path == "/health":
            only("GET", "HEAD")
            if config.fault == "unhealthy":
                return 503, {"status": "unhealthy"}
            return (200, {"status": "ok"}) if state.ready.is_set() else (503, {"status": "starting"})
        if url.path in ("/", "/version"):
            only("GET", "HEAD")
            return 200, {"version": config.reported_version, "color": config.color}
        if url.path == "/goals":
            only("GET", "POST")
            if method == "GET":
                return 200, {"goals": state.store.list(list_limit(query))}
            return 201, state.store.add(parse_new_goal(self._body()))
        if url.path == "/slow":
            only("GET")
            ms = slow_ms(query)
            time.sleep(ms / 1000)
            return 200, {"sleptMs": ms}
        raise HttpError(404, f"no route {url.path}; try /health, /version or /goals")

    def _body(self):
        """The request body (Content-Length or chunked), or HttpError 413 past MAX_BODY_BYTES."""
        self._body_read = True
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks, size = [], 0
            while True:
                length = int(self.rfile.readline(64).split(b";")[0].strip() or b"0", 16)
                if length == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                size += length
                if size > MAX_BODY_BYTES:
                    raise HttpError(413, f"body larger than {MAX_BODY_BYTES} bytes", close=True)
                chunks.append(self.rfile.read(length))
                self.rfile.readline(8)
        raw = self.headers.get("Content-Length") or "0"
        if not raw.isdigit():
            raise HttpError(400, f"Content-Length {raw!r} is not a number", close=True)
        length = int(raw)
        if length > MAX_BODY_BYTES:
            raise HttpError(413, f"body larger than {MAX_BODY_BYTES} bytes", close=True)
        return self.rfile.read(length)

    def _send(self, status, body, head=False, close=False, headers=None):
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-store")
        self.send_header(SERVED_BY_HEADER, self.state.config.served_by)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        try:
            self.end_headers()
            if not head:
                self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client left: nobody to answer


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True  # a request in flight does not keep a stopped process alive
    allow_reuse_address = True
    request_queue_size = 128


def make_server(host, port, state):
    """Binds host:port (raises OSError when it cannot); serve_forever() then answers."""
    handler = type("GoalsHandler", (Handler,), {"state": state})
    return Server((host, port), handler)

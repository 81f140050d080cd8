"""httpconn.py: the HTTP/1.1 side of fake_llm.py, one asyncio.Protocol per connection.

Parses the request line, the headers and a Content-Length or chunked body itself (the
standard library's http.server is far too slow for thousands of requests a second), sends
"100 Continue" when a client waits for it (curl does for larger bodies), keeps connections
alive, and answers pipelined requests one at a time in order. Answers are written by the
server (fake_llm.Server) through send / later / hang / cut / trickle, so a delayed answer
is a timer, never a blocked loop.

The server object provides: handle(conn, method, target, headers, body), response(status,
headers, body, close), error_body(message, type), finish(status), stats, loop.
"""
import asyncio
import traceback

REASONS = {200: "OK", 100: "Continue", 400: "Bad Request", 401: "Unauthorized",
           404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
           429: "Too Many Requests", 431: "Request Header Fields Too Large",
           500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}
MAX_BODY = 16 << 20
MAX_HEAD = 64 << 10
CHAT_PATHS = ("/chat/completions", "/v1/chat/completions")


class Conn(asyncio.Protocol):
    """One client connection: parses requests, answers them in order, one at a time."""

    def __init__(self, server):
        self.srv = server
        self.buf = bytearray()
        self.busy = False
        self.handles = []
        self.transport = None
        self.closed = False
        self.close_after = False
        self.continued = False
        self.chat_open = False

    def connection_made(self, transport):
        self.transport = transport
        st = self.srv.stats
        st.conn_open += 1
        st.conn_total += 1
        st.conn_max = max(st.conn_max, st.conn_open)

    def connection_lost(self, exc):
        self.closed = True
        self.srv.stats.conn_open -= 1
        for h in self.handles:
            h.cancel()
        self.handles = []
        if self.chat_open:
            self.chat_open = False
            self.srv.finish(None)

    def data_received(self, data):
        self.buf += data
        if not self.busy:
            self.next_request()

    def next_request(self):
        """Parses one complete request from the buffer, if there is one, and handles it."""
        buf = self.buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_HEAD:
                self.fail(431, "request head too large")
            return
        try:
            lines = bytes(buf[:end]).decode("latin-1").split("\r\n")
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return self.fail(400, "malformed request line")
        headers = {}
        for ln in lines[1:]:
            k, sep, v = ln.partition(":")
            if sep:
                headers[k.strip().lower()] = v.strip()
        start = end + 4
        conn_hdr = headers.get("connection", "").lower()
        self.close_after = conn_hdr == "close" or (version == "HTTP/1.0" and conn_hdr != "keep-alive")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            body, used = self.dechunk(start)
            if body is None:
                return self.expect_continue(headers, used)
        else:
            try:
                n = int(headers.get("content-length", "0"))
            except ValueError:
                return self.fail(400, "bad content-length")
            if n > MAX_BODY:
                return self.fail(413, "body too large")
            if len(buf) < start + n:
                return self.expect_continue(headers, 0)
            body = bytes(buf[start:start + n])
            used = start + n
        del buf[:used]
        self.busy = True
        self.continued = False
        self.chat_open = method == "POST" and target.split("?", 1)[0] in CHAT_PATHS
        try:
            self.srv.handle(self, method, target, headers, body)
        except Exception:       # a bug of ours: say so loudly, count it, answer 500
            traceback.print_exc()
            self.srv.stats.internal_errors += 1
            if self.busy and not self.handles:
                self.close_after = True
                self.send(self.srv.response(500, [], self.srv.error_body(
                    "fake_llm internal error (see its stderr)", "fake_llm_bug"), close=True), 500)

    def expect_continue(self, headers, err):
        if err == -1:
            return self.fail(400, "bad chunked body")
        if not self.continued and headers.get("expect", "").lower() == "100-continue":
            self.continued = True
            self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def dechunk(self, pos):
        """(body, bytes used) of a complete chunked body at pos, (None, 0) if incomplete,
        (None, -1) if malformed."""
        buf = self.buf
        out = bytearray()
        while True:
            eol = buf.find(b"\r\n", pos)
            if eol < 0:
                return None, 0
            try:
                size = int(bytes(buf[pos:eol]).split(b";")[0], 16)
            except ValueError:
                return None, -1
            pos = eol + 2
            if size == 0:
                end = buf.find(b"\r\n\r\n", pos - 2)
                if end < 0:
                    return None, 0
                return bytes(out), end + 4
            if len(buf) < pos + size + 2:
                return None, 0
            out += buf[pos:pos + size]
            pos += size + 2
            if len(out) > MAX_BODY:
                return None, -1

    def fail(self, status, why):
        if not self.closed:
            self.transport.write(self.srv.response(status, [], self.srv.error_body(
                why, "invalid_request_error"), close=True))
            self.transport.close()

    # ---- answering ----------------------------------------------------------------------
    def send(self, data, status=None):
        """Writes a whole response and moves on to the next request."""
        if self.closed:
            return
        self.handles = []
        self.transport.write(data)
        if self.chat_open:
            self.chat_open = False
            self.srv.finish(status if status is not None else int(data[9:12]))
        self.busy = False
        if self.close_after:
            self.transport.close()
        elif self.buf:          # a pipelined request: next loop turn (no deep recursion)
            self.srv.loop.call_soon(self.resume)

    def resume(self):
        if not self.busy and not self.closed:
            self.next_request()

    def later(self, delay, data, status):
        self.handles = [self.srv.loop.call_later(delay, self.send, data, status)]

    def hang(self, seconds):
        """Never answers: the connection is dropped after `seconds` (or when the client goes)."""
        self.handles = [self.srv.loop.call_later(seconds, self.drop)]

    def drop(self):
        if not self.closed:
            self.transport.close()

    def cut(self, partial, delay):
        """Sends the head and half of the body after `delay`, then closes the connection."""
        def go():
            if not self.closed:
                self.transport.write(partial)
                if self.chat_open:
                    self.chat_open = False
                    self.srv.finish(200)
                self.transport.close()
        self.handles = [self.srv.loop.call_later(delay, go)]

    def endless(self, srv, headers, delay):
        """A chunked 200 whose body never ends: the start of an answer, then 64 KiB chunks of
        one endless string for as long as the client reads (at most 1 MiB buffered here)."""
        head = srv.response(200, headers + [("transfer-encoding", "chunked")], b"",
                            close=self.close_after)
        head = head.replace(b"content-length: 0\r\n", b"")
        start = b'{"id": "chatcmpl-endless", "object": "chat.completion", "choices": [{"index": 0, ' \
                b'"message": {"role": "assistant", "content": "{\\"summary\\": \\"'
        piece = b"%x\r\n%s\r\n" % (65536, b"a" * 65536)

        def more():
            if self.closed:
                return
            if self.transport.get_write_buffer_size() < (1 << 20):
                self.transport.write(piece)
                srv.stats.endless_bytes += 65536
                self.handles = [srv.loop.call_soon(more)]
            else:
                self.handles = [srv.loop.call_later(0.001, more)]

        def go():
            if not self.closed:
                self.transport.write(head + b"%x\r\n%s\r\n" % (len(start), start))
                more()
        self.handles = [srv.loop.call_later(delay, go)]

    def trickle(self, srv, headers, body, delay):
        """DeepSeek while busy: a chunked 200 whose body starts with blank lines, sent at once
        and again half-way, and the JSON at the end."""
        head = srv.response(200, headers + [("transfer-encoding", "chunked")], b"",
                            close=self.close_after)
        head = head.replace(b"content-length: 0\r\n", b"")
        self.transport.write(head + b"2\r\n\n\n\r\n")

        final = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)

        def more():
            if not self.closed:
                self.transport.write(b"1\r\n\n\r\n")
                self.handles = [srv.loop.call_later(delay / 2, self.send, final, 200)]
        self.handles = [srv.loop.call_later(delay / 2, more)]

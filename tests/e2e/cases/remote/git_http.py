"""A smart-HTTP git server for remote.sh: git http-backend behind
http.server, serving the repositories under ROOT.

usage: git_http.py ROOT PORTFILE   (writes the port it listens on)
"""
import http.server
import os
import subprocess
import sys

root = sys.argv[1]


def body(handler):
    """The request's body, chunked or with a Content-Length."""
    if handler.headers.get("Transfer-Encoding", "").lower() != "chunked":
        return handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
    data = b""
    while True:
        size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
        if size == 0:
            handler.rfile.readline()
            return data
        data += handler.rfile.read(size)
        handler.rfile.readline()


class Backend(http.server.BaseHTTPRequestHandler):
    def run(self):
        path, _, query = self.path.partition("?")
        data = body(self)
        env = dict(os.environ, GIT_PROJECT_ROOT=root, GIT_HTTP_EXPORT_ALL="1",
                   PATH_INFO=path, QUERY_STRING=query,
                   REQUEST_METHOD=self.command,
                   CONTENT_TYPE=self.headers.get("Content-Type", ""),
                   CONTENT_LENGTH=str(len(data)), REMOTE_ADDR="127.0.0.1")
        gzip = self.headers.get("Content-Encoding")
        if gzip:
            env["HTTP_CONTENT_ENCODING"] = gzip
        out = subprocess.run(["git", "http-backend"], input=data, env=env,
                             capture_output=True, timeout=60).stdout
        sep = b"\r\n\r\n" if b"\r\n\r\n" in out else b"\n\n"
        head, _, payload = out.partition(sep)
        status, headers = 200, []
        for line in head.decode().splitlines():
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = run

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Backend)
with open(sys.argv[2], "w") as f:
    f.write(str(server.server_port))
server.serve_forever()

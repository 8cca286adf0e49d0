"""A tiny Jupyter kernel for tests/test_kernel.c.

Run as: python3 kernel_stub.py CONNECTION_FILE. Each line of a block is
a command:

    print X     X and a newline on stdout
    err X       X and a newline on stderr
    value X     an execute_result, text/plain X
    png         a display_data: image/png (base64) and text/plain
    big N       N bytes on stdout, in chunks
    clear       clear_output (wait false)
    count       adds 1 to a counter kept between blocks, prints it
    env NAME    the variable NAME of its environment, on stdout
    cwd         its working folder, on stdout
    fail        an error (a traceback of two lines); the reply is an error
    sleep N     sleeps N seconds; SIGINT or an interrupt_request stops it
    hang        ignores SIGINT and interrupt_request, sleeps for good
    input       asks for input on stdin whatever allow_stdin says (as
                IRkernel does), prints what it read
    badsig      a stream message with a wrong signature
    other       a stream message answering another session's request
    die         exits with status 3

STUB_MODE=exit in the environment: it writes a line to stderr and exits
with status 2 before binding anything; STUB_MODE=mute: it never answers.
STUB_NOSIGINT=1: SIGINT is ignored (interrupt_request still works).
"""

import base64
import datetime
import hashlib
import hmac
import json
import os
import signal
import sys
import time
import uuid

import zmq

# The smallest PNG: one transparent pixel.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)
DELIM = b"<IDS|MSG>"


class Stub:
    def __init__(self, conn):
        self.key = conn["key"].encode()
        self.session = str(uuid.uuid4())
        self.ctx = zmq.Context()
        url = "tcp://%s:%%d" % conn["ip"]
        self.shell = self.bind(zmq.ROUTER, url % conn["shell_port"])
        self.control = self.bind(zmq.ROUTER, url % conn["control_port"])
        self.stdin = self.bind(zmq.ROUTER, url % conn["stdin_port"])
        self.iopub = self.bind(zmq.PUB, url % conn["iopub_port"])
        self.hb = self.bind(zmq.REP, url % conn["hb_port"])
        self.count = 0

    def bind(self, kind, url):
        s = self.ctx.socket(kind)
        s.linger = 0
        s.bind(url)
        return s

    def sign(self, frames):
        h = hmac.new(self.key, digestmod=hashlib.sha256)
        for f in frames:
            h.update(f)
        return h.hexdigest().encode()

    def send(self, sock, kind, parent, content, idents=(), forge=False):
        header = {
            "msg_id": str(uuid.uuid4()),
            "session": self.session,
            "username": "stub",
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "msg_type": kind,
            "version": "5.3",
        }
        frames = [json.dumps(x).encode() for x in (header, parent, {}, content)]
        sig = b"0" * 64 if forge else self.sign(frames)
        sock.send_multipart(list(idents) + [DELIM, sig] + frames)

    def recv(self, sock):
        parts = sock.recv_multipart()
        i = parts.index(DELIM)
        sig, frames = parts[i + 1], parts[i + 2 : i + 6]
        if not hmac.compare_digest(sig, self.sign(frames)):
            raise ValueError("bad signature")
        header, parent, _, content = (json.loads(f) for f in frames)
        return parts[:i], header, content

    def pub(self, kind, parent, content, **kw):
        self.send(self.iopub, kind, parent, content, **kw)

    def stream(self, parent, name, text):
        self.pub("stream", parent, {"name": name, "text": text})

    def interrupted(self):
        """Whether an interrupt_request came on control (answered)."""
        while self.control.poll(0):
            idents, header, _ = self.recv(self.control)
            if header["msg_type"] == "interrupt_request":
                self.send(self.control, "interrupt_reply", header,
                          {"status": "ok"}, idents)
                return True
            if header["msg_type"] == "shutdown_request":
                sys.exit(0)
        return False

    def sleep(self, seconds):
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            if self.interrupted():
                raise KeyboardInterrupt
            time.sleep(0.02)

    def command(self, line, parent, idents):
        word, _, arg = line.partition(" ")
        if word == "print":
            self.stream(parent, "stdout", arg + "\n")
        elif word == "err":
            self.stream(parent, "stderr", arg + "\n")
        elif word == "value":
            self.pub("execute_result", parent, {
                "execution_count": 1, "data": {"text/plain": arg},
                "metadata": {}})
        elif word == "png":
            self.pub("display_data", parent, {
                "data": {"image/png": base64.b64encode(PNG).decode(),
                         "text/plain": "<a figure>"},
                "metadata": {"image/png": {"width": 1}}})
        elif word == "big":
            left = int(arg)
            while left > 0:
                n = min(left, 1000)
                self.stream(parent, "stdout", "x" * n)
                left -= n
        elif word == "clear":
            self.pub("clear_output", parent, {"wait": False})
        elif word == "count":
            self.count += 1
            self.stream(parent, "stdout", "%d\n" % self.count)
        elif word == "env":
            self.stream(parent, "stdout", os.environ.get(arg, "-") + "\n")
        elif word == "cwd":
            self.stream(parent, "stdout", os.getcwd() + "\n")
        elif word == "fail":
            raise RuntimeError("it failed")
        elif word == "sleep":
            self.sleep(float(arg))
        elif word == "hang":
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            while True:
                time.sleep(1)
        elif word == "input":
            self.send(self.stdin, "input_request", parent,
                      {"prompt": "name? ", "password": False}, idents)
            _, _, content = self.recv(self.stdin)
            self.stream(parent, "stdout", "read [%s]\n" % content["value"])
        elif word == "badsig":
            self.pub("stream", parent, {"name": "stdout",
                                        "text": "forged\n"}, forge=True)
        elif word == "other":
            other = dict(parent, session=str(uuid.uuid4()))
            self.stream(other, "stdout", "stranger\n")
        elif word == "die":
            time.sleep(0.5)  # what it published goes out first
            os._exit(3)
        else:
            raise ValueError("unknown command: " + word)

    def execute(self, idents, header, content):
        status, tb = "ok", None
        try:
            for line in content["code"].splitlines():
                if line.strip():
                    self.command(line.strip(), header, idents)
        except KeyboardInterrupt:
            status, tb = "error", ["KeyboardInterrupt", "  in the stub"]
        except Exception as e:
            status, tb = "error", ["Traceback: " + type(e).__name__,
                                   "  " + str(e)]
        if tb:
            self.pub("error", header, {"ename": tb[0], "evalue": tb[1],
                                       "traceback": tb})
        reply = {"status": status, "execution_count": 1}
        if tb:
            reply.update(ename=tb[0], evalue=tb[1], traceback=tb)
        self.send(self.shell, "execute_reply", header, reply, idents)

    def serve(self):
        poller = zmq.Poller()
        for s in (self.shell, self.control, self.hb):
            poller.register(s, zmq.POLLIN)
        while True:
            ready = dict(poller.poll())
            if self.hb in ready:
                self.hb.send(self.hb.recv())
            if self.control in ready:
                self.interrupted()
            if self.shell not in ready:
                continue
            idents, header, content = self.recv(self.shell)
            self.pub("status", header, {"execution_state": "busy"})
            kind = header["msg_type"]
            if kind == "kernel_info_request":
                self.send(self.shell, "kernel_info_reply", header, {
                    "status": "ok", "protocol_version": "5.3",
                    "implementation": "stub", "implementation_version": "1",
                    "language_info": {"name": "stub", "version": "1.0"},
                    "banner": "stub"}, idents)
            elif kind == "execute_request":
                self.execute(idents, header, content)
            self.pub("status", header, {"execution_state": "idle"})


def main():
    mode = os.environ.get("STUB_MODE", "")
    if mode == "exit":
        sys.stderr.write("stub: refusing to start\n")
        sys.exit(2)
    if os.environ.get("STUB_NOSIGINT"):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    with open(sys.argv[1]) as f:
        stub = Stub(json.load(f))
    if mode == "mute":
        while True:
            time.sleep(1)
    stub.serve()


if __name__ == "__main__":
    main()

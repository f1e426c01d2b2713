"""Starting provledgerd from a Python test: its stdout read unbuffered up
to the "listening on" line, so no announced address is left unread in a
buffer while the test waits on the pipe."""
import os
import select
import subprocess
import time


def start(args, timeout=20):
    """Starts `args` (provledgerd and its flags, with --listen H:0 and any
    --metrics/--http H:0) with stderr discarded. Returns (process, labels):
    labels maps "listening on", "metrics on", "http on" to what followed.
    Kills the process and raises RuntimeError if it does not announce its
    address within `timeout` seconds."""
    process = subprocess.Popen(args, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, bufsize=0)
    fd = process.stdout.fileno()
    text = b""
    deadline = time.monotonic() + timeout

    def announced():
        at = text.find(b"listening on ")
        return at >= 0 and text.find(b"\n", at) >= 0

    while not announced():
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        text += chunk
    labels = {}
    for line in text.decode("utf-8", "replace").splitlines():
        for label in ("listening on ", "metrics on ", "http on "):
            if line.startswith(label):
                labels[label.strip()] = line[len(label):].strip()
    if "listening on" not in labels:
        process.kill()
        process.wait()
        raise RuntimeError("provledgerd did not start: %r" % text)
    return process, labels

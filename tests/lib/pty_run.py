#!/usr/bin/env python3
"""pty_run.py - run a full-screen command in a pseudo-terminal, as a user would.

Starts CMD on a fresh pty (40x120), reads what it draws until REGEX matches
the screen text (escape sequences stripped) or --timeout passes, looks at
the terminal's mode while it runs, types KEYS, and waits at most
--exit-within seconds for it to end. Every wait is bounded: a command still
running then is killed (SIGKILL). Prints one line of key=value results:

  matched=0|1 exited=0|1 status=N elapsed_ms=N raw_during=0|1 restored=0|1

raw_during: canonical mode and echo were off while it ran (it took the
keyboard); restored: both are on again after it ended (on Linux the master
side reads the pty's termios). The whole output, raw, goes to --log.

usage: pty_run.py --expect REGEX [--timeout S] [--keys K] [--exit-within S]
                  [--log FILE] -- CMD [ARGS...]
"""
import argparse
import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ESCAPES = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]|\r")


def read_some(fd, wait):
    ready, _, _ = select.select([fd], [], [], wait)
    if not ready:
        return b""
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the child closed the terminal
        return None


def lflag(fd):
    try:
        return termios.tcgetattr(fd)[3]
    except termios.error:
        return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--expect", required=True)
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--keys", default="q")
    ap.add_argument("--exit-within", type=float, default=1.0)
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("cmd", nargs=argparse.REMAINDER)
    args = ap.parse_args()
    cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
    if not cmd:
        ap.error("no command")

    pid, fd = pty.fork()
    if pid == 0:
        try:
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    out = b""
    expect = re.compile(args.expect.encode(), re.M)
    matched = False
    raw_during = False
    end = time.monotonic() + args.timeout
    while time.monotonic() < end:
        chunk = read_some(fd, 0.1)
        if chunk is None:
            break
        out += chunk
        flags = lflag(fd)
        if flags is not None and not flags & (termios.ICANON | termios.ECHO):
            raw_during = True
        if expect.search(ESCAPES.sub(b"", out)):
            matched = True
            break
    # Let the same screen settle, then type as a user would.
    flags = lflag(fd)
    if flags is not None and not flags & (termios.ICANON | termios.ECHO):
        raw_during = True
    os.write(fd, args.keys.encode().decode("unicode_escape").encode("latin-1"))
    start = time.monotonic()
    status, exited = None, False
    while time.monotonic() - start < args.exit_within:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status, exited = st, True
            break
        chunk = read_some(fd, 0.01)
        if chunk:
            out += chunk
    elapsed_ms = int((time.monotonic() - start) * 1000)
    flags = lflag(fd)
    restored = flags is not None and (flags & termios.ICANON) and (flags & termios.ECHO)
    while True:  # what it wrote on its way out
        chunk = read_some(fd, 0.05)
        if not chunk:
            break
        out += chunk
    if not exited:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status) if hasattr(os, "waitstatus_to_exitcode") else (
        os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status))
    with open(args.log, "wb") as log:
        log.write(out)
    print("matched=%d exited=%d status=%d elapsed_ms=%d raw_during=%d restored=%d"
          % (matched, exited, code, elapsed_ms, raw_during, bool(restored)))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The tested process's side of a run: standard library only, called by :mod:`.confine` in
the process whose privileges it has just dropped.

It runs the code as module ``solution``, then each step of the reference in the same
namespace, in order. Before each *test* step it reads one line from the supervisor (a fresh
nonce) and after it answers ``NONCE [passed, error]``; a code that raises at import is told
first (``code_error "..."``). The supervisor accepts nothing else (see :mod:`.confine`): a
code that writes lines of its own into the pipe, before or after, ends its run as tampered.

What this cannot do: keep a program from subverting the interpreter it shares with its tests
(an object whose ``__eq__`` is always true, a thread that reads the nonce first). That is the
code's own score; no other run's, and never without a trace in ``info``.

Tested in ``tests/test_code_tests.py`` and ``tests/test_sandbox_attacks.py``.
"""

import json
import os
import sys
import traceback


def run(code, steps, commands_fd, replies_fd):
    commands = os.fdopen(commands_fd, "rb")
    replies = os.fdopen(replies_fd, "wb", buffering=0)
    namespace = {"__name__": "solution", "__builtins__": __builtins__}
    sys.argv = ["solution.py"]
    try:
        exec(compile(code, "solution.py", "exec"), namespace)
    except BaseException as exc:  # SystemExit too: the code may not end the run
        replies.write(b"code_error " + json.dumps(_describe(exc)).encode() + b"\n")
    for step in steps:
        nonce = commands.readline().strip() if step["test"] is not None else None
        try:
            exec(compile(step["source"], "tests.py", "exec"), namespace)
            error = None
        except BaseException as exc:
            error = _describe(exc)
        if nonce is not None:
            replies.write(nonce + b" " + json.dumps([error is None, error]).encode() + b"\n")


def _describe(exc):
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[-500:]

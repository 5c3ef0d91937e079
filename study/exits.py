"""How every `ganmap` command ends: its exit codes, and bad input as one exception.

A command returns one of the codes below; the CLI's `main` turns `BadInput` into a
short message on stderr and EXIT_BAD_INPUT, and an interrupt into EXIT_INTERRUPTED.
Messages echo what the user gave, so `shorten` bounds every line of them: a huge or
hostile value never floods the terminal.
"""

from __future__ import annotations

import contextlib
import logging
import os
import reprlib
import signal
import sys
import threading
from typing import NoReturn

EXIT_OK = 0  # done: every configuration of the study has a result
EXIT_ERROR = 1  # an unexpected error (a bug): Python's traceback
EXIT_BAD_INPUT = 2  # bad input (spec, option, output, a study in use); nothing ran
EXIT_INCOMPLETE = 3  # the study ran, but trials failed after their retries
EXIT_INTERRUPTED = 130  # Ctrl-C or SIGTERM (128 + SIGINT, as shells report it)

MAX_LINE, MAX_LINES = 500, 20  # room for paths and lists of allowed values, not for floods


class BadInput(Exception):
    """Input that cannot be run; the message names the key and what is allowed."""


def shorten(text: str, width: int = MAX_LINE, lines: int = MAX_LINES) -> str:
    """`text` with each line cut to `width` characters and at most `lines` lines."""
    kept = [line if len(line) <= width else line[: width - 3] + "..." for line in text.splitlines()]
    if len(kept) > lines:
        kept = [*kept[: lines - 1], f"... ({len(kept) - lines + 1} more lines)"]
    return "\n".join(kept)


_REPR = reprlib.Repr()  # attributes, not keywords: Python 3.10 and 3.11 have no keywords
_REPR.maxlevel, _REPR.maxlist, _REPR.maxdict = 3, 4, 4
_REPR.maxstring = _REPR.maxother = _REPR.maxlong = 40


def echo_value(value: object, width: int = 60) -> str:
    """A value as the user wrote it, for an error message: a repr bounded in size and
    cost (reprlib never walks more than a few items of a big or nested value)."""
    text = _REPR.repr(value)
    return text if len(text) <= width else text[: width - 3] + "..."


PUT_OFF_IN = ("logging",)  # modules whose own code an interrupt must not cut off halfway
PUT_OFF_S = 0.05
_steps_to_finish = 0  # > 0 while a step runs that must not be cut off (interrupts_put_off)


def interrupt(signum, frame) -> None:
    """SIGTERM and SIGINT as Ctrl-C: raise KeyboardInterrupt, but not inside logging's
    own code. Its fork hooks run holding logging's lock, and Python ignores an exception
    raised in a fork hook: the interrupt was lost there (a SIGTERMed driver ran on, CI
    saw it) and the lock never given back. Nor inside code run from source text
    (`in_source_text`). There, and in a step that must finish (interrupts_put_off), the
    interrupt is put off PUT_OFF_S seconds with SIGALRM, which comes back here."""
    in_logging = frame is not None and frame.f_globals.get("__name__") in PUT_OFF_IN
    if in_logging or _steps_to_finish or in_source_text(frame):
        signal.setitimer(signal.ITIMER_REAL, PUT_OFF_S)
        return
    raise KeyboardInterrupt


def in_source_text(frame) -> bool:
    """Whether code that exec or eval runs from a string (dataclasses and namedtuple build
    their methods so, many at each import) is on the stack. A KeyboardInterrupt raised
    through it sets CPython's unhandled-interrupt flag even when it is caught later, and
    `python -m study.cli` then ends by SIGINT whatever code it returns (-2 to its parent,
    not 130). The program's own outermost frame (`python -c`'s is "<string>" too) is
    not such code."""
    while frame is not None and frame.f_back is not None:
        if frame.f_code.co_filename == "<string>":
            return True
        frame = frame.f_back
    return False


@contextlib.contextmanager
def interrupt_signals():
    """While a study runs: SIGTERM (`ray job stop`, kill) and SIGINT end it as Ctrl-C
    does, SIGINT even where the driver started with it ignored (a script's background job
    inherits SIG_IGN), so that `kill -INT` and a lost lease stop it too."""
    signals = (signal.SIGTERM, signal.SIGINT, signal.SIGALRM)
    before = {number: signal.signal(number, interrupt) for number in signals}
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for number, handler in before.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def interrupts_put_off():
    """Around a step that, once begun, must finish: taking or giving back the lease (a
    lease file written must be removed). Under interrupt_signals an interrupt arriving
    meanwhile comes right after the step (CI saw a SIGTERM land as the lease was taken)."""
    global _steps_to_finish
    _steps_to_finish += 1
    try:
        yield
    finally:
        _steps_to_finish -= 1


def exit_at_once(code: int) -> NoReturn:
    """End the process with `code` now, without the interpreter's teardown (atexit
    handlers, C++ destructors): for a driver whose Ray start an interrupt cut short,
    whose teardown would crash (runner.stop_half_started_ray). Output is flushed first."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


INTERRUPTS = (signal.SIGTERM, signal.SIGINT)


@contextlib.contextmanager
def handlers_given_back():
    """Around code that sets its own SIGTERM handler (ray.init sets `sys.exit`): give
    the caller's SIGTERM and SIGINT handlers back after it, and if either signal came
    meanwhile but did not end the code, raise KeyboardInterrupt then. Ray's SystemExit
    is lost like any exception raised in a fork hook, and ray.init forks (CI saw a
    SIGTERMed driver run on). Python writes each signal's number to the wakeup fd,
    whichever handler takes it, so nothing that arrives goes unseen."""
    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread sets handlers or receives signals
        return
    before = {number: signal.getsignal(number) for number in INTERRUPTS}
    read, write = os.pipe()
    os.set_blocking(read, False)
    os.set_blocking(write, False)
    earlier_fd = signal.set_wakeup_fd(write)
    try:
        yield
    finally:
        signal.set_wakeup_fd(earlier_fd)
        for number, handler in before.items():
            if handler is not None:  # None: set outside Python, cannot be given back
                signal.signal(number, handler)
        arrived = _read_all(read)
        os.close(read)
        os.close(write)
    if set(arrived) & set(INTERRUPTS):
        raise KeyboardInterrupt


def _read_all(fd: int) -> bytes:
    """What a non-blocking pipe holds now."""
    chunks = []
    while True:
        try:
            chunk = os.read(fd, 4096)
        except BlockingIOError:
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)

"""One driver per study: an exclusive lease on its output, on a local disk or an object store.

A driver holds its study's output while it runs: a small JSON file `lease/<token>.json`
in the output (owner pid and host, a random token, when it started, a heartbeat that a
background thread rewrites every `heartbeat_s`). To take the lease a driver removes
stale candidates, writes its own (atomically, as every file of the store), then lists
the folder: if another live candidate is there, it lost, removes its own and is refused
with the holder's name. A store that lists what was written before it (a local disk;
S3, which has been strongly consistent since 2020) never lets two drivers both win:
whichever wrote second sees the first. In a near tie both may lose; a rerun then wins.

A candidate is stale when its heartbeat is older than `stale_after_s`, or at once when
it names this host (and PID namespace: a container may share the host's name) and a
process that no longer exists (a driver killed here). The
lease is released, and its folder removed when empty, when the `with` block ends,
whatever ends it; a driver killed outright (SIGKILL) leaves a candidate that is stale
by the time its next driver looks, or after `stale_after_s`.
"""

from __future__ import annotations

import _thread
import json
import os
import socket
import sys
import threading
import time
import uuid

from pyarrow import fs as pafs

from study.exits import interrupts_put_off
from study.results import LEASE_FOLDER as FOLDER
from study.results import ResultsStore

HEARTBEAT_S, STALE_AFTER_S = 10.0, 60.0


class LeaseHeld(RuntimeError):
    """Another live driver holds the study's output; the message names it."""


class Lease:
    """The exclusive right to run the study whose output is `store`."""

    def __init__(
        self, store: ResultsStore, heartbeat_s: float = HEARTBEAT_S,
        stale_after_s: float = STALE_AFTER_S,
    ):  # fmt: skip
        self.store, self.heartbeat_s, self.stale_after_s = store, heartbeat_s, stale_after_s
        self.token = uuid.uuid4().hex
        self.name = f"{FOLDER}/{self.token}.json"
        self.owner = {"pid": os.getpid(), "host": socket.gethostname(), "pid_ns": _pid_ns(),
                      "token": self.token, "started": time.time()}  # fmt: skip
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._created_root = False

    def __enter__(self) -> Lease:
        with interrupts_put_off():  # a lease written is a lease the `with` gives back
            self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        with interrupts_put_off():
            self.release()

    def check(self) -> None:
        """Raise LeaseHeld if a live driver holds the lease (reads only)."""
        live = [h for h in self._candidates().values() if h is not None and not self._stale(h)]
        if live:
            raise LeaseHeld(self._describe(live[0]))

    def acquire(self) -> None:
        """Take the lease, or raise LeaseHeld naming the live driver that holds it."""
        self._created_root = not self._exists(self.store.root)
        for name, holder in self._candidates().items():
            if holder is None or self._stale(holder):
                self._delete(name)
        self._write()
        rivals = [h for n, h in self._candidates().items() if n != self.name and h is not None]
        live = [holder for holder in rivals if not self._stale(holder)]
        if live:
            self._remove_own()
            raise LeaseHeld(self._describe(live[0]))
        self._thread = threading.Thread(target=self._beat, name="ganmap-lease", daemon=True)
        self._thread.start()

    def release(self) -> None:
        """Stop the heartbeat and remove the lease (and folders it alone created)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._remove_own()

    def _beat(self) -> None:
        """Rewrite the heartbeat; if another driver took the lease over (this one was
        silent too long, e.g. suspended), stop this driver as an interrupt would."""
        while not self._stop.wait(self.heartbeat_s):
            if not self.store.exists(self.name):
                print(f"ganmap: another driver took over {self.store.location}: stopping",
                      file=sys.stderr, flush=True)  # fmt: skip
                _thread.interrupt_main()
                return
            self._write()

    def _write(self) -> None:
        record = {**self.owner, "heartbeat": time.time()}
        self.store.write_bytes(self.name, json.dumps(record).encode())

    def _candidates(self) -> dict[str, dict | None]:
        """Lease files in the store by name; None for one that cannot be read."""
        selector = pafs.FileSelector(self.store.path(FOLDER), allow_not_found=True)
        names = [info.base_name for info in self.store.fs.get_file_info(selector)]
        found = {}
        for name in (f"{FOLDER}/{base}" for base in names if base.endswith(".json")):
            if name.rpartition("/")[2].startswith("."):
                continue  # a temporary file of an atomic write
            try:
                found[name] = json.loads(self.store.read_bytes(name))
            except (OSError, ValueError):
                found[name] = None
        return found

    def _stale(self, holder: dict) -> bool:
        try:
            silent = time.time() - float(holder["heartbeat"])
            here = holder["host"] == socket.gethostname() and holder.get("pid_ns") == _pid_ns()
            return silent > self.stale_after_s or (here and not _alive(int(holder["pid"])))
        except (KeyError, TypeError, ValueError):
            return True  # not a lease this ganmap wrote

    def _describe(self, holder: dict) -> str:
        silent = max(0.0, time.time() - float(holder["heartbeat"]))
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(holder["started"])))
        return (
            f"{self.store.location} is in use by another ganmap driver: pid {holder['pid']} on "
            f"host {holder['host']}, started {started}, last heartbeat {silent:.0f} s ago. "
            f"Wait for it to end, or stop it; a lease silent for {self.stale_after_s:.0f} s "
            "is taken over"
        )

    def _remove_own(self) -> None:
        try:
            self._delete(self.name)
            folder = self.store.path(FOLDER)
            if not self._listing(folder):
                self.store.fs.delete_dir(folder)
            if self._created_root and not self._listing(self.store.root):
                self.store.fs.delete_dir(self.store.root)
        except OSError:
            pass  # the store is gone or read-only now: nothing more to clean

    def _delete(self, name: str) -> None:
        try:
            self.store.fs.delete_file(self.store.path(name))
        except FileNotFoundError:
            pass

    def _listing(self, path: str) -> list:
        selector = pafs.FileSelector(path, allow_not_found=True)
        return self.store.fs.get_file_info(selector)

    def _exists(self, path: str) -> bool:
        return self.store.fs.get_file_info(path).type != pafs.FileType.NotFound


def _pid_ns() -> str:
    """This process's PID namespace (Linux), where process ids mean something; "" elsewhere."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, owned by someone else
    return True

"""One driver per study: the output's lease refuses a second driver, names the first, is
taken over when stale, and is released whatever ends the run (on S3: test_object_store)."""

import json
import logging
import os
import pathlib
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest
import yaml

from study import cli, runner
from study.exits import handlers_given_back, interrupt, interrupt_signals
from study.lease import FOLDER, Lease, LeaseHeld
from study.results import ResultsStore
from study.spec import parse_spec


def lease_file(folder, name, **fields):
    """A lease as another driver would have written it."""
    holder = {"pid": 1, "host": "elsewhere", "token": name, "started": time.time(),
              "heartbeat": time.time(), **fields}  # fmt: skip
    (folder / FOLDER).mkdir(parents=True, exist_ok=True)
    (folder / FOLDER / f"{name}.json").write_text(json.dumps(holder))


def test_a_second_driver_is_refused_and_told_who_holds_the_study(tmp_path):
    store = ResultsStore(str(tmp_path / "out"))
    with Lease(store):
        second = Lease(store)
        with pytest.raises(LeaseHeld) as refused:
            second.acquire()
        # The refusal names the holder: this process, on this host.
        message = str(refused.value)
        assert f"pid {os.getpid()} on host {socket.gethostname()}" in message
        assert "in use by another ganmap driver" in message
        # The refused driver left nothing behind: only the holder's lease file.
        assert len(list((tmp_path / "out" / FOLDER).iterdir())) == 1
        with pytest.raises(LeaseHeld):
            second.check()
    # Released: the lease folder and the output the lease alone created are gone...
    assert not (tmp_path / "out").exists()
    # ...and the next driver gets the study.
    with Lease(store):
        assert len(list((tmp_path / "out" / FOLDER).iterdir())) == 1


def test_the_lease_is_released_when_the_run_fails(tmp_path):
    store = ResultsStore(str(tmp_path))
    with pytest.raises(RuntimeError), Lease(store):
        raise RuntimeError("a bug in the run")
    # No lease left: the next driver is not refused.
    assert not (tmp_path / FOLDER).exists()
    Lease(store).check()


def test_a_live_lease_of_another_host_is_respected(tmp_path):
    lease_file(tmp_path, "other", heartbeat=time.time() - 5)
    with pytest.raises(LeaseHeld, match="pid 1 on host elsewhere.*last heartbeat 5 s ago"):
        Lease(ResultsStore(str(tmp_path)), stale_after_s=60).acquire()
    # The other driver's lease is untouched.
    assert (tmp_path / FOLDER / "other.json").exists()


def test_a_silent_lease_is_taken_over_after_the_timeout(tmp_path):
    lease_file(tmp_path, "old", heartbeat=time.time() - 61)
    with Lease(ResultsStore(str(tmp_path)), stale_after_s=60) as lease:
        # The stale lease was removed; this driver holds the study.
        assert [p.name for p in (tmp_path / FOLDER).iterdir()] == [f"{lease.token}.json"]


def test_a_lease_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lease_file(tmp_path, "killed", pid=dead.pid, host=socket.gethostname(),
               pid_ns=os.readlink("/proc/self/ns/pid"))  # fmt: skip
    # Its heartbeat is fresh, but its driver is gone (SIGKILL): no need to wait.
    with Lease(ResultsStore(str(tmp_path)), stale_after_s=3600) as lease:
        assert [p.name for p in (tmp_path / FOLDER).iterdir()] == [f"{lease.token}.json"]


def test_a_dead_pid_in_another_pid_namespace_is_not_taken_for_dead(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    # Same host name, other PID namespace (another container): its pid says nothing here.
    lease_file(tmp_path, "container", pid=dead.pid, host=socket.gethostname(), pid_ns="pid:[1]")
    with pytest.raises(LeaseHeld):
        Lease(ResultsStore(str(tmp_path)), stale_after_s=3600).acquire()


def test_an_unreadable_lease_file_does_not_block_the_study(tmp_path):
    (tmp_path / FOLDER).mkdir()
    (tmp_path / FOLDER / "garbage.json").write_text("{not json")
    with Lease(ResultsStore(str(tmp_path))) as lease:
        assert [p.name for p in (tmp_path / FOLDER).iterdir()] == [f"{lease.token}.json"]


def test_the_heartbeat_keeps_the_lease_fresh(tmp_path):
    with Lease(ResultsStore(str(tmp_path)), heartbeat_s=0.05) as lease:
        path = tmp_path / FOLDER / f"{lease.token}.json"
        first = json.loads(path.read_text())["heartbeat"]
        time.sleep(0.5)
        # Rewritten while the driver runs: a later heartbeat, the same owner.
        again = json.loads(path.read_text())
        assert again["heartbeat"] > first and again["pid"] == os.getpid()


def test_sigterm_ends_a_run_as_an_interrupt_and_releases_the_lease(tmp_path):
    """`ray job stop` and `kill` send SIGTERM: the driver ends as on Ctrl-C (exit 130,
    how to finish), and no lease is left to block the next driver."""
    out = tmp_path / "out"
    spec = {"name": "termed", "space": {"lr_g": [1e-3]}, "output": str(out),
            "fixed": {"hidden_dim": 16, "hidden_layers": 1, "steps": 100_000}}  # fmt: skip
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    driver = subprocess.Popen(
        [sys.executable, "-m", "study.cli", "run", str(tmp_path / "spec.yaml")],
        start_new_session=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not list((out / FOLDER).glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.2)
        driver.send_signal(signal.SIGTERM)
        output, _ = driver.communicate(timeout=120)
    finally:
        if driver.poll() is None:
            os.killpg(driver.pid, signal.SIGKILL)
            driver.wait()
    assert driver.returncode == 130, output
    assert "interrupted: 0 of 1 done; finish with `ganmap run" in output
    assert not (out / FOLDER).exists()


SIGNAL_AS_RAY_BUILDS_THE_DRIVER = """
import os, signal, sys
import ray._raylet
from study import cli

built = ray._raylet.CoreWorker
def built_then_signalled(*args, **kwargs):  # the signal lands as the constructor returns
    core_worker = built(*args, **kwargs)
    os.kill(os.getpid(), getattr(signal, sys.argv[2]))
    return core_worker
ray._raylet.CoreWorker = built_then_signalled
sys.exit(cli.main(["run", sys.argv[1]]))
"""


@pytest.mark.parametrize("signal_name", ["SIGTERM", "SIGINT"])
def test_an_interrupt_as_ray_starts_ends_the_run_with_130_and_stops_rays_processes(
    tmp_path, signal_name
):
    """An interrupt that lands as ray.init builds the driver's core worker left it
    running with no Python handle, and the driver crashed on its way out (SIGSEGV, exit
    -11; 6 of 115 SIGTERMs in a stress run). It ends as any interrupt does, and the Ray
    processes it started are gone."""
    ray_tmp = tempfile.mkdtemp(prefix="ganmap-ray-", dir="/tmp")  # short: Ray's sockets
    spec = {"name": "termed", "space": {"lr_g": [1e-3]}, "output": str(tmp_path / "out")}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    driver = subprocess.run(
        [sys.executable, "-c", SIGNAL_AS_RAY_BUILDS_THE_DRIVER, str(tmp_path / "spec.yaml"),
         signal_name],
        env={**os.environ, "RAY_TMPDIR": ray_tmp}, capture_output=True, text=True,
        timeout=120, start_new_session=True,
    )  # fmt: skip
    assert driver.returncode == 130, driver.stderr
    assert "interrupted: 0 of 1 done; finish with `ganmap run" in driver.stderr
    deadline = time.monotonic() + 30
    while processes_under(ray_tmp) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not processes_under(ray_tmp)


def processes_under(folder: str) -> list[str]:
    """Command lines of the processes that name `folder` (Ray's name their session's)."""
    found = []
    for proc in pathlib.Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = proc.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        if folder in line:
            found.append(line)
    return found


def signalled(step, after=False):
    """`step`, with this process sent SIGTERM just before it runs (or just after)."""

    def step_and_signal(*args):
        if not after:
            os.kill(os.getpid(), signal.SIGTERM)
        result = step(*args)
        if after:
            os.kill(os.getpid(), signal.SIGTERM)
        return result

    return step_and_signal


@pytest.mark.parametrize("step, after", [("_write", True), ("release", False)])
def test_an_interrupt_while_the_lease_is_taken_or_given_back_comes_after_it(
    tmp_path, monkeypatch, step, after
):
    """CI saw a SIGTERM land as the lease was taken: the interrupt must neither leave a
    lease file behind (written, not yet given back) nor stop the release before it
    removes the file; it comes once the step is done."""
    monkeypatch.setattr(Lease, step, signalled(getattr(Lease, step), after))
    with interrupt_signals():
        with pytest.raises(KeyboardInterrupt):
            with Lease(ResultsStore(str(tmp_path / "out"))):
                if step == "_write":
                    time.sleep(5)  # the interrupt arrives here, inside the `with` block
            time.sleep(5)  # after a release, here
    assert not (tmp_path / "out").exists()


def test_an_interrupt_before_the_study_starts_is_reported_as_an_interrupted_run(
    tmp_path, monkeypatch
):
    """A SIGTERM that lands as the spec is written (under the lease, before Ray starts)
    ends the run as any interrupt does: counted, how to finish, no lease left."""
    monkeypatch.setattr(runner, "prepare_output", signalled(runner.prepare_output))
    spec = parse_spec({"name": "early", "space": {"lr_g": [1e-3, 1e-4]},
                       "output": str(tmp_path / "out")})  # fmt: skip
    with interrupt_signals():
        outcome = runner.run_study(spec)
    assert (outcome.interrupted, outcome.total, outcome.done) == (True, 2, 0)
    assert not (tmp_path / "out" / FOLDER).exists()


def test_a_sigterm_while_ganmap_run_starts_up_ends_it_as_ctrl_c_would(
    tmp_path, monkeypatch, capsys
):
    """Reading the spec and importing Ray and torch take seconds: a SIGTERM then ends
    the command with exit 130 as Ctrl-C does (before, it killed the driver outright), and
    nothing is written."""
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump({"name": "early",
        "space": {"lr_g": [1e-3]}, "output": str(tmp_path / "out")}))  # fmt: skip
    monkeypatch.setattr(cli, "read_spec", signalled(cli.read_spec, after=True))
    assert cli.main(["run", str(tmp_path / "spec.yaml")]) == 130
    assert capsys.readouterr().err == "ganmap: interrupted\n"
    assert not (tmp_path / "out").exists()


def test_an_interrupt_inside_loggings_own_code_is_put_off_not_lost():
    """CI saw a SIGTERM land in logging's fork hook, where Python ignores the exception:
    the driver ran on. There the interrupt comes back a moment later, outside logging."""
    in_logging = eval("sys._getframe()", vars(logging))  # a frame running logging's code
    with interrupt_signals():
        try:
            interrupt(signal.SIGTERM, in_logging)  # put off: nothing raised inside logging...
        except KeyboardInterrupt:
            pytest.fail("raised inside logging's code, where a fork hook would lose it")
        with pytest.raises(KeyboardInterrupt):
            time.sleep(5)  # ...but it arrives here, well within the sleep
        with pytest.raises(KeyboardInterrupt):  # anywhere else it is immediate
            interrupt(signal.SIGTERM, sys._getframe())
    assert signal.getsignal(signal.SIGTERM) is not interrupt  # handlers given back


SOURCE_TEXT_DRIVER = """
import os, signal, sys, time
from study.exits import interrupt_signals
try:
    with interrupt_signals():
        exec("os.kill(os.getpid(), signal.SIGTERM)\\nfor _ in range(10 ** 6): pass")
        print("exec finished", flush=True)
        time.sleep(5)
except KeyboardInterrupt:
    print("interrupted", flush=True)
sys.exit(130)
"""


def test_an_interrupt_inside_code_run_from_source_text_is_put_off(tmp_path):
    """dataclasses and namedtuple build methods with exec of source text, many at each
    import: a KeyboardInterrupt raised through such code made `python -m study.cli` end
    by SIGINT (-2 to its parent) even though ganmap caught it and returned 130. The
    interrupt now comes once that code has run, and the driver's own exit code stands."""
    (tmp_path / "driver.py").write_text(SOURCE_TEXT_DRIVER)
    done = subprocess.run([sys.executable, "-m", "driver"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert (done.returncode, done.stdout) == (130, "exec finished\ninterrupted\n"), done.stderr


SIGTERM_IN_FORK_HOOK = []  # set: the next fork's parent hook sends this process SIGTERM
os.register_at_fork(
    after_in_parent=lambda: SIGTERM_IN_FORK_HOOK and os.kill(os.getpid(), signal.SIGTERM)
)


def test_a_sigterm_a_library_handler_lost_in_a_fork_hook_still_interrupts(monkeypatch):
    """ray.init sets SIGTERM to `sys.exit` and starts Ray's processes with a preexec_fn,
    so their forks run Python's fork hooks: a SIGTERM taken there raises SystemExit where
    Python ignores it (CI saw the driver run on). Once Ray is up, the interrupt comes."""
    lost = []
    monkeypatch.setattr(sys, "unraisablehook", lambda failure: lost.append(failure.exc_type))
    with interrupt_signals():
        with pytest.raises(KeyboardInterrupt):
            with handlers_given_back():
                signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))  # Ray's
                SIGTERM_IN_FORK_HOOK.append(True)
                try:
                    subprocess.run(["true"], preexec_fn=lambda: None, check=True)  # as Ray's
                finally:
                    SIGTERM_IN_FORK_HOOK.clear()
                assert lost == [SystemExit]  # Ray's handler ran, and its exit was lost
        assert signal.getsignal(signal.SIGTERM) is interrupt  # the caller's handler is back


def test_no_interrupt_is_raised_where_none_came():
    with interrupt_signals():
        with handlers_given_back():
            signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(signum))
        assert signal.getsignal(signal.SIGTERM) is interrupt


@pytest.fixture
def sigint_interrupts():
    """SIGINT raises KeyboardInterrupt, as `ganmap run` sets it, even where the test runner
    was started with SIGINT ignored (as a script's background job is)."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.mark.usefixtures("sigint_interrupts")
def test_a_driver_whose_lease_was_taken_over_stops(tmp_path):
    lease = Lease(ResultsStore(str(tmp_path)), heartbeat_s=0.05)
    with pytest.raises(KeyboardInterrupt), lease:
        # Another driver found this one silent and took the study over...
        (tmp_path / FOLDER / f"{lease.token}.json").unlink()
        # ...so its next heartbeat stops this one, as Ctrl-C would (the wait is long only
        # so that a loaded machine, where the heartbeat thread runs late, passes too).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            time.sleep(0.05)

"""Results and Tune's storage in an S3-compatible store (moto's server, on loopback)."""

import io
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pyarrow.fs as pafs
import pytest
import yaml

from analysis.load import load
from study import checkpoint
from study.lease import Lease, LeaseHeld
from study.results import ResultsStore

PORT = 5055  # outside Ray's worker ports (10002-19999)
S3_ENV = {
    "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://127.0.0.1:{PORT}",
}  # fmt: skip
SPEC = {
    "name": "s3study",
    "fixed": dict(problem="ring8", hidden_dim=16, hidden_layers=1, batch_size=64, steps=200,
                  eval_every=100, eval_samples=200),
    "space": {"lr_g": [5e-4, 2e-3]},
    "resources": {"checkpoint_every_s": 0.001},  # a population checkpoint at step 100
    "output": "s3://ganmap-test/studies/s3study",
}  # fmt: skip


@pytest.fixture(scope="module")
def s3():
    """moto's S3 server in its own session (stopped by pid), with one empty bucket."""
    server = Path(sys.executable).parent / "moto_server"
    process = subprocess.Popen([str(server), "-H", "127.0.0.1", "-p", str(PORT)],
                               start_new_session=True, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)  # fmt: skip
    patch = pytest.MonkeyPatch()
    try:
        _wait_for(f"http://127.0.0.1:{PORT}/")
        for name, value in S3_ENV.items():
            patch.setenv(name, value)
        store = pafs.S3FileSystem(endpoint_override=f"127.0.0.1:{PORT}", scheme="http",
                                  allow_bucket_creation=True)  # fmt: skip
        store.create_dir("ganmap-test")
        yield store
    finally:
        patch.undo()
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)


def _wait_for(url, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer")


def test_study_writes_to_s3_and_analysis_reads_it_back(s3, tmp_path):
    spec_path = tmp_path / "spec.yaml"
    spec_path.write_text(yaml.safe_dump(SPEC))
    run = subprocess.run([sys.executable, "-m", "study.cli", "run", str(spec_path)],
                         capture_output=True, text=True, timeout=300,
                         env={**os.environ, **S3_ENV})  # fmt: skip
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    listing = s3.get_file_info(pafs.FileSelector("ganmap-test/studies/s3study", recursive=True))
    names = {info.path.removeprefix("ganmap-test/studies/s3study/") for info in listing}
    # The table folders (a file per pack), the spec and Tune's storage are all in the bucket...
    (pack,) = {name.split("/")[1] for name in names if name.startswith("trials/")}
    assert {f"{table}/{pack}" for table in ("trials", "history", "samples")} <= names
    assert {"spec.yaml", "study.json"} <= names
    assert any(name.startswith("tune/") for name in names)
    assert not any(".tmp-" in name for name in names)
    # The driver's lease was released: nothing of it is left in the bucket.
    assert not any(name.startswith("lease") for name in names)
    # ...and analysis reads them back from the s3:// URI.
    results = load(SPEC["output"])
    assert len(results.trials) == 2 and results.trials.trial_id.is_unique
    assert len(results.history) == 2 * 3  # steps 0, 100, 200 per configuration
    # The pack's population checkpoint is in the bucket too, found and read back from it.
    store = ResultsStore(SPEC["output"])
    (saved,) = store.pack_checkpoints().values()
    state = checkpoint.load(io.BytesIO(store.read_bytes(saved)))
    assert state["step"] == 100 and len(state["configs"]) == 2


def test_the_lease_works_on_object_storage(s3):
    """Two drivers on one s3:// study: the second is refused, naming the first."""
    store = ResultsStore("s3://ganmap-test/studies/leased")
    with Lease(store, heartbeat_s=0.1) as first:
        with pytest.raises(LeaseHeld, match=f"pid {os.getpid()} on host"):
            Lease(ResultsStore("s3://ganmap-test/studies/leased")).acquire()
        time.sleep(0.5)
        # The holder's heartbeat goes on in the bucket; the refused driver left nothing.
        # (A heartbeat being rewritten shows as a hidden temporary name, which readers skip.)
        held = s3.get_file_info(pafs.FileSelector("ganmap-test/studies/leased/lease"))
        names = [info.base_name for info in held if not info.base_name.startswith(".")]
        assert names == [f"{first.token}.json"]
    # Released: the next driver gets it.
    with Lease(ResultsStore("s3://ganmap-test/studies/leased")):
        pass

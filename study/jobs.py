"""Submit studies to a Ray cluster as Ray Jobs, and follow them (`ganmap submit/jobs/...`).

The job ships ganmap's packages and the spec in its runtime_env working_dir and runs
`python -m study.cli run spec.yaml --address auto` on the cluster, whose Python
environment must already have ganmap's dependencies. Token authentication: the client
sends the token from RAY_AUTH_TOKEN or ~/.ray/auth_token (Ray's own loader).
"""

from __future__ import annotations

import os
import shlex
import shutil
import tempfile
import time
from pathlib import Path

from study.results import resolve
from study.spec import SpecError, load_spec

PROJECT = Path(__file__).resolve().parent.parent
SHIPPED = ("study", "analysis", "pyproject.toml")
PATIENCE_S = 300.0  # how long submit waits for a starting cluster's job agent


class SubmitError(ValueError):
    """An address, spec or output that cannot be submitted (exit code 2)."""


def client(address: str):
    """A JobSubmissionClient for the dashboard at `address`, with token auth when available."""
    if _token_available():
        os.environ.setdefault("RAY_AUTH_MODE", "token")
    from ray.job_submission import JobSubmissionClient

    try:
        return JobSubmissionClient(address)
    except Exception as error:  # Ray raises ConnectionError, RuntimeError or ValueError
        raise SubmitError(f"cannot reach a Ray dashboard at {address}: {error}") from None


def _token_available() -> bool:
    return bool(os.environ.get("RAY_AUTH_TOKEN")) or (Path.home() / ".ray" / "auth_token").exists()


def check_output(output: str) -> None:
    """Fail early on an output URI that pyarrow cannot open."""
    try:
        resolve(output)
    except Exception as error:
        raise SubmitError(f"--out {output}: not a usable folder or URI: {error}") from None


def stage(spec_path: str) -> Path:
    """A temporary working_dir holding ganmap's packages and the spec as spec.yaml."""
    folder = Path(tempfile.mkdtemp(prefix="ganmap-job-"))
    for name in SHIPPED:
        source = PROJECT / name
        if source.is_dir():
            shutil.copytree(source, folder / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, folder / name)
    shutil.copy2(spec_path, folder / "spec.yaml")
    return folder


def submit(
    spec_path: str, address: str, output: str | None = None, resume: bool = False,
    patience_s: float = PATIENCE_S, echo=print,
) -> str:  # fmt: skip
    """Validate locally, then submit the study as a Ray Job; returns the job id.

    A cluster that just started may have no job agent yet: submit waits for one up to
    `patience_s` seconds, saying so.
    """
    try:
        spec = load_spec(spec_path)
    except SpecError as error:
        raise SubmitError(str(error)) from None
    location = output or spec.output_location
    if "://" not in location and not os.path.isabs(location):
        raise SubmitError(
            f"results would go to {location!r}, inside the job's temporary working_dir: "
            "pass --out with an absolute shared path or a URI (s3://...)"
        )
    check_output(location)
    jobs = client(address)
    entrypoint = "python -m study.cli run spec.yaml --address auto"
    if output:
        entrypoint += f" --output {shlex.quote(output)}"
    if resume:
        entrypoint += " --resume"
    folder = stage(spec_path)
    runtime_env = {"working_dir": str(folder), "env_vars": _forwarded_env()}
    try:
        return submit_when_ready(jobs, entrypoint, runtime_env, patience_s, echo)
    except Exception as error:  # e.g. ray.exceptions.AuthenticationError: a wrong token
        raise SubmitError(f"the cluster at {address} refused the job: {error}") from None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def submit_when_ready(
    jobs, entrypoint: str, runtime_env: dict, patience_s: float, echo=print, poll_s: float = 2.0
) -> str:
    """Submit; while the cluster has no job agent yet, wait and retry up to `patience_s`."""
    deadline = time.monotonic() + patience_s
    said = False
    while True:
        try:
            return jobs.submit_job(entrypoint=entrypoint, runtime_env=runtime_env)
        except RuntimeError as error:
            if "No available agent" not in str(error):
                raise
            if time.monotonic() + poll_s > deadline:
                raise RuntimeError(
                    f"no job agent started within {patience_s:g} s (--patience): {error}"
                ) from None
            if not said:
                echo(f"waiting for the cluster's job agent to start (up to {patience_s:g} s)...")
                said = True
            time.sleep(poll_s)


def _forwarded_env() -> dict[str, str]:
    """Settings the driver on the cluster needs too (object-store credentials, loopback)."""
    names = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL",
             "AWS_DEFAULT_REGION", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")  # fmt: skip
    return {name: os.environ[name] for name in names if name in os.environ}


def follow(address: str, job_id: str, echo=print) -> tuple[str, int | None]:
    """Stream a job's logs until it ends; returns its final status and its driver's exit
    code (ganmap's exit codes; None where Ray does not know it)."""
    import asyncio

    jobs = client(address)

    async def tail() -> None:
        async for lines in jobs.tail_job_logs(job_id):
            echo(lines.rstrip("\n"))

    asyncio.run(tail())
    info = jobs.get_job_info(job_id)
    return str(info.status.value), getattr(info, "driver_exit_code", None)


def list_jobs(address: str) -> list[tuple[str, str, str]]:
    """(job id, status, entrypoint) of every job the cluster knows."""
    return [
        (job.submission_id or job.job_id or "", str(job.status.value), job.entrypoint)
        for job in client(address).list_jobs()
    ]


def status(address: str, job_id: str) -> str:
    return str(_known(address, job_id).get_job_status(job_id).value)


def stop(address: str, job_id: str) -> bool:
    return _known(address, job_id).stop_job(job_id)


def _known(address: str, job_id: str):
    jobs = client(address)
    try:
        jobs.get_job_info(job_id)
    except Exception:
        raise SubmitError(f"no job {job_id!r} on {address}") from None
    return jobs

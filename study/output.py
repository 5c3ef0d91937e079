"""A study's output location: checked before anything is written, prepared under the lease.

`check_location` says, without writing, whether results can go to a location at all
(`validate`, `run` and `submit` call it first). `check_output` compares what is already
there with the spec: a folder of other files is refused (ganmap never writes into
someone else's folder), a finished or running study needs `--resume`, and `--resume`
needs the same spec. `prepare_output` then writes the spec, or on resume clears what
dead trials left; the runner calls it only while it holds the output's lease.
"""

from __future__ import annotations

import os
import tempfile

import yaml
from pyarrow import fs as pafs

from study.results import (
    JOURNAL_FILE,
    LABELS_FILE,
    LEASE_FOLDER,
    OLD_TABLES,
    SPEC_FILE,
    STUDY_FILE,
    TUNE_FOLDER,
    OldLayout,
    ResultsStore,
    resolve,
)
from study.schema import TABLES
from study.spec import SpecError, StudySpec

REPORT_FOLDER = "report"  # `ganmap report`'s default output, inside the study's
# What a ganmap output holds at its top (the layout in study.results).
OWN_NAMES = {SPEC_FILE, STUDY_FILE, JOURNAL_FILE, TUNE_FOLDER, LEASE_FOLDER, REPORT_FOLDER,
             LABELS_FILE, *TABLES, *OLD_TABLES}  # fmt: skip


def check_location(location: str) -> None:
    """SpecError unless results can be written at `location`: a local folder whose nearest
    existing ancestor is a writable folder, or a URI pyarrow can open."""
    try:
        filesystem, path = resolve(location)
    except Exception as error:  # pyarrow raises ArrowInvalid, OSError, ValueError...
        raise SpecError(f"output {location}: not a usable folder or URI: {error}") from None
    if not isinstance(filesystem, pafs.LocalFileSystem):
        return  # an object store is checked by the first write (the lease)
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise SpecError(f"output {location}: {existing} is a file, not a folder")
    try:  # permissions alone do not tell (root, read-only mounts, /proc): try
        tempfile.TemporaryFile(dir=existing, prefix=".ganmap-probe-").close()
    except OSError as error:
        reason = error.strerror or str(error)
        raise SpecError(f"output {location}: cannot write in {existing}: {reason}") from None


def resolved_spec(spec: StudySpec) -> str:
    """The spec as it is saved beside its results (every default filled in)."""
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)


def check_output(store: ResultsStore, spec: StudySpec, resume: bool) -> None:
    """SpecError if the output cannot take this run of `spec` (nothing is written)."""
    if store.layout() == "single-file":
        raise SpecError(str(OldLayout(store.location)))
    foreign = sorted(set(store.top_names()) - OWN_NAMES)
    if foreign:
        shown = ", ".join(repr(name[:40]) for name in foreign[:3])
        more = f" and {len(foreign) - 3} more" if len(foreign) > 3 else ""
        raise SpecError(
            f"{store.location} holds files that are not ganmap's ({shown}{more}): "
            "choose a new or empty folder for the study's output"
        )
    if store.exists(SPEC_FILE):
        if not resume:
            raise SpecError(
                f"{store.location} already holds study results: pass --resume to finish "
                "them, or choose another output"
            )
        if store.read_bytes(SPEC_FILE).decode() != resolved_spec(spec):
            raise SpecError(f"--resume: the spec differs from {store.location}/{SPEC_FILE}")


def prepare_output(store: ResultsStore, spec: StudySpec, resume: bool) -> None:
    """Check the output again (now under the lease), then write the spec or, on resume,
    clear what dead trials left."""
    check_output(store, spec, resume)
    if store.exists(SPEC_FILE):
        store.remove_stray_files()
    else:
        store.write_bytes(SPEC_FILE, resolved_spec(spec).encode())

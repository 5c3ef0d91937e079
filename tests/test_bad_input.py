"""Malformed input of every kind (spec files, `--set`, report and other options) exits 2
with a short message naming the key, and leaves nothing written: no output folder, no
report folder, no Ray started. One table, one row per input a user (or an attacker) may
give; each row runs the real command line in-process."""

import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import ray
import torch
import yaml

from study.cli import main
from study.results import ResultsStore

from .test_results import write

GOOD = {
    "name": "t",
    "fixed": {"steps": 100, "hidden_dim": 16, "hidden_layers": 1},
    "space": {"lr_g": [1e-4, 1e-3]},
}
BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{b}: &{b} [{', '.join([f'*{a}'] * 9)}]\n" for a, b in zip("abcdefgh", "bcdefghi")
)  # 9^9 values from 467 bytes: the YAML "billion laughs"


LEVELS = ["&a[x,x,x,x,x,x,x,x,x]"] + [
    f"&{b}[{','.join([f'*{a}'] * 9)}]" for a, b in zip("abcdefgh", "bcdefghi")
]
BOMB_FLOW = "[" + ",".join(LEVELS) + "]"  # the same bomb as one word: a flow sequence


def spec(**changes):
    """GOOD with top-level keys replaced (None removes one)."""
    data = {**GOOD, **changes}
    return {key: value for key, value in data.items() if value is not None}


def fixed(**values):
    return spec(fixed={**GOOD["fixed"], **values})


def space(**values):
    return spec(space=values)


# (id, command, spec (a dict, or raw text/bytes) or None, what the message must name)
# Commands may use {spec}, {out} (a fresh output path) and {study} (a finished study).
SPEC_CASES = [
    ("binary spec", "validate", b"\x89PNG\r\n\x1a\n\x00\xff\xfe garbage", "not a text file"),
    ("alias bomb", "validate", BOMB, "expands to more than 100,000 values"),
    ("recursive alias", "validate", "a: &a [*a]\n", "refers to itself"),
    ("duplicate space key", "validate",
     "name: t\nspace: {lr_g: [1e-3]}\nspace: {lr_d: [1e-3]}\n", "duplicate key 'space'"),
    ("deeply nested", "validate", "a: " + "[" * 50_000, "nested too deeply"),
    ("not a mapping", "validate", "- just\n- a list\n", "a spec is a mapping"),
    ("empty file", "validate", "", "a spec is a mapping"),
    ("number as top key", "validate", "1: x\nname: t\n", "keys are names"),
    ("unknown top key", "validate", spec(spce={}), "spce: unknown key"),
    ("output {nam}", "validate", spec(output="results/{nam}"), "output"),
    ("output {name", "validate", spec(output="results/{name"), "output"),
    ("output attribute", "validate", spec(output="x/{name.__class__.__mro__}"), "output"),
    ("output NUL", "validate", spec(output="results/a\0b"), "output"),
    ("output /proc", "validate", spec(output="/proc/x/{name}"), "output /proc/x/t"),
    ("name with markup", "validate", spec(name="<script>alert(1)</script>"), "name"),
    ("name too long", "validate", spec(name="n" * 500), "name"),
    ("range not numbers", "validate", space(lr_g={"loguniform": ["abc", 0.01]}), "space.lr_g"),
    ("range low > high", "validate", space(lr_g={"loguniform": [0.01, 1e-4]}), "low < high"),
    ("range of one value", "validate", space(lr_g={"uniform": [0.01]}), "space.lr_g"),
    ("float range on int key", "validate", space(batch_size={"uniform": [32, 64]}),
     "space.batch_size"),
    ("randint not integers", "validate", space(d_steps={"randint": [1.5, 3]}), "randint"),
    ("seed 2^64", "validate", space(seed=[0, 2**64]), "space.seed"),
    ("boolean seed", "validate", fixed(seed=True), "fixed.seed"),
    ("boolean lr", "validate", space(lr_g=[True, 1e-3]), "space.lr_g"),
    ("reg_weight .inf", "validate", fixed(regularizer="gp", reg_weight=float("inf")), "reg_weight"),
    ("radius .inf", "validate", fixed(radius=float("inf")), "radius"),
    ("lr .nan", "validate", space(lr_g=[float("nan")]), "space.lr_g"),
    ("steps 1e12", "validate", fixed(steps=10**12), "fixed.steps"),
    ("eval_samples 1e9", "validate", fixed(eval_samples=10**9), "fixed.eval_samples"),
    ("pack memory", "validate",
     spec(fixed={"hidden_dim": 8192, "hidden_layers": 16}, resources={"pack": 4096}),
     "limits.max_pack_memory_gib"),
    ("10^9 grid", "validate",
     space(**{k: [10**-i for i in range(1, 11)] for k in ("lr_g", "lr_d", "beta1")},
           seed=list(range(1000)), d_steps=list(range(1, 11)), g_steps=list(range(1, 11))),
     "limits.max_configurations"),
    ("random 1e9 samples", "validate",
     spec(space={"lr_g": {"loguniform": [1e-4, 1e-2]}},
          search={"algorithm": "random", "num_samples": 10**9}),
     "limits.max_configurations"),
    ("optuna beyond the space", "validate",
     spec(space={"loss": {"choice": ["minimax", "hinge"]}},
          search={"algorithm": "optuna", "num_samples": 5}), "search.num_samples"),
    ("search.seed 2^33", "validate", spec(search={"algorithm": "grid", "seed": 2**33}),
     "search.seed"),
    ("too many values", "validate", space(seed=list(range(20_000))), "space.seed"),
    ("cpus 0", "validate", spec(resources={"cpus": 0}), "resources.cpus"),
    ("checkpoint .inf", "validate", spec(resources={"checkpoint_every_s": float("inf")}),
     "resources.checkpoint_every_s"),
    ("limit 0", "validate", spec(limits={"max_configurations": 0}), "limits.max_configurations"),
    ("label typo", "validate", spec(labels={"windw": 3}), "windw"),
    ("unknown g_init", "validate", space(g_init=["uniform", "xavier"]),
     "space.g_init: g_init: Input should be 'uniform', 'orthogonal' or 'normal' (got 'xavier')"),
    ("run: bad spec", "run", fixed(d_steps=0), "fixed.d_steps"),
    ("run: alias bomb", "run", BOMB, "expands to more than"),
    ("run: over the limit", "run", spec(limits={"max_configurations": 1}),
     "limits.max_configurations"),
    ("run: --output template", "run --output {out}/{{nam}}", GOOD, "--output"),
    ("run: --output /proc", "run --output /proc/nope", GOOD, "output /proc/nope"),
]  # fmt: skip

OPTION_CASES = [
    ("--set boolean seed", "train --set seed=true", "seed"),
    ("--set bad YAML", "train --set lr_g=[1", "--set lr_g"),
    ("--set steps 1e12", "train --set steps=1e12", "steps"),
    ("--set no key", "train --set =3", "--set"),
    ("--set no value", "train --set steps", "--set"),
    ("--set twice", "train --set lr_g=1 --set lr_g=2", "--set lr_g: given twice"),
    ("--set .inf", "train --set reg_weight=.inf", "reg_weight"),
    ("--set seed 2^64", "train --set seed=18446744073709551616", "seed"),
    ("--set unknown key", "train --set lr_gg=1e-3", "lr_gg"),
    ("--set alias bomb", "train --set lr_g=" + BOMB_FLOW, "--set lr_g"),
    ("--device tpu", "train --device tpu", "--device"),
    ("report --x", "report {study} --x nonexistent --out {out}", "--x 'nonexistent'"),
    ("report --row", "report {study} --row bogus --out {out}", "--row 'bogus'"),
    ("report --out /proc", "report {study} --out /proc/nope", "--out"),
    ("report --out URI", "report {study} --out s3://bucket/report", "--out"),
    ("report missing study", "report {out}/nothing --out {out}", "no finished trials"),
    ("compact --rows 0", "compact {study} --rows 0", "--rows"),
    ("submit --patience 0", "submit {study}/x.yaml --address http://127.0.0.1:8299 --patience 0",
     "--patience"),
]  # fmt: skip

# Tampered trials tables: (id, change to one trials file, what the message must name)
TABLE_CASES = [
    ("label of another type", lambda t: _set(t, "label", pa.array([1] * len(t))), "label"),
    ("label not a label", lambda t: _set(t, "label", pa.array(["banana"] * len(t))), "label"),
    ("label missing", lambda t: t.drop_columns(["label"]), "label"),
    ("lr_g missing", lambda t: t.drop_columns(["lr_g"]), "lr_g"),
    ("lr_g of another type", lambda t: _set(t, "lr_g", pa.array(["x"] * len(t))), "lr_g"),
]


def _set(table, name, values):
    return table.set_column(table.schema.get_field_index(name), name, values)


def _spec_file(tmp_path, content, out):
    path = tmp_path / "spec.yaml"
    if isinstance(content, dict):
        content = yaml.safe_dump({**content, "output": content.get("output", str(out))})
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


def _run(command: str, capsys) -> tuple[int, str]:
    """The exit code and stderr of `ganmap COMMAND` (argparse's refusals included)."""
    started = time.monotonic()
    try:
        code = main(command.split())
    except SystemExit as exited:  # argparse refuses an option before ganmap sees it
        code = exited.code
    err = capsys.readouterr().err
    # Short and fast: nothing was expanded, printed in full, or started.
    assert time.monotonic() - started < 30 and len(err) < 2000, err
    return code, err


@pytest.mark.parametrize("case", SPEC_CASES, ids=[c[0] for c in SPEC_CASES])
def test_a_bad_spec_exits_2_naming_the_key_and_writes_nothing(case, tmp_path, capsys):
    _, command, content, expected = case
    out = tmp_path / "out"
    path = _spec_file(tmp_path, content, out)
    args = command.split()
    command = " ".join([args[0], str(path), *args[1:]]).format(out=out)
    code, err = _run(command, capsys)
    # Exit 2, one short message naming the key; no output folder was made, no Ray started.
    assert code == 2 and err.startswith("ganmap: error: ") and expected in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.yaml"]
    assert not ray.is_initialized()


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    """A small finished study (synthetic packs), for report and compact options."""
    folder = tmp_path_factory.mktemp("bad-input") / "study"
    store = ResultsStore(str(folder))
    write(store, "p1", "a", "b")
    write(store, "p2", "c")
    return folder


@pytest.mark.parametrize("case", OPTION_CASES, ids=[c[0] for c in OPTION_CASES])
def test_a_bad_option_exits_2_naming_it_and_writes_nothing(case, study, tmp_path, capsys):
    _, command, expected = case
    before = sorted(p.relative_to(study) for p in study.rglob("*"))
    code, err = _run(command.format(study=study, out=tmp_path / "out"), capsys)
    # Exit 2 with a message naming the option (argparse's "ganmap train: error: ..." too)...
    assert code == 2 and "error: " in err and expected in err, err
    # ...and nothing written: no report folder, the study untouched.
    assert not (tmp_path / "out").exists()
    assert sorted(p.relative_to(study) for p in study.rglob("*")) == before


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_train_on_cuda_without_cuda_exits_2(capsys):
    code, err = _run("train --set steps=10 --device cuda", capsys)
    # The build is named, and the way out.
    assert code == 2 and "--device cuda: this torch build has no CUDA" in err


@pytest.mark.parametrize("case", TABLE_CASES, ids=[c[0] for c in TABLE_CASES])
def test_a_tampered_trials_table_exits_2_naming_the_column(case, tmp_path, capsys):
    _, change, column = case
    folder = tmp_path / "study"
    store = ResultsStore(str(folder))
    write(store, "p1", "a", "b")
    write(store, "p2", "c")
    path = folder / "trials" / "p1.parquet"
    pq.write_table(change(pq.read_table(path)), path)
    code, err = _run(f"report {folder} --out {tmp_path / 'report'}", capsys)
    # Exit 2 naming the column; no report folder was made.
    assert code == 2 and f"column {column}" in err, err
    assert not (tmp_path / "report").exists()


def test_an_output_folder_of_other_files_is_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    path = _spec_file(tmp_path, {**GOOD, "output": str(out)}, out)
    code, err = _run(f"run {path}", capsys)
    # Refused, naming a file that is not ganmap's; the folder is as it was.
    assert code == 2 and "holds files that are not ganmap's ('thesis.tex')" in err
    assert sorted(p.name for p in out.iterdir()) == ["thesis.tex"]


def test_yaml_1_2_exponents_are_numbers(tmp_path, capsys):
    """`{loguniform: [1e-4, 0.01]}`: YAML 1.1 reads 1e-4 as a string; ganmap reads a number."""
    text = "name: t\nspace: {lr_g: {loguniform: [1e-4, 0.01]}}\nsearch: {algorithm: random}\n"
    path = _spec_file(tmp_path, text + f"output: {tmp_path / 'out'}\n", None)
    assert main(["validate", str(path)]) == 0
    # Quoted, it is a string, still read as the number it spells.
    path.write_text(text.replace("1e-4", "'1e-4'") + f"output: {tmp_path / 'out'}\n")
    assert main(["validate", str(path)]) == 0
    assert "1 configurations" in capsys.readouterr().out

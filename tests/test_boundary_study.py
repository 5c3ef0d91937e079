"""A boundary search as a study: spec keys, rounds through Ray Tune, the `round` column,
and `--resume` after a cut-off round, on a real local Ray (Dirac-GAN: seconds per round)."""

import pyarrow.dataset as ds
import pytest
import yaml

from study import runner
from study.boundary_run import round_configs
from study.cli import main
from study.runner import run_study
from study.spec import parse_spec

pytestmark = pytest.mark.usefixtures("local_ray")  # tests/conftest.py

DIRAC = dict(problem="dirac", optimizer="sgd", steps=200, eval_every=50)
SPACE = {
    "lr_d": {"loguniform": [0.03, 3.0]},
    "reg_weight": {"loguniform": [0.03, 30.0]},
    "regularizer": ["r1", "r2"],
}
SEARCH = {"algorithm": "boundary", "budget": 30, "per_round": 12, "coarse": 3}


def boundary_spec(tmp_path, name, **search):
    data = {
        "name": name, "fixed": DIRAC, "space": SPACE, "search": {**SEARCH, **search},
        "resources": {"pack": 8}, "output": str(tmp_path / name),
    }  # fmt: skip
    return parse_spec(data)


def trials(out):
    return ds.dataset(out / "trials").to_table().to_pandas()


@pytest.fixture(scope="module")
def whole(tmp_path_factory):
    """A boundary study run straight through: (its outcome, its output folder)."""
    tmp_path = tmp_path_factory.mktemp("boundary")
    return run_study(boundary_spec(tmp_path, "whole"), echo=lambda line: None), tmp_path / "whole"


def test_a_boundary_study_runs_in_rounds_within_its_budget(whole):
    outcome, out = whole
    table = trials(out)
    # Every configuration it proposed has one result, and the budget holds.
    assert outcome.done == outcome.total == len(table) == table.trial_id.nunique()
    assert len(table) <= SEARCH["budget"]
    # Round 0 is the coarse grid (3 x 3 per regularizer); round 1 refines it.
    assert table.groupby("round").size().to_dict() == {0: 18, 1: 12}
    # Refinements are lattice points inside the coarse grid's range, never a coarse point.
    coarse = set(zip(table.lr_d[table["round"] == 0], table.reg_weight[table["round"] == 0]))
    later = table[table["round"] == 1]
    assert later.lr_d.between(0.03, 3.0).all() and later.reg_weight.between(0.03, 30.0).all()
    assert not coarse & set(zip(later.lr_d, later.reg_weight))


def test_resume_finishes_the_round_that_was_cut_off(whole, tmp_path, monkeypatch):
    """Ctrl-C in the middle of round 1 (one of its packs done): `--resume` trains the
    rest of it (and would go on to the next); the result equals an uninterrupted run."""
    real_run_packs = runner.run_packs

    def cut_off(spec, store, study, size, echo, round=None):
        if round == 1:
            real_run_packs(spec, store, study[:1], size, echo, round=round)
            raise KeyboardInterrupt
        return real_run_packs(spec, store, study, size, echo, round=round)

    monkeypatch.setattr(runner, "run_packs", cut_off)
    spec = boundary_spec(tmp_path, "cut")
    interrupted = run_study(spec, echo=lambda line: None)
    assert interrupted.interrupted and 18 < interrupted.done < whole[0].total
    monkeypatch.setattr(runner, "run_packs", real_run_packs)
    resumed = run_study(spec, resume=True, echo=lambda line: None)
    assert not resumed.interrupted and resumed.done == resumed.total == whole[0].total
    cut, straight = trials(tmp_path / "cut"), trials(whole[1])
    # Nothing duplicated, nothing lost: the same configurations, in the same rounds.
    assert cut.trial_id.is_unique
    rounds = lambda table: dict(zip(table.trial_id, table["round"]))  # noqa: E731
    assert rounds(cut) == rounds(straight)


@pytest.mark.parametrize(
    "change, expected",
    [
        ({"space": {**SPACE, "regularizer": ["r1"]}}, "space.regularizer: a boundary search"),
        ({"search": {**SEARCH, "budget": 10}}, "search.budget: 10 is smaller than"),
        ({"search": {**SEARCH, "resolution": {"lr_d": 1000}}}, "search.resolution.lr_d"),
        ({"space": {**SPACE, "seed": [0, 1]}}, "space.seed: a boundary search sets the seeds"),
        ({"space": {**SPACE, "d_steps": {"randint": [1, 5]}}}, "space.d_steps: a boundary"),
        ({"search": {**SEARCH, "per_round": 0}}, "search.per_round"),
    ],
)
def test_bad_boundary_input_exits_2_naming_the_key(tmp_path, capsys, change, expected):
    out = tmp_path / "out"
    data = {"name": "bad", "fixed": DIRAC, "space": SPACE, "search": SEARCH,
            "output": str(out), **change}  # fmt: skip
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(data))
    # Exit 2 with the key named, and nothing written.
    assert main(["run", str(path)]) == 2
    assert expected in capsys.readouterr().err and not out.exists()


def test_a_points_seeds_count_up_from_the_fixed_seed(tmp_path):
    fixed, search = {**DIRAC, "seed": 7}, {**SEARCH, "seeds": 2, "budget": 60}
    spec = parse_spec({"name": "seeded", "fixed": fixed, "space": SPACE, "search": search})
    configs = round_configs(spec, [{"lr_d": 0.1, "reg_weight": 1.0, "regularizer": "r1"}])
    # One point, two seeds: 7 and 8 (a fixed seed is where the seeds start, not a clash).
    assert [config.seed for config in configs] == [7, 8]

"""What decides stability: how much each hyperparameter determines each label.

For the converged indicator and for each failure label present, the importance of every
varied hyperparameter is Optuna's fANOVA evaluator (Hutter et al. 2014): the share of the
indicator's variance, over a random forest fitted to the trials, that the hyperparameter
explains on its own. The shares are not renormalised to sum to 1: what no single
hyperparameter explains (`REST`: interactions, such as a band along lr_d / lr_g, and
seed noise, since seeds are pooled) stays visible instead of being spread over the
hyperparameters, which would credit a key that does nothing. At most `MAX_TRIALS`
trials (a seeded sample) are fitted, which keeps a large study within the report's time
(the evaluator's cost grows with the trials fitted).
"""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pandas as pd
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from study.schema import LABELS

MAX_TRIALS = 1000
# Trees of the forest: Optuna's default 64 costs 3.3x the time of 16 for the same ranking
# (20,000 synthetic trials, 1,000 fitted: shares within 0.05 of each other).
N_TREES = 16
REST = "(interactions and noise)"  # the share no single hyperparameter explains
MIN_TRIALS = 8  # fewer trials than this say nothing about importance


def importance_table(trials: pd.DataFrame, keys: list[str], seed: int = 0) -> pd.DataFrame:
    """Rows: the hyperparameters `keys`, most important first, then `REST`; columns:
    `converged` and each failure label present (an indicator per label, fitted on its
    own); values: the fANOVA share of that indicator's variance (each column, REST
    included, sums to 1). Empty when there is nothing to rank."""
    targets = [label for label in LABELS if label != "unconverged"]
    targets = [t for t in targets if 0 < (trials["label"] == t).sum() < len(trials)]
    if not keys or not targets or len(trials) < MIN_TRIALS:
        return pd.DataFrame(index=pd.Index([], name="hyperparameter"))
    sample = trials.sample(min(len(trials), MAX_TRIALS), random_state=seed)
    distributions = {key: _distribution(sample[key]) for key in keys}
    params = [
        {key: _param(value, distributions[key]) for key, value in zip(keys, values)}
        for values in sample[keys].itertuples(index=False)
    ]
    columns = {}
    for target in targets:
        values = (sample["label"] == target).astype(float).tolist()
        columns[target] = _fanova(params, distributions, values, seed)
    table = pd.DataFrame(columns).reindex(keys).fillna(0.0).clip(0.0, 1.0)
    order = table.get("converged", table.iloc[:, 0]).sort_values(ascending=False, kind="stable")
    table = table.loc[order.index]
    table.loc[REST] = (1.0 - table.sum()).clip(lower=0.0)
    table.index.name = "hyperparameter"
    return table


def _distribution(values: pd.Series):
    if pd.api.types.is_bool_dtype(values) or not pd.api.types.is_numeric_dtype(values):
        return CategoricalDistribution(sorted(values.astype(str).unique()))
    low, high = values.min(), values.max()
    if pd.api.types.is_integer_dtype(values):
        return IntDistribution(int(low), int(high))
    log = low > 0 and high >= 10 * low
    return FloatDistribution(float(low), float(high), log=bool(log))


def _param(value, distribution):
    if isinstance(distribution, CategoricalDistribution):
        return str(value)
    return int(value) if isinstance(distribution, IntDistribution) else float(value)


def _fanova(params, distributions, values, seed) -> dict[str, float]:
    """fANOVA importances of one target over the trials (an in-memory Optuna study)."""
    study = optuna.create_study(direction="maximize")
    study.add_trials([
        optuna.trial.create_trial(params=p, distributions=distributions, value=v)
        for p, v in zip(params, values)
    ])  # fmt: skip
    evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=N_TREES, seed=seed)
    with warnings.catch_warnings():  # `normalize` is marked experimental in Optuna 4-5
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        found = optuna.importance.get_param_importances(study, evaluator=evaluator, normalize=False)
    return {key: float(value) for key, value in found.items() if np.isfinite(value)}

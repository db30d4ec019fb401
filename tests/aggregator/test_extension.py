"""A researcher's own model, outside galton's tree (bug hunt, twenty-second session): the registry
refuses names other models hold, a checkpoint sees settings get_params cannot, a missing hook is named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import galton
from galton.aggregator import EMAggregator, register, unregister
from galton.aggregator.dawid_skene import DawidSkene


def _crowd() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 2, 150)
    rows = [(t, w, int(truth[t]) if rng.random() < acc else 1 - int(truth[t]))
            for t in range(150) for w, acc in enumerate((0.9, 0.8, 0.7, 0.6, 0.55)) if rng.random() < 0.7]
    return pd.DataFrame(rows, columns=["task", "worker", "label"])


def test_a_name_or_alias_another_model_holds_is_refused() -> None:
    """register("one_coin") (an alias of one_coin_ds) was listed by names() but get() still ran
    OneCoinDawidSkene; an alias "ds" made aggregate(df, "ds") run the new model in DawidSkene's place."""
    for name, aliases, holder in (("one_coin", (), "OneCoinDawidSkene"), ("ds", (), "DawidSkene"),
                                  ("my_ds", ("ds",), "'ds'"), ("my_ds", ("dawidskene",), "'ds'")):
        with pytest.raises(ValueError, match=f"is taken by .*{holder}"):
            register(name, *aliases)(type("Mine", (DawidSkene,), {"__module__": "mine"}))
    assert "my_ds" not in galton.aggregator.names() and galton.aggregator.get("ds") is DawidSkene
    own = register("mine_ds")(type("DawidSkene", (DawidSkene,), {"__module__": "mine"}))  # its class name too
    try:
        assert galton.aggregator.get("mine_ds") is own and galton.aggregator.get("dawidskene") is DawidSkene
        again = register("mine_ds")(type("DawidSkene", (DawidSkene,), {"__module__": "mine"}))  # a cell re-run
        assert galton.aggregator.get("mine_ds") is again
    finally:
        unregister("mine_ds")


class _Smoothed(DawidSkene):
    """A subclass passing its parent's parameters on through **kwargs: get_params cannot see them."""

    def __init__(self, smoothing: float = 0.0, **kwargs):
        super().__init__(**kwargs)
        self.smoothing = smoothing


def test_a_checkpoint_sees_settings_passed_through_kwargs(tmp_path) -> None:
    """_Smoothed(alpha=5) took up the checkpoint of _Smoothed(alpha=0) (get_params showed only
    smoothing) and returned its result."""
    df = _crowd()
    _Smoothed(alpha=0.0).fit(df, checkpoint_dir=tmp_path)
    resumed = _Smoothed(alpha=5.0).fit(df, checkpoint_dir=tmp_path)
    assert not getattr(resumed, "resumed_from_", 0)
    pd.testing.assert_frame_equal(resumed.probas_, _Smoothed(alpha=5.0).fit(df).probas_)


def test_a_hook_a_model_lacks_is_named() -> None:
    """A model without _e_step raised an empty NotImplementedError."""

    class NoEStep(EMAggregator):
        def __init__(self, n_iter: int = 5, tol: float = 1e-5):
            self.n_iter, self.tol = n_iter, tol

        def _init_params(self, engine, judgments, rng):
            return {}

    with pytest.raises(NotImplementedError, match="NoEStep does not define _e_step.*adding-a-model.md"):
        NoEStep().fit(_crowd())


@pytest.mark.parametrize("bad,what", [(lambda p: p.T, "an array of shape"), (lambda p: p * np.nan, "values that are not finite")])
def test_posteriors_of_the_wrong_shape_or_not_finite_are_named(bad, what) -> None:
    """Transposed posteriors raised an IndexError deep in the results; NaN ones labelled the task 0."""

    class Broken(DawidSkene):
        def _posteriors(self, shard, params):
            return bad(super()._posteriors(shard, params))

    with pytest.raises(ValueError, match=f"Broken's task posteriors \\(_posteriors\\) gave {what}"):
        Broken().fit(_crowd())

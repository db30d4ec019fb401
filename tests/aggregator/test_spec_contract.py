"""The model contract, checked on the example of ``docs/adding-a-model.md`` and on every registered model.

1. The doc's example model really works as one file: its code block is run as the module
   ``galton.aggregator.<file>`` (our own doc, not user data), which registers it; it then fits the
   same with 1 and 3 shards, on Ray as locally, resumes from a checkpoint bit for bit, is listed by
   ``names()`` and is fitted by ``galton aggregate --model <name>``; the doc's own test passes. It is
   unregistered afterwards, so no other test sees it.
2. For every registered iterative model, the bound methods the driver sends to the shards (the
   E-step above all) pickle to less than 1 KB: nothing of a fit is kept on ``self``.
3. The pickled size of a fitted model on ``zheng_d_possent`` (bundled), printed and bounded.
"""

from __future__ import annotations

import csv
import pickle
import re
import sys
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import galton
from galton.aggregator import LocalEngine, _registry
from galton.aggregator._base import IterativeAggregator

DOC = Path(__file__).resolve().parents[2] / "docs" / "adding-a-model.md"
MAX_SENT = 1024  #: bytes of a pickled bound method sent to the shards (the issue's target)


# ------------------------------------------------------------------------------ the doc's example
def _doc_blocks() -> tuple[str, str, str]:
    """(module name, the model's code, the test's code) from the doc."""
    text = DOC.read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    model = [b for b in blocks if "@register(" in b]
    tests = [b for b in blocks if "def test_" in b]
    assert len(model) == 1 and len(tests) == 1, "the doc holds one model block and one test block"
    file = re.search(r"The file `galton/aggregator/(\w+)\.py`", text)
    assert file, "the doc names the model's file as `galton/aggregator/<name>.py`"
    return file.group(1), model[0], tests[0]


@pytest.fixture(scope="module")
def doc_model() -> Any:
    """The doc's model class, registered while this module's tests run."""
    module_name, code, _ = _doc_blocks()
    full = f"galton.aggregator.{module_name}"
    assert full not in sys.modules, f"{full} exists as a real module; the doc's example must not clash"
    before = set(_registry.names())
    mod = types.ModuleType(full)
    mod.__package__ = "galton.aggregator"
    mod.__file__ = str(DOC)
    sys.modules[full] = mod
    by_value = None
    try:
        exec(compile(code, str(DOC), "exec"), mod.__dict__)  # noqa: S102 - our own doc
        added = set(_registry.names()) - before
        assert len(added) == 1, f"the doc's model block registers one model, not {sorted(added)}"
        name = added.pop()
        try:  # Ray's workers cannot import a module that only exists here: send it by value
            from ray import cloudpickle

            cloudpickle.register_pickle_by_value(mod)
            by_value = cloudpickle
        except ImportError:
            pass
        yield _registry.get(name)
    finally:
        for n in set(_registry.names()) - before:
            _registry.unregister(n)
        if by_value is not None:
            by_value.unregister_pickle_by_value(mod)
        sys.modules.pop(full, None)


@pytest.fixture(scope="module")
def ray_session() -> Any:
    pytest.importorskip("ray", reason="Ray is in the test extra; galton runs without it")
    from galton.workers import cluster

    return cluster.connect("local", num_cpus=2, include_dashboard=False)


def _face() -> Any:
    return galton.load_dataset("zheng_s_face").judgments  # 4 labels, 5242 judgments


def test_doc_model_is_registered_for_every_consumer(doc_model) -> None:
    name = doc_model.registry_name
    assert name in galton.aggregator.names() and name in galton.aggregator.names(kind="categorical")
    assert galton.aggregator.get(doc_model.__name__) is doc_model  # the class name is an alias
    assert isinstance(galton.aggregator.create(name), IterativeAggregator)
    from galton.benchmarks.accuracy import categorical_models

    assert name in categorical_models()[0]  # the accuracy benchmark runs it


def test_doc_model_one_and_three_shards_agree(doc_model) -> None:
    data = _face()
    one = doc_model(n_shards=1).fit(data)
    three = doc_model(n_shards=3).fit(data)
    assert one.converged_ and one.n_iter_ == three.n_iter_ > 1
    np.testing.assert_allclose(three.posteriors_, one.posteriors_, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(three.history_, one.history_, rtol=1e-12)
    assert np.array_equal(three.label_codes_, one.label_codes_)
    assert np.all(np.diff(one.history_) >= -1e-9 * np.abs(one.history_[1:]))  # EM of a MAP model
    np.testing.assert_allclose(three.params_["accuracy"], one.params_["accuracy"], rtol=1e-12)


def test_doc_model_sends_under_1kb_to_the_shards(doc_model) -> None:
    model = doc_model()
    eng = SizeEngine(model, n_shards=3)
    model.fit(_face(), engine=eng)
    print(f"\n{doc_model.registry_name}: pickled bound methods sent to the shards (bytes): {eng.sizes}")
    assert set(eng.sizes) == {"_vote_stats", "_e_step", "_posteriors"}
    assert max(eng.sizes.values()) < MAX_SENT, eng.sizes


def test_doc_model_on_ray_equals_local(doc_model, ray_session) -> None:
    data = _face()
    local = doc_model(n_shards=2).fit(data)
    ray = doc_model(n_shards=2).fit(data, engine="ray")
    assert ray.n_iter_ == local.n_iter_
    np.testing.assert_allclose(ray.posteriors_, local.posteriors_, rtol=1e-12, atol=1e-12)
    assert np.array_equal(ray.label_codes_, local.label_codes_)


class CountingEngine(LocalEngine):
    e_steps = 0

    def map(self, fn: Any, *args: Any) -> list[Any]:
        self.e_steps += getattr(fn, "__name__", "") == "_e_step"
        return super().map(fn, *args)


def test_doc_model_resumes_from_a_checkpoint_bit_for_bit(doc_model, tmp_path) -> None:
    data = _face()
    with pytest.warns(galton.ConvergenceWarning):  # tol=0: every iteration runs
        whole = doc_model(tol=0.0, max_iter=12, n_shards=2).fit(data)
    with pytest.warns(galton.ConvergenceWarning):
        doc_model(tol=0.0, max_iter=5, n_shards=2).fit(data, checkpoint_dir=tmp_path)
    eng = CountingEngine(n_shards=2)
    with pytest.warns(galton.ConvergenceWarning):
        resumed = doc_model(tol=0.0, max_iter=12, n_shards=2).fit(data, engine=eng, checkpoint_dir=tmp_path)
    assert eng.e_steps == 12 - 5  # only the remaining iterations ran
    assert resumed.n_iter_ == whole.n_iter_ == 12
    assert resumed.history_ == whole.history_
    assert np.array_equal(resumed.posteriors_, whole.posteriors_)
    assert resumed.skills_.equals(whole.skills_)


def test_doc_model_through_the_cli(doc_model, tmp_path, capsys) -> None:
    from galton.cli import main

    rng = np.random.default_rng(5)
    src, out = tmp_path / "judgments.csv", tmp_path / "labels.csv"
    rows = [(t, f"w{w}", ["a", "b", "c"][(t + (rng.random() < 0.3)) % 3])
            for t in range(40) for w in rng.choice(8, 4, replace=False)]
    with open(src, "w", newline="") as fh:
        csv.writer(fh).writerows([("task", "worker", "label"), *rows])
    rc = main(["aggregate", str(src), "--model", doc_model.registry_name, "-o", str(out)])
    err = capsys.readouterr().err
    assert rc == 0, err
    with open(out, newline="") as fh:
        got = {int(r["task"]): r["label"] for r in csv.DictReader(fh)}
    api = doc_model().fit({"task": [r[0] for r in rows], "worker": [r[1] for r in rows],
                           "label": [r[2] for r in rows]})
    assert got == dict(zip(api.labels_["task"].to_list(), api.labels_["label"].to_list()))
    assert len(got) == 40


def test_the_docs_own_test_passes(doc_model) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_doc_blocks()[2], str(DOC), "exec"), namespace)  # noqa: S102 - our own doc
    tests = [f for n, f in namespace.items() if n.startswith("test_")]
    assert tests
    for test in tests:
        test()


def test_empty_pandas_frame_sets_the_declared_attributes(doc_model) -> None:
    import pandas as pd

    m = doc_model().fit(pd.DataFrame({"task": [], "worker": [], "label": []}))
    assert len(m.labels_) == 0 and len(m.skills_) == 0 and len(m.priors_) == 0


# ------------------------------------------------------------------------------ every registered model
def _data(kind: str) -> Any:
    """Small data of each kind (KOS needs binary labels: welinder_bluebirds)."""
    if kind == "categorical":
        return galton.load_dataset("welinder_bluebirds").judgments
    from galton.datasets import simulate_prefs as sp

    if kind == "pairwise":
        return sp.simulate_pairwise(n_comparisons=600, n_responses=30, n_workers=20, seed=11).data
    if kind == "choice":
        return sp.simulate_best_of_n(n_judgments=400, n_prompts=30, n_responses=4, n_workers=20, seed=12).data
    rng = np.random.default_rng(13)
    truth = rng.normal(50, 15, 100)
    worker = rng.integers(0, 20, 400)
    label = np.round(np.repeat(truth, 4) + rng.normal(0, 8, 400), 1)
    return {"task": np.repeat(np.arange(100), 4), "worker": worker, "label": label}


class SizeEngine(LocalEngine):
    """Records the pickled size of every bound method of ``model`` mapped over the shards."""

    def __init__(self, model: Any, n_shards: int = 2):
        super().__init__(n_shards)
        self.model = model
        self.sizes: dict[str, int] = {}

    def map(self, fn: Any, *args: Any) -> list[Any]:
        bound = getattr(fn, "fn", fn)  # gather wraps the function it maps
        if getattr(bound, "__self__", None) is self.model:
            name = bound.__name__
            self.sizes[name] = max(self.sizes.get(name, 0), len(pickle.dumps(fn)))
        return super().map(fn, *args)


ITERATIVE = [n for n in _registry.names() if issubclass(_registry.get(n), IterativeAggregator)]

@pytest.mark.parametrize("name", ITERATIVE)
def test_what_travels_to_the_shards_besides_the_parameters_is_under_1kb(name: str) -> None:
    """``pickle.dumps`` of each bound method of the model mapped over the shards, measured during
    a fit; the largest per method is in the message (``-s`` prints them)."""
    model = _registry.create(name)
    eng = SizeEngine(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", galton.ConvergenceWarning)
        model.fit(_data(model.kind), engine=eng)
    sent = eng.sizes
    print(f"\n{name}: pickled bound methods sent to the shards (bytes): {sent}")
    # KOS maps its own message pass; M-MSR's iteration is a sweep over a pair table on the driver,
    # so its bound methods travel only after the loop (the posteriors)
    assert sent.get("_e_step", 0) > 0 or name in ("kos", "mmsr"), f"{name}: no E-step mapped over the shards: {sent}"
    assert sent, f"{name}: no bound method of the model was mapped over the shards"
    # also the maps after the loop (posteriors, Fisher information): the driver sets history_ on
    # the model only after them, so nothing grows with the number of iterations
    over = {k: v for k, v in sent.items() if v >= MAX_SENT}
    assert not over, f"{name}: over {MAX_SENT} bytes: {sent}"


# ------------------------------------------------------------------------------ a fitted model's size
def test_pickled_fitted_model_size_on_zheng_d_possent() -> None:
    """A fitted model pickles to its judgments (kept for ``predict``) plus its results; the bound:
    at most 8 float64 copies of each task x label and worker x label x label array (posteriors,
    probabilities, confusion matrices) plus 64 KB of frame and vocabulary overhead."""
    ds = galton.load_dataset("zheng_d_possent")
    sizes = {}
    for name in _registry.names(kind="categorical"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", galton.ConvergenceWarning)
            m = galton.aggregate(ds.judgments, name, **({"gold": ds.gold} if name == "gold_mv" else {}))
        j = m.judgments_
        total, base = len(pickle.dumps(m)), len(pickle.dumps(j))
        sizes[name] = (total, total - base)
        bound = 8 * 8 * (j.n_tasks * j.n_labels + j.n_workers * j.n_labels ** 2) + 64_000
        assert total - base < bound, f"{name}: {total - base} bytes besides the judgments > {bound}"
    print("\npickled fitted model on zheng_d_possent (20,000 judgments), bytes (total, besides judgments_):")
    for name, (total, extra) in sizes.items():
        print(f"  {name:12s} {total:>9,} {extra:>9,}")

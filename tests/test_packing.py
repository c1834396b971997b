"""Packed execution of the original's padded batches: the same losses, gradients and metrics."""
import dataclasses

import numpy as np
import pytest
import torch

from gainakt import data as kt_data
from gainakt.batches import iter_steps
from gainakt.packing import Packing
from gainakt.train import Experiment
from gainakt.variants import VARIANTS, make_config

TINY = dict(dataset="synthetic", synthetic={"n_students": 40, "max_len": 60, "n_skills": 6},
            d_model=16, n_heads=2, n_blocks=2, d_ff=32, batch_size=12, seq_len=25, epochs=1,
            dropout=0.0, im_grad_batches=1, n_trajectory_students=3, trajectory_min_steps=5)


@pytest.fixture(scope="module")
def tiny_data():
    return kt_data.load_dataset("synthetic", seq_len=25, synthetic=TINY["synthetic"])


def test_packing_places_every_real_position_once():
    lengths = torch.tensor([7, 0, 3, 7, 2, 5, 1])   # targets per window; 0: a window of one interaction
    T = 7
    mask = torch.arange(T)[None, :] < lengths[:, None]
    pk = Packing.from_mask(mask)
    assert pk.S == 7 and pk.R == 4   # first-fit decreasing: 7 | 7 | 5 2 | 3 1
    x = torch.randn(len(lengths), T, 4)
    assert len(set(pk.packed_index.tolist())) == int(lengths.sum())
    torch.testing.assert_close(pk.scatter(pk.gather(pk.pack(x))), x * mask[..., None], rtol=0, atol=0)
    torch.testing.assert_close(pk.real(x), pk.gather(pk.pack(x)), rtol=0, atol=0)
    # positions restart at 0 per window; a slot attends to its own window's earlier slots only
    pos = pk.pack(torch.arange(T).expand(len(lengths), T))
    torch.testing.assert_close(pk.positions, pos)
    win = pk.pack(torch.arange(len(lengths))[:, None].expand(-1, T))
    i = pk.packed_index
    flat_win = win.reshape(-1)
    att = pk.attn_mask[:, 0].reshape(pk.R, pk.S, pk.S)
    for a in i.tolist():
        r, s = divmod(a, pk.S)
        seen = att[r, s].nonzero().flatten() + r * pk.S
        assert set(seen.tolist()) == {j for j in i.tolist()
                                      if flat_win[j] == flat_win[a] and j // pk.S == r and j <= a}
    assert att.any(-1).all()   # every slot (empty ones too) attends to something: no NaN rows


def test_segment_cumsum_restarts_at_every_window():
    lengths = torch.tensor([4, 0, 6, 1, 6])
    mask = torch.arange(6)[None, :] < lengths[:, None]
    pk = Packing.from_mask(mask)
    x = torch.rand(len(lengths), 6, 3) * 100
    want = pk.real(torch.cumsum(x, 1))
    torch.testing.assert_close(pk.segment_cumsum(pk.real(x)), want, rtol=1e-6, atol=1e-5)


def _grads(cfg, data, batch):
    exp = Experiment(cfg, data)
    exp.model.train()
    exp.model.zero_grad(set_to_none=True)
    (_, losses), = exp.backward([batch])
    return losses, {n: p.grad for n, p in exp.model.named_parameters()}


@pytest.mark.parametrize("key", list(VARIANTS))
@pytest.mark.parametrize("flavour", ["as_run", "as_intended"])
def test_packed_batch_has_the_loss_and_gradient_of_the_padded_batch(key, flavour, tiny_data):
    """Same windows, same weights, dropout off: every loss term and every parameter's gradient
    equal (V2-V5 as run: their regularisers average over the padded positions)."""
    cfg = make_config(key, flavour, **TINY, batching="padded")
    batch = next(iter_steps(tiny_data.train, cfg.batch_size, batching="padded"))[0]
    n = batch.mask.sum(1)
    assert (n < batch.mask.shape[1]).any() and (n == batch.mask.shape[1]).any()   # padded and full windows
    ref_losses, ref = _grads(cfg, tiny_data, batch)
    losses, got = _grads(dataclasses.replace(cfg, batching="packed"), tiny_data, batch)
    for k, v in ref_losses.items():
        torch.testing.assert_close(losses[k], v, rtol=1e-5, atol=1e-6, msg=k)
    assert ref.keys() == got.keys()
    for name, g in ref.items():
        assert (g is None) == (got[name] is None), name
        if g is not None:
            torch.testing.assert_close(got[name], g, rtol=1e-4, atol=1e-6, msg=name)
    if cfg.regularisers_see_padding:   # as run V2-V5: both regularisers really read the padding
        for term, weight in (("variance", cfg.variance_loss_weight), ("contrastive", cfg.skill_contrastive_loss_weight)):
            assert (float(ref_losses[term].detach()) != 0.0) == bool(weight), term


@pytest.mark.parametrize("key, flavour", [("V1", "as_run"), ("V1", "as_intended"), ("V3", "as_run")])
def test_packed_evaluation_and_training_equal_padded(key, flavour, tiny_data):
    """Whole-split metrics (every statistic and loss) and one epoch of training (dropout off)."""
    res = {}
    for batching in ("padded", "packed"):
        exp = Experiment(make_config(key, flavour, **TINY, batching=batching), tiny_data)
        stats = exp.train_epoch(1)
        res[batching] = {**exp.evaluate(exp.splits["valid"]),
                         **{k: v for k, v in stats.items() if k.startswith("running_loss")}}
    for k, v in res["padded"].items():
        got = res["packed"][k]
        if isinstance(v, int):
            assert got == v, k
        elif np.isnan(v):
            assert np.isnan(got), k
        else:
            assert got == pytest.approx(v, rel=1e-3, abs=1e-5), k


@pytest.mark.parametrize("overrides", [{}, {"gain_source": "skill"}, {"difficulty_mode": "scale_after"},
                                       {"gain_activation": "tanh", "shared_curve": True}])
def test_gains_of_the_practised_skill_only_equal_all_gains(overrides, tiny_data, monkeypatch):
    """gains_impl "practised" (V6 on statics2011's 1,223 exercise ids): the same losses and gradients
    as computing every skill's gain, and no [N, C] gains tensor is made in training."""
    cfg = make_config("V6", "as_intended", **TINY, batching="packed", **overrides)
    batch = next(iter_steps(tiny_data.train, cfg.batch_size, batching="padded"))[0]
    ref_losses, ref = _grads(cfg, tiny_data, batch)
    from gainakt.model import GainAKT3Exp

    def no_all_gains(*_):
        raise AssertionError("the [N, C] gains were computed")
    monkeypatch.setattr(GainAKT3Exp, "_gains", no_all_gains)
    losses, got = _grads(dataclasses.replace(cfg, gains_impl="practised"), tiny_data, batch)
    for k, v in ref_losses.items():
        torch.testing.assert_close(losses[k], v, rtol=1e-5, atol=1e-6, msg=k)
    for name, g in ref.items():
        assert (g is None) == (got[name] is None), name
        if g is not None:
            torch.testing.assert_close(got[name], g, rtol=1e-4, atol=1e-6, msg=name)

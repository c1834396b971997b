"""Model: shapes, causality, cumulative sum vs loop, fast paths vs plain paths, each switch."""
import dataclasses

import pytest
import torch

from gainakt.config import Config
from gainakt.layers import Dropout, practice_gather, practice_loop
from gainakt.model import GainAKT3Exp
from gainakt.variants import VARIANTS, make_config

C, S = 7, 5


def small(**kw) -> Config:
    base = dict(d_model=16, n_heads=2, n_blocks=2, d_ff=32, dropout=0.0, seq_len=30)
    return Config(**{**base, **kw})


def inputs(B=3, T=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randint(0, C, (B, T + 1), generator=g)
    r = torch.randint(0, 2, (B, T + 1), generator=g)
    return q[:, :-1], r[:, :-1], q[:, 1:], torch.arange(B) % S


def build(cfg, difficulty=None):
    torch.manual_seed(0)
    return GainAKT3Exp(cfg, C, S, difficulty).eval()


def test_shapes():
    q, r, qn, u = inputs()
    out = build(small())(q, r, qn, u, states=True)
    B, T = q.shape
    for k in ("logits_enc1", "p_enc1", "logits_im", "p_im", "mastery_q", "scalar_gains", "gain_q"):
        assert out[k].shape == (B, T), k
    for k in ("skill_gains", "mastery", "slope"):
        assert out[k].shape == (B, T, C), k


@pytest.mark.parametrize("key", list(VARIANTS))
@pytest.mark.parametrize("flavour", ["as_run", "as_intended"])
def test_causality(key, flavour):
    """Changing step t+1 leaves every output up to t unchanged."""
    cfg = make_config(key, flavour, d_model=16, n_heads=2, n_blocks=2, d_ff=32, dropout=0.0, seq_len=30)
    model = build(cfg, torch.linspace(0.7, 1.9, C))
    q, r, qn, u = inputs()
    t = 6
    out1 = model(q, r, qn, u, states=True)
    q2, r2, qn2 = q.clone(), r.clone(), qn.clone()
    q2[:, t + 1:] = (q2[:, t + 1:] + 1) % C
    r2[:, t + 1:] = 1 - r2[:, t + 1:]
    qn2[:, t:] = (qn[:, t:] + 1) % C  # q_next[t] = q[t+1], so it changes from t on
    out2 = model(q2, r2, qn2, u, states=True)
    for k in ("logits_enc1", "logits_im", "scalar_gains", "gain_q", "mastery"):
        assert torch.allclose(out1[k][:, :t], out2[k][:, :t], atol=1e-5), k


def test_cumsum_equals_loop():
    g = torch.rand(4, 50, C)
    assert torch.allclose(torch.cumsum(g, 1), practice_loop(g), atol=1e-5)


def test_practice_gather_equals_dense():
    q, _, qn, _ = inputs(B=4, T=40)
    g = torch.rand(4, 40)
    dense = torch.cumsum(torch.nn.functional.one_hot(q, C).float() * g[..., None], 1)
    for query in (q, qn):
        ref = dense.gather(2, query[..., None]).squeeze(2)
        assert torch.allclose(practice_gather(g, q, query), ref, atol=1e-5)


@pytest.mark.parametrize("accumulate", ["all_skills", "practised"])
def test_fast_paths_equal_plain(accumulate):
    """sdpa == plain attention; gather practice == dense [B, T, C] practice."""
    q, r, qn, u = inputs()
    ref = build(small(attention="plain", practice_impl="dense", accumulate=accumulate))(q, r, qn, u)
    fast = build(small(attention="sdpa", practice_impl="auto", accumulate=accumulate))(q, r, qn, u)
    for k in ("logits_enc1", "logits_im", "mastery_q"):
        assert torch.allclose(ref[k], fast[k], atol=1e-5), k


def test_practised_accumulation_leaves_unpractised_skills_at_start():
    q, r, qn, u = inputs()
    q[:] = 0; qn[:] = 0  # only skill 0 practised
    model = build(small(accumulate="practised"))
    out = model(q, r, qn, u, states=True)
    start = model.M_sat * torch.sigmoid(-model.offset)  # mastery with zero practice
    assert torch.allclose(out["mastery"][..., 1:], start[1:].expand_as(out["mastery"][..., 1:]), atol=1e-6)
    assert (out["mastery"][..., 0] > start[0] + 1e-4).all()


def test_all_skills_accumulation_moves_every_skill():
    q, r, qn, u = inputs()
    q[:] = 0
    out = build(small(accumulate="all_skills"))(q, r, qn, u, states=True)
    assert (out["mastery"][:, -1, 1:] > out["mastery"][:, 0, 1:]).all()


def test_scalar_gain_is_the_legacy_tensor_and_independent_of_skill():
    q, r, qn, u = inputs()
    out = build(small(gain_mode="scalar"))(q, r, qn, u)
    assert torch.equal(out["gain_q"], out["scalar_gains"])
    assert "skill_gains" not in out


def test_legacy_scalar_does_not_depend_on_gains_projection():
    q, r, qn, u = inputs()
    model = build(small())
    a = model(q, r, qn, u)["scalar_gains"]
    with torch.no_grad():
        model.gains_projection.weight.mul_(5.0); model.gains_projection.bias.add_(3.0)
    b = model(q, r, qn, u)
    assert torch.equal(a, b["scalar_gains"])


def test_query_and_mastery_index_switches():
    q, r, qn, u = inputs()
    m_cur = build(small(mastery_index="current", accumulate="practised"))(q, r, qn, u, states=True)
    idx = m_cur["mastery"].gather(2, q[..., None]).squeeze(2)
    assert torch.allclose(m_cur["mastery_q"], idx, atol=1e-6)
    m_next = build(small(mastery_index="next", accumulate="practised"))(q, r, qn, u, states=True)
    idx = m_next["mastery"].gather(2, qn[..., None]).squeeze(2)
    assert torch.allclose(m_next["mastery_q"], idx, atol=1e-6)
    # Encoder 1 reads the query skill: changing q_next changes its logits only with enc1_query=next
    qn2 = (qn + 1) % C
    for query, changes in (("next", True), ("current", False)):
        model = build(small(enc1_query=query))
        a, b = model(q, r, qn, u)["logits_enc1"], model(q, r, qn2, u)["logits_enc1"]
        assert (not torch.allclose(a, b)) == changes, query


def test_v3plus_initialisation_and_original_factory():
    cfg = small(gains_projection_bias_std=0.5, gains_projection_orthogonal=True)
    model = build(cfg)
    w = model.gains_projection.weight
    assert abs(model.gains_projection.bias.std().item() - 0.5) < 0.35
    # orthogonal rows scaled by 0.3: W W^T = 0.09 I (C <= d)
    assert torch.allclose(w @ w.T, 0.09 * torch.eye(C), atol=1e-4)
    dropped = build(dataclasses.replace(cfg, original_factory=True))
    assert not torch.allclose(dropped.gains_projection.weight @ dropped.gains_projection.weight.T,
                              0.09 * torch.eye(C), atol=1e-3)


def test_difficulty_switches():
    q, r, qn, u = inputs()
    diff = torch.linspace(0.5, 2.0, C)
    plain = build(small())(q, r, qn, u)["skill_gains"]
    scaled = build(small(difficulty_mode="scale_after"), diff)(q, r, qn, u)["skill_gains"]
    assert torch.allclose(scaled, plain / diff, atol=1e-6)
    v5 = build(small(difficulty_mode="input"), diff)
    assert v5.gains_projection.in_features == 16 + C
    v5_dropped = build(small(difficulty_mode="input", original_factory=True), diff)
    assert v5_dropped.gains_projection.in_features == 16


def test_velocity_scaling():
    q, r, qn, u = inputs()
    vel = torch.full(q.shape, 2.0)
    on = build(small(use_student_velocity=True))
    off = build(small(use_student_velocity=False))
    assert torch.allclose(on(q, r, qn, u, velocity=vel)["skill_gains"], 2 * off(q, r, qn, u)["skill_gains"])


def test_gamma_modes():
    model = build(small())
    with torch.no_grad():
        model.gamma_student.copy_(torch.arange(S, dtype=torch.float32))
    u = torch.tensor([0, 4])
    assert torch.equal(model.gamma(u, "per_student"), torch.tensor([0.0, 4.0]))
    assert torch.allclose(model.gamma(u, "mean"), torch.tensor([2.0, 2.0]))


def test_beta_init_spread():
    assert build(small(beta_init_std=0.0)).beta_skill.std().item() == 0.0
    b = build(small(beta_init_std=0.5)).beta_skill
    assert b.std().item() > 0.1 and b.min() >= 0.5 and b.max() <= 5.0


def test_fast_dropout_matches_torch_dropout_in_distribution():
    x = torch.ones(200, 500)
    d = Dropout(0.2)
    y = d.train()(x)
    assert abs((y == 0).float().mean().item() - 0.2) < 0.01
    assert abs(y.mean().item() - 1.0) < 0.02  # inverted scaling keeps the expectation
    assert torch.equal(d.eval()(x), x)


def test_dropout_draws_and_values_are_those_of_the_bool_mask_product():
    """The fused mask (one autograd node) gives bitwise the values and gradient of
    x * (uniform >= p) / (1 - p) and draws the same random numbers, so runs re-run unchanged."""
    x0, g = torch.randn(3, 7, 16), torch.randn(3, 7, 16)
    x, ref = x0.clone().requires_grad_(), x0.clone().requires_grad_()
    torch.manual_seed(5)
    y = Dropout(0.2).train()(x)
    after = torch.rand(3)
    torch.manual_seed(5)
    keep = torch.empty_like(ref).uniform_() >= 0.2
    want = ref * keep / (1.0 - 0.2)
    assert torch.equal(torch.rand(3), after)   # the same draws consumed
    (y * g).sum().backward()
    (want * g).sum().backward()
    for a, b in ((y, want), (x.grad, ref.grad)):
        assert torch.equal(a.detach().view(torch.int32), b.detach().view(torch.int32))

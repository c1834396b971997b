"""The corrected model's switches (V6, issue 19): each does what its help says, defaults change
nothing, and V6 exists only as intended."""
import dataclasses

import pytest
import torch

from gainakt import data as kt_data
from gainakt.batches import iter_steps
from gainakt.config import Config
from gainakt.model import CURVE_PARAMETERS, GainAKT3Exp
from gainakt.train import Experiment
from gainakt.variants import BEYOND, VARIANTS, make_config, variant_settings

TINY = dict(dataset="synthetic", synthetic={"n_students": 40, "max_len": 60, "n_skills": 6},
            d_model=16, n_heads=2, n_blocks=1, d_ff=32, batch_size=12, seq_len=25, epochs=1,
            dropout=0.0, im_grad_batches=1, n_trajectory_students=3, trajectory_min_steps=5)
FIX = ("gain_activation", "gain_source", "shared_curve", "curve_form", "skill_intercept", "readout_clamps",
       "learn_temperature", "curve_lr_multiplier", "curve_weight_decay", "gamma_positive")


@pytest.fixture(scope="module")
def tiny_data():
    return kt_data.load_dataset("synthetic", seq_len=25, synthetic=TINY["synthetic"])


def _batch(n=3, T=8, C=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    q = torch.randint(0, C, (n, T), generator=g)
    r = torch.randint(0, 2, (n, T), generator=g)
    return q, r, torch.roll(q, -1, 1)


def _model(**kw):
    torch.manual_seed(0)
    cfg = Config(**{**TINY, **kw})
    return GainAKT3Exp(cfg, num_skills=6, num_students=4).eval()


def test_the_original_variants_do_not_use_the_corrected_switches():
    defaults = Config()
    for key in VARIANTS:
        for fl in ("as_run", "as_intended"):
            cfg = make_config(key, fl)
            assert {f: getattr(cfg, f) for f in FIX} == {f: getattr(defaults, f) for f in FIX}, (key, fl)
    names = {n for n, _ in _model().named_parameters()}
    assert "skill_bias" not in names and "log_temperature" not in names   # old checkpoints still load


def test_v6_is_as_intended_only():
    cfg = make_config("V6", "as_intended")
    assert (cfg.gain_activation, cfg.skill_intercept, cfg.readout_clamps, cfg.learn_temperature,
            cfg.curve_lr_multiplier) == ("softplus", True, False, True, 50.0)
    assert (cfg.accumulate, cfg.loss_on, cfg.mastery_index, cfg.mask_padding) == ("practised", "logits", "next", True)
    with pytest.raises(ValueError, match="V6 is not one of the original's.*'as_run'"):
        variant_settings("V6", "as_run")
    assert set(BEYOND) == {"V6"} and "V6" not in VARIANTS


@pytest.mark.parametrize("activation, check", [
    ("sigmoid", lambda g: (g > 0).all() and (g < 1).all()),
    ("softplus", lambda g: (g > 0).all()),
    ("tanh", lambda g: (g > -1).all() and (g < 1).all()),
])
def test_gain_activation(activation, check):
    m = _model(gain_activation=activation)
    with torch.no_grad():
        m.gains_projection.weight.mul_(5)    # push pre-activations away from 0
    out = m(*_batch())
    g = out["skill_gains"]
    assert check(g)
    if activation == "softplus":
        assert (g > 1).any()                  # not bounded in (0, 1)
    if activation == "tanh":
        assert (g < 0).any()                  # signed: practice (and mastery) can fall


def test_skill_intercept_shifts_the_logit_of_the_read_out_skill_only():
    m = _model(skill_intercept=True)
    q, r, qn = _batch()
    base = m(q, r, qn)["logits_im"]
    with torch.no_grad():
        m.skill_bias[2] = 1.5
    shifted = m(q, r, qn)["logits_im"]
    torch.testing.assert_close(shifted - base, 1.5 * (qn == 2).float())   # read-out skill = next skill


def test_readout_clamps_and_learned_temperature():
    q, r, qn = _batch()
    for clamps in (True, False):
        m = _model(readout_clamps=clamps, m_sat_init=1.0, sigmoid_offset=-5.0)
        with torch.no_grad():
            m.M_sat.fill_(1.5)
            m.theta_global.fill_(1.2)
        out = m(q, r, qn, states=True)
        if clamps:
            assert out["mastery_q"].max() <= 1.0 and out["mastery"].max() <= 1.0
            torch.testing.assert_close(out["logits_im"], out["mastery_q"] - 1.0)   # theta clamped to 1
        else:
            assert out["mastery_q"].max() > 1.0 and out["mastery"].max() > 1.0
            torch.testing.assert_close(out["logits_im"], out["mastery_q"] - 1.2)
    m = _model(learn_temperature=True, threshold_temperature=0.5)
    assert m.log_temperature.exp().item() == pytest.approx(0.5)
    m(q, r, qn)["logits_im"].sum().backward()
    assert m.log_temperature.grad is not None and m.log_temperature.grad.abs() > 0


@pytest.mark.parametrize("mult", [0.0, 1.0])
def test_curve_lr_multiplier_zero_freezes_the_curve_scalars(mult, tiny_data):
    cfg = make_config("V6", "as_intended", **TINY, curve_lr_multiplier=mult)
    exp = Experiment(cfg, tiny_data)
    before = {n: p.detach().clone() for n, p in exp.model.named_parameters()}
    exp.train_epoch(1)
    moved = {n for n, p in exp.model.named_parameters() if not torch.equal(p, before[n])}
    curve = {n for n in before if n in CURVE_PARAMETERS}
    assert {"skill_bias", "log_temperature", "beta_skill"} <= curve
    if mult == 0.0:
        assert not (moved & curve) and moved   # the rest trains
    else:
        assert curve <= moved | {"gamma_student"}


def test_curve_weight_decay_applies_to_the_curve_scalars_only(tiny_data):
    """none: the curve group decays like the rest (the original's coupled L2); a value: its own decay,
    which Adam's normalisation turns into about one curve-LR step per update toward 0 when it dominates."""
    groups = lambda exp: [(g["lr"], g["weight_decay"], len(g["params"])) for g in exp.opt.param_groups]
    base = Experiment(make_config("V6", "as_intended", **TINY), tiny_data)
    wd = base.cfg.weight_decay
    # (the last group: gamma, whose trained rows get their decay by hand, `train_step`)
    assert [g[1] for g in groups(base)] == [wd, wd, wd, 0.0] and base.gamma_decay == wd
    exp = Experiment(make_config("V6", "as_intended", **TINY, curve_weight_decay=0.0), tiny_data)
    assert [g[1] for g in groups(exp)] == [wd, wd, 0.0] and exp.gamma_decay == 0.0
    curve = {id(p) for n, p in exp.model.named_parameters() if n in CURVE_PARAMETERS}
    assert {id(p) for p in exp.opt.param_groups[2]["params"]} == curve
    # a decay that dominates every data gradient pulls each positive beta down; the rest has none
    exp = Experiment(make_config("V6", "as_intended", **TINY, weight_decay=0.0, curve_weight_decay=1e3),
                     tiny_data)
    beta = exp.model.beta_skill.detach().clone()
    exp.train_epoch(1)
    assert bool((beta > 0).all()) and bool((exp.model.beta_skill < beta).all())
    assert [g[1] for g in groups(exp)] == [0.0, 0.0, 1e3, 0.0] and exp.gamma_decay == 1e3


def _padded_and_packed(cfg, data) -> dict:
    """{batching: (losses, {parameter name: gradient})} of one training batch of the original's
    padded batches, computed padded and packed from the same initial weights."""
    batch = next(iter_steps(data.train, cfg.batch_size, batching="padded"))[0]
    out = {}
    for batching in ("padded", "packed"):
        exp = Experiment(dataclasses.replace(cfg, batching=batching), data)
        exp.model.train()
        exp.model.zero_grad(set_to_none=True)
        (_, losses), = exp.backward([batch])
        out[batching] = (losses, {n: p.grad for n, p in exp.model.named_parameters()})
    return out


def test_v6_packed_batch_has_the_loss_and_gradient_of_the_padded_batch(tiny_data):
    grads = _padded_and_packed(make_config("V6", "as_intended", **TINY, batching="padded"), tiny_data)
    (l0, g0), (l1, g1) = grads["padded"], grads["packed"]
    for k in l0:
        torch.testing.assert_close(l1[k], l0[k], rtol=1e-5, atol=1e-6, msg=k)
    for n, g in g0.items():
        if g is not None:
            torch.testing.assert_close(g1[n], g, rtol=1e-4, atol=1e-6, msg=n)


def test_gain_source_skill_is_one_learned_gain_per_skill(tiny_data):
    q, r, qn = _batch()
    m = _model(gain_source="skill", gain_activation="softplus")
    with torch.no_grad():
        m.skill_gain.copy_(torch.arange(6.0) - 3)
    out = m(q, r, qn, states=True)
    g = out["skill_gains"]                                       # [B, T, C]: the same at every step
    torch.testing.assert_close(g, torch.nn.functional.softplus(torch.arange(6.0) - 3).expand_as(g))
    torch.testing.assert_close(out["gain_q"], g.gather(2, q.unsqueeze(2)).squeeze(2))
    assert "skill_gain" not in {n for n, _ in _model().named_parameters()}
    assert "skill_gain" in CURVE_PARAMETERS          # it learns at the curve scalars' rate
    # V6 with it: packed = padded, and the gains projection gets no gradient (nothing reads it)
    res = _padded_and_packed(make_config("V6", "as_intended", **TINY, batching="padded", gain_source="skill"),
                             tiny_data)
    (l0, g0), (l1, g1) = res["padded"], res["packed"]
    torch.testing.assert_close(l1["total"], l0["total"], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(g1["skill_gain"], g0["skill_gain"], rtol=1e-4, atol=1e-6)
    assert g0["skill_gain"].abs().sum() > 0 and g0["gains_projection.weight"] is None


def test_shared_curve_gives_every_skill_one_beta_and_one_m_sat(tiny_data):
    q, r, qn = _batch()
    m = _model(shared_curve=True, beta_init_std=0.5)            # per-skill entries start different
    beta, msat = m.curve()
    assert beta.shape == msat.shape == (6,) and beta.unique().numel() == 1 and msat.unique().numel() == 1
    assert beta[0] == m.beta_skill.mean()
    # the same as the per-skill model whose entries are all set to those means
    flat = _model(beta_init_std=0.5)
    with torch.no_grad():
        flat.M_sat.uniform_(0.5, 1.0)
        m.M_sat.copy_(flat.M_sat)
        assert m.beta_skill.std() > 0
        flat.beta_skill.fill_(m.beta_skill.mean().item())
        flat.M_sat.fill_(m.M_sat.mean().item())
        a, b = m(q, r, qn, states=True), flat(q, r, qn, states=True)
    for key in ("mastery", "mastery_q", "logits_im"):
        torch.testing.assert_close(a[key], b[key])
    # trained as V6: entries that start equal stay equal (the same gradient), so tables show one value
    from gainakt.train import run
    import tempfile, pandas as pd
    with tempfile.TemporaryDirectory() as d:
        run(make_config("V6", "as_intended", **TINY, shared_curve=True), d, dataset=tiny_data, log=lambda *a: None)
        t = pd.read_csv(f"{d}/skill_gains.csv")
    assert t.beta.nunique() == 1 and t.m_sat.nunique() == 1 and t.beta.iloc[0] != 2.0


def test_a_v6_run_with_per_skill_gains_trains_and_reports_its_gain_gradients(tiny_data, tmp_path):
    from gainakt.train import run
    res = run(make_config("V6", "as_intended", **TINY, gain_source="skill"), tmp_path, dataset=tiny_data,
              log=lambda *a: None)
    import pandas as pd
    h = pd.read_csv(tmp_path / "history.csv")
    assert (h.im_grad_norm.iloc[1:] > 0).all() and res["epochs_run"] == 1
    t = pd.read_csv(tmp_path / "skill_gains.csv")
    seen = t[t.n > 0]
    assert seen.gain_own_mean.nunique() == len(seen)   # one gain per skill, each its own


def test_the_linear_curve_is_the_sigmoid_curves_tangent_at_zero_practice(tiny_data, tmp_path):
    q, r, qn = _batch(T=12)
    sig, lin = _model(readout_clamps=False), _model(readout_clamps=False, curve_form="linear")
    lin.load_state_dict(sig.state_dict())
    with torch.no_grad():
        a, b = sig(q, r, qn, states=True), lin(q, r, qn, states=True)
    torch.testing.assert_close(a["practice_q"], b["practice_q"])           # the gains are the same
    zero = a["practice_q"] == 0
    assert zero.any() and (~zero).any()
    torch.testing.assert_close(b["mastery_q"][zero], a["mastery_q"][zero])  # the same start ...
    # ... and the same first step: at t = 0 every skill but the one answered has practice 0
    unpractised = torch.nn.functional.one_hot(q[:, 0], 6) == 0             # [B, C]
    torch.testing.assert_close(b["slope"][:, 0][unpractised], a["slope"][:, 0][unpractised])
    torch.testing.assert_close(b["mastery"][:, 0][unpractised], a["mastery"][:, 0][unpractised])
    # a straight line in practice: one slope per student and skill at every step, never flat
    assert (b["slope"] == b["slope"][:, :1]).all() and (b["slope"] > 0).all()
    start = b["mastery_q"][zero][0]
    torch.testing.assert_close(b["mastery_q"], start + b["slope_q"] * b["practice_q"])
    assert not torch.allclose(b["mastery_q"][~zero], a["mastery_q"][~zero])
    # a V6 run with the linear curve trains end to end and its curve tables keep their shape
    from gainakt.train import run
    import pandas as pd
    run(make_config("V6", "as_intended", **TINY, curve_form="linear", shared_curve=True), tmp_path,
        dataset=tiny_data, log=lambda *x: None)
    t = pd.read_csv(tmp_path / "skill_gains.csv")
    assert len(t) == 6 and t.beta.nunique() == 1


def test_gamma_positive_starts_as_the_free_gamma_and_keeps_the_curve_rising(tiny_data, tmp_path):
    q, r, qn = _batch(T=12)
    free, pos = _model(curve_form="linear", readout_clamps=False), \
        _model(curve_form="linear", readout_clamps=False, gamma_positive=True)
    with torch.no_grad():
        a, b = free(q, r, qn, states=True), pos(q, r, qn, states=True)
        torch.testing.assert_close(pos.student_gammas(), free.gamma_student)   # the same start
        for key in ("mastery", "slope", "logits_im"):
            torch.testing.assert_close(a[key], b[key])
        # a parameter the free model would read as a falling curve stays a rising one
        free.gamma_student.fill_(-0.95)
        pos.gamma_student.fill_(-0.95)
        a, b = free(q, r, qn, states=True), pos(q, r, qn, states=True)
    assert (a["slope"] < 0).all() and (b["slope"] > 0).all()
    torch.testing.assert_close(pos.student_gammas(), torch.nn.functional.softplus(torch.tensor(-0.95)).expand(4))
    # the reported gamma is the one the curve uses, not the raw parameter
    from gainakt.metrics import parameter_stats
    assert parameter_stats(pos)["gamma_mean"] == pytest.approx(0.32696, abs=1e-4)   # softplus(-0.95)
    from gainakt.train import run
    import json
    run(make_config("V6", "as_intended", **TINY, curve_form="linear", shared_curve=True, gamma_mode="mean",
                    gamma_positive=True), tmp_path, dataset=tiny_data, log=lambda *x: None)
    assert json.loads((tmp_path / "metrics.json").read_text())["params"]["gamma_mean"] > 0

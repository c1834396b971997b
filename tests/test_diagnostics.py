"""Per-term gradient norms at gains_projection: zero where a term is off, equal to a direct autograd."""
import math

import pytest
import torch

from gainakt.diagnostics import gains_grad_norms
from gainakt.losses import total_loss
from gainakt.train import Experiment
from gainakt.variants import make_config

TINY = dict(dataset="synthetic", d_model=16, n_blocks=1, d_ff=32, n_heads=2, epochs=1, im_grad_batches=1,
            synthetic={"n_students": 40, "n_skills": 6})


def test_terms_that_are_off_send_nothing():
    exp = Experiment(make_config("V1", "as_intended", **TINY))  # V1: no variance/contrastive losses
    g = gains_grad_norms(exp)
    assert g["grad_gains_variance"] == 0.0 and g["grad_gains_contrastive"] == 0.0
    assert g["grad_gains_im"] > 0


def test_scalar_mode_has_no_projection():
    g = gains_grad_norms(Experiment(make_config("V0", "as_run", **TINY)))
    assert all(math.isnan(v) for v in g.values())


def test_im_norm_matches_direct_gradient():
    exp = Experiment(make_config("V3", "as_intended", **TINY))
    g = gains_grad_norms(exp)
    batch = next(iter(exp.batches(exp.splits["train"], shuffle=False)))
    exp.model.eval()
    losses = total_loss(exp.forward(batch, training=False), batch, exp.model, exp.cfg)
    w = 1 - exp.cfg.bce_loss_weight
    grads = torch.autograd.grad(w * losses["im"], list(exp.model.gains_projection.parameters()))
    assert g["grad_gains_im"] == pytest.approx(float(torch.sqrt(sum((x ** 2).sum() for x in grads))), rel=1e-5)
    assert g["grad_gains_variance"] > 0 and g["grad_gains_contrastive"] > 0

"""Per-skill gain tables: counts, accuracies and means agree with a direct computation."""
import numpy as np
import pytest

from gainakt import skillstats
from gainakt.train import Experiment
from gainakt.variants import make_config

TINY = dict(dataset="synthetic", d_model=16, n_blocks=1, d_ff=32, n_heads=2, epochs=1,
            synthetic={"n_students": 40, "n_skills": 6})


@pytest.mark.parametrize("variant", ["V0", "V2"])
def test_skill_table_matches_direct_sums(variant):
    exp = Experiment(make_config(variant, "as_intended", **TINY))
    split = exp.splits["test"]
    t = skillstats.skill_table(exp, split)
    qs, rs, gs = [], [], []
    for batch in exp.batches(split, shuffle=False):
        out = exp.forward(batch, training=False)
        m = batch.mask
        qs.append(batch.q[m].numpy()); rs.append(batch.r[m].numpy()); gs.append(out["gain_q"][m].detach().numpy())
    q, r, g = map(np.concatenate, (qs, rs, gs))
    assert t.n.sum() == len(q)
    for s in range(6):
        sel = q == s
        if sel.any():
            assert t.n[s] == sel.sum()
            assert t.accuracy[s] == pytest.approx(r[sel].mean())
            assert t.gain_own_mean[s] == pytest.approx(g[sel].mean(), rel=1e-5)
    if variant == "V0":  # scalar mode: the own gain is the legacy scalar itself
        np.testing.assert_allclose(t.gain_own_mean, t.gain_scalar_mean, rtol=1e-6)
        assert t.gain_to_skill_mean.isna().all()

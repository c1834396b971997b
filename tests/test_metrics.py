"""The six trajectory checks on hand-made trajectories."""
import numpy as np
import pandas as pd
import pytest
import torch

from gainakt.metrics import trajectory_checks


def trajectory(window, student, mastery, responses, skill=1):
    T = len(mastery)
    return pd.DataFrame({"window": window, "student": student, "step": np.arange(T), "skill": skill,
                         "response": responses, "response_next": np.roll(responses, -1),
                         "mastery_current": mastery, "mastery_q": mastery, "gain_skill": 0.1 + 0.1 * responses,
                         "gain_scalar": 0.5,
                         "skills_gain_gt_0.1": 1.0})


def check(table, name):
    return table.set_index("check").loc[name]


def test_monotonicity_is_counted_within_windows_not_across_them():
    r = np.array([0, 1, 0, 1, 1, 1])
    rising = np.linspace(0.1, 0.6, 6)
    # one student, two windows: practice (and mastery) starts again in the second window
    two_windows = pd.concat([trajectory(0, 7, rising, r), trajectory(1, 7, rising, r)])
    assert check(trajectory_checks(two_windows), "3 monotonicity")["value"] == 0
    dips = rising.copy()
    dips[3] = 0.05                       # a real decrease inside one window
    one_dip = pd.concat([trajectory(0, 7, rising, r), trajectory(1, 7, dips, r)])
    assert check(trajectory_checks(one_dip), "3 monotonicity")["value"] == 1


def test_mastery_correlation_is_the_mean_over_windows():
    r = np.array([0, 0, 1, 0, 1, 1, 1, 1])
    a = trajectory(0, 7, np.linspace(0.1, 0.8, 8), r)
    b = trajectory(1, 7, np.linspace(0.8, 0.1, 8), r)
    expected = np.mean([np.corrcoef(t["mastery_q"], t["response_next"])[0, 1] for t in (a, b)])
    got = check(trajectory_checks(pd.concat([a, b])), "4 mastery correlation")["value"]
    assert got == pytest.approx(expected)
    meaningful = trajectory_checks(pd.concat([a, b]), "gain_skill", "meaningful")
    assert check(meaningful, "6 response-conditional gain")["value"] == pytest.approx(2.0)


# --- EpochMetrics against a direct numpy computation ------------------------------------------

def _eval_batch(rng, B, T, C, per_skill=True, first=0):
    """A batch of windows first..first+B-1 and a model output with random values; some windows
    shorter than T."""
    from gainakt.batches import Batch
    lengths = rng.integers(1, T + 1, size=B)
    lengths[0] = T
    mask = torch.from_numpy(np.arange(T)[None, :] < lengths[:, None])
    q = torch.from_numpy(rng.integers(0, C, size=(B, T))) * mask
    qn = torch.from_numpy(rng.integers(0, C, size=(B, T))) * mask
    r = torch.from_numpy(rng.integers(0, 2, size=(B, T))) * mask
    rn = torch.from_numpy(rng.integers(0, 2, size=(B, T))).float() * mask
    batch = Batch(q, r, qn, rn, mask, torch.arange(B), torch.arange(first, first + B))
    f = lambda *s: torch.from_numpy(rng.random(s)).float()
    mastery = torch.cumsum(f(B, T, C) - 0.1, 1)
    out = {"p_enc1": f(B, T), "p_im": f(B, T), "scalar_gains": 0.5 + 0.01 * f(B, T), "mastery": mastery,
           "slope": 0.02 * f(B, T, C)}
    if per_skill:
        out["skill_gains"] = f(B, T, C)
        out["gain_q"] = out["skill_gains"].gather(2, q.unsqueeze(2)).squeeze(2)
    else:
        out["gain_q"] = out["scalar_gains"]
    losses = {"bce": torch.tensor(rng.random()), "im": torch.tensor(rng.random())}
    return batch, out, losses


def _reference(items, C, max_corr):
    """Every EpochMetrics statistic, computed window by window in numpy."""
    from sklearn.metrics import roc_auc_score
    cat = lambda key: np.concatenate([o[key][b.mask].numpy().astype(np.float64) for b, o, _ in items])
    m = np.concatenate([b.mask[b.mask].numpy() for b, _, _ in items])
    y, q, r = (np.concatenate([getattr(b, k)[b.mask].numpy() for b, _, _ in items]) for k in ("r_next", "q", "r"))
    ns = [b.mask.sum().item() for b, _, _ in items]
    res = {f"loss_{k}": sum(float(l[k]) * n for (_, _, l), n in zip(items, ns)) / sum(ns) for k in ("bce", "im")}
    res["enc1_auc"], res["enc2_auc"] = roc_auc_score(y, cat("p_enc1")), roc_auc_score(y, cat("p_im"))
    res["enc1_acc"] = np.mean((cat("p_enc1") >= 0.5) == (y >= 0.5))
    res["interactions"] = len(m)
    for prefix, key in (("gain_scalar", "scalar_gains"), ("gain_skill", "gain_q")):
        g = cat(key)
        res[f"{prefix}_mean"], res[f"{prefix}_std"] = g.mean(), g.std()
        means = np.array([g[q == c].mean() for c in range(C) if (q == c).any()])
        res[f"{prefix}_per_skill_cv"] = means.std() / means.mean()
        res[f"{prefix}_response_ratio"] = g[r == 1].mean() / g[r != 1].mean()
    res["gain_skill_across_skill_std"] = np.mean(np.concatenate(
        [o["skill_gains"].double().std(-1)[b.mask].numpy() for b, o, _ in items])) if "skill_gains" in items[0][1] else 0.0
    corr, pooled, viol, sat, cells = {"orig": [], "target": []}, [[], []], 0, 0, 0
    for b, o, _ in items:
        for i in range(b.mask.shape[0]):
            mi = b.mask[i].numpy()
            mast, yy = o["mastery"][i].numpy().astype(np.float64)[mi], b.r_next[i].numpy()[mi]
            both = mi[1:] & mi[:-1]
            viol += ((o["mastery"][i, 1:] < o["mastery"][i, :-1] - 1e-6).numpy() & both[:, None]).sum()
            sat += ((o["slope"][i] < 0.01).numpy() & mi[:, None]).sum()
            cells += mi.sum() * C
            if b.index[i] >= max_corr:   # correlations: the first max_corr windows in file order
                continue
            tgt = mast[np.arange(len(yy)), b.q_next[i].numpy()[mi]]
            pooled[0].append(tgt); pooled[1].append(yy)
            for name, x in (("orig", mast.mean(-1)), ("target", tgt)):
                if len(yy) >= 3 and x.std() > 1e-6 and yy.std() > 0:
                    corr[name].append(np.corrcoef(x, yy)[0, 1])
    res["mastery_corr_original"], res["mastery_corr_target"] = np.mean(corr["orig"]), np.mean(corr["target"])
    res["corr_windows"] = len(corr["orig"])
    res["mastery_corr_target_pooled"] = np.corrcoef(np.concatenate(pooled[0]), np.concatenate(pooled[1]))[0, 1]
    res["monotonicity_violations"], res["saturation_fraction"] = viol, sat / cells
    return res


@pytest.mark.parametrize("per_skill", [True, False])
def test_epoch_metrics_equal_a_direct_computation(per_skill):
    from gainakt.metrics import EpochMetrics
    rng, C = np.random.default_rng(3), 7
    shapes, first = ((5, 9), (4, 6), (6, 12)), (0, 5, 9)
    items = [_eval_batch(rng, B, T, C, per_skill, f) for (B, T), f in zip(shapes, first)]
    want = _reference(items, C, 12)                # window 12 is in the third batch: it is cut after 3
    for order in (items, items[::-1]):             # batches in any order: the same statistics
        acc = EpochMetrics(C, max_corr_windows=12)
        for item in order:
            acc.add(*item)
        got = acc.result()
        for k, v in want.items():
            assert got[k] == pytest.approx(v, rel=1e-5, abs=1e-9), k

"""gainakt.analysis.corrected on made-up run folders whose answer is known."""
import numpy as np
import pandas as pd

from gainakt.analysis.corrected import configurations, design_table


def _run(tmp_path, variant, label, seed, gains, untrained, acc=0.7):
    d = tmp_path / f"{variant}-{label}" / f"seed{seed}"
    d.mkdir(parents=True)
    C = len(gains)
    base = {"skill": np.arange(C), "n": np.full(C, 50), "accuracy": np.linspace(0.4, 0.9, C)}
    pd.DataFrame({**base, "gain_own_mean": gains}).to_csv(d / "skill_gains.csv", index=False)
    pd.DataFrame({**base, "gain_own_mean": untrained}).to_csv(d / "skill_gains_untrained.csv", index=False)
    return {"dataset": "assist2015", "variant": variant, "flavour": "as_intended", "label": label, "seed": seed,
            "dir": str(d), "stopping": "early stop", "test_enc1_auc": acc, "test_enc2_auc": acc - 0.1}


def test_design_table_rows_agreement_and_external_validity(tmp_path):
    rng = np.random.default_rng(0)
    C = 12
    learn = np.linspace(0.05, 0.5, C)
    rows = []
    for seed in (42, 43, 44):
        noise = rng.standard_normal(C)
        # V6 tracks the BKT learn rate in every seed; V2's gains are seed noise
        rows.append(_run(tmp_path, "V6", "small", seed, learn + 0.01 * noise, rng.standard_normal(C)))
        rows.append(_run(tmp_path, "V2", "small", seed, noise, rng.standard_normal(C)))
        rows.append(_run(tmp_path, "V6", "small-v6-sigmoid", seed, learn[::-1] + 0.01 * noise, rng.standard_normal(C)))
    runs = pd.DataFrame(rows)
    assert configurations(runs) == [("V2", "as_intended", "small"), ("V6", "as_intended", "small"),
                                    ("V6", "as_intended", "small-v6-sigmoid")]
    ref = pd.DataFrame({"skill": np.arange(C), "bkt_learn": learn, "pfa_success": learn ** 2,
                        "train_accuracy": rng.uniform(0.5, 0.9, C)})
    t = design_table(runs, ref).set_index(["variant", "switch"])
    v6 = t.loc[("V6", "")]
    assert v6.seeds == 3 and v6["E1 test AUC"] == "0.700 ± 0.000"
    assert float(v6["agreement"].split(" ")[0]) > 0.9
    assert float(v6["rho BKT learn rate"].split(" ")[0]) > 0.9
    assert float(t.loc[("V6", "sigmoid"), "rho BKT learn rate"].split(" ")[0]) < -0.9
    assert abs(float(t.loc[("V2", ""), "agreement"].split(" ")[0])) < 0.5
    assert "partial rho BKT learn | accuracy" in t.columns
    assert design_table(runs.iloc[:0], ref).empty

"""Reading results back: collect, summarise over seeds, one run's summary, reported vs measured."""
import json

import numpy as np
import pandas as pd
import pytest

from gainakt import report


def _write_run(root, seed, auc):
    d = root / "assist2015" / "V1-as_run" / f"seed{seed}"
    d.mkdir(parents=True)
    test = {"enc1_auc": auc, "enc2_auc": auc - 0.1, "gain_scalar_std": 0.003}
    (d / "metrics.json").write_text(json.dumps({
        "epochs_run": 2, "best_epoch": 2, "checks_passed": 3, "test": test, "valid": test,
        "untrained_valid": {"enc1_auc": 0.5, "gain_skill_std": 0.14}, "params": {"beta_std": 0.2}}))
    (d / "config.json").write_text(json.dumps({"config": {
        "dataset": "assist2015", "variant": "V1", "flavour": "as_run", "seed": seed, "d_model": 64, "n_blocks": 2}}))


def test_collect_and_summarise_give_mean_and_sd_over_seeds(tmp_path):
    for seed, auc in ((0, 0.60), (1, 0.64), (2, 0.68)):
        _write_run(tmp_path, seed, auc)
    (tmp_path / "assist2015" / "V1-as_run" / "seed9").mkdir()   # unfinished: no metrics.json
    runs = report.collect(tmp_path)
    assert sorted(runs.seed) == [0, 1, 2]
    assert runs.untrained_gain_skill_std.tolist() == [0.14] * 3
    table = report.summarise(runs, ["test_enc1_auc", "not_a_column"], by=("dataset", "variant", "flavour"))
    row = table.iloc[0]
    assert row.n_seeds == 3
    assert row.test_enc1_auc_mean == pytest.approx(0.64)
    assert row.test_enc1_auc_std == pytest.approx(0.04)   # sample sd (ddof 1)
    assert "not_a_column_mean" not in table


def test_run_summary_puts_the_untrained_noise_floor_beside_valid_and_test():
    m = {"valid": {"enc1_auc": 0.6, "gain_skill_std": 0.1}, "test": {"enc1_auc": 0.59},
         "untrained_valid": {"gain_skill_std": 0.14}}
    s = report.run_summary(m)
    assert list(s.columns) == ["valid", "test", "untrained (valid)"]
    assert s.loc["gain_skill_std", "untrained (valid)"] == 0.14
    assert s.loc["enc1_auc", "test"] == 0.59 and np.isnan(s.loc["gain_skill_std", "test"])


def test_reported_vs_measured_reads_the_mapped_metric():
    m = {"valid": {"enc1_auc": 0.61, "enc2_auc": 0.55}, "test": {}, "params": {}, "best_epoch": 1}
    history = pd.DataFrame({"epoch": [0, 1], "train_enc1_auc": [0.5, 0.7], "train_enc2_auc": [0.5, 0.6]})
    t = report.reported_vs_measured("V2", m, history).set_index("quantity")   # V2 reports train AUCs
    assert t.loc["enc1_val_auc", "measured"] == 0.61
    assert t.loc["enc1_train_auc", "measured"] == 0.7     # the best epoch's train row
    assert t.loc["enc1_val_auc", "measured_from"] == "valid.enc1_auc"


def test_committed_analysis_pages_are_current():
    """`make book` writes book/analysis/*.ipynb from notebooks/analysis_*.ipynb; the committed page
    must already be that text, or a fresh clone's build leaves `git status` dirty."""
    from pathlib import Path

    from gainakt.book import analysis_page_text, analysis_pages

    root = Path(__file__).resolve().parents[1]
    pages = analysis_pages(root)
    assert pages, "no notebooks/analysis_*.ipynb found"
    for src, dst in pages.items():
        assert (root / dst).is_file(), f"{dst} missing: run `python -m gainakt.book build` and commit it"
        assert (root / dst).read_text(encoding="utf-8") == analysis_page_text(root / src), \
            f"{dst} is stale: run `python -m gainakt.book build` (or sync_analysis_pages) and commit it"

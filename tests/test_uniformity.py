"""gainakt.analysis.uniformity: the seeds' legacy std beside the untrained model at both sizes."""
import pandas as pd

from gainakt.analysis import uniformity


def _floor(small, full, variant="V2"):
    rows = [dict(dataset="assist2015", split="test", variant=variant, flavour="as_run", size=size, seed=s,
                 gain_scalar_std=v) for size, vals in (("small", small), ("full", full)) for s, v in enumerate(vals)]
    return pd.DataFrame(rows)


def _runs(values, variant="V2"):
    return pd.DataFrame({"dataset": "assist2015", "variant": variant, "flavour": "as_run", "label": "small",
                         "seed": range(len(values)), "test_gain_scalar_std": values})


def test_table_places_the_seeds_number_among_the_untrained_models_of_their_size():
    floor = _floor([0.0031, 0.0030, 0.0032], [0.0016, 0.0017, 0.0015])
    t = uniformity.uniformity_table(_runs([0.006, 0.007, 0.0065]), floor)
    assert t.variant.tolist() == ["V2"]          # only variants with a reported std and a measurement
    row = t.iloc[0]
    assert row["the seeds (trained, d 256)"] == 0.0017
    assert row["the seeds / untrained d 256"] == 1.06     # 0.0017 / 0.0016
    assert row["untrained, d 256 x 4 blocks"].startswith("0.00160 ± 0.00010")


def test_statement_is_pending_until_three_seeds_at_both_sizes_then_reads_the_ratio():
    runs = _runs([0.006, 0.007, 0.0065])
    assert "pending" in uniformity.uniformity_statement(runs, _floor([0.0031, 0.0030, 0.0032], [0.0016]))
    assert "pending" in uniformity.uniformity_statement(runs, None)
    s = uniformity.uniformity_statement(runs, _floor([0.0031, 0.0030, 0.0032], [0.0016, 0.0018, 0.0015]))
    assert "0.53 times" in s and "1.04 times the untrained" in s and "is as \"nearly" in s and "from 0.00310 to" in s
    s = uniformity.uniformity_statement(runs, _floor([0.0031, 0.0030, 0.0032], [0.0010, 0.0011, 0.0012]))
    assert "1.55 times" in s and "is not as" in s


def test_size_note_closes_the_audit_answer_once_the_full_size_floor_has_three_seeds():
    assert uniformity.size_note(None) == ""
    assert uniformity.size_note(_floor([0.0031], [0.0016, 0.0017])) == ""
    s = uniformity.size_note(_floor([0.0031], [0.0016, 0.0017, 0.0015]))
    assert "untrained* V2 as run already gives 0.00160 ± 0.00010 (3 seeds; the seeds' 0.0017 is 1.06 times it" in s

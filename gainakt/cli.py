"""Command line: `python -m gainakt {variants,train,eval,repro,compare,trajectories,simulate}`."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

import pandas as pd

from .config import Config, field_types, optional_fields

DEFAULT_EXPERIMENTS = "experiments"


def _parse_value(name: str, text: str):
    t = field_types()[name]
    if text.lower() in ("none", "null") and name in optional_fields():
        return None
    if t is bool:
        if text.lower() in ("1", "true", "yes", "on"):
            return True
        if text.lower() in ("0", "false", "no", "off"):
            return False
        raise argparse.ArgumentTypeError(f"--{name}: expected true or false, got {text!r}")
    if t is dict:
        return json.loads(text)
    return t(text)


def _config_from_args(args) -> Config:
    from .variants import make_config
    given = {f.name: _parse_value(f.name, getattr(args, f.name)) for f in fields(Config)
             if getattr(args, f.name, None) is not None and f.name not in ("variant", "flavour")}
    if args.config:
        base = json.loads(Path(args.config).read_text())
        base = base.get("config", base)  # accept a run's config.json or a bare config
        return Config.from_dict({**base, **given})
    if args.variant and args.variant != "custom":
        return make_config(args.variant, args.flavour or "as_run", **given)
    return Config.from_dict(given)


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    for f in fields(Config):
        p.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, default=None, metavar="VALUE")
    p.add_argument("--config", help="a JSON config (or a run's config.json) to start from")


def cmd_variants(args) -> int:
    from .variants import table
    pd.set_option("display.max_colwidth", 120, "display.width", 200)
    print(pd.DataFrame(table()).to_string(index=False))
    return 0


def cmd_train(args, argv) -> int:
    from .repro import new_run_dir, write_config
    from .train import run
    cfg = _config_from_args(args)
    out = Path(args.out) if args.out else new_run_dir(args.experiments_dir, cfg)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / "config.json").exists():
        write_config(out, cfg, ["python", "-m", "gainakt", *argv])
    print(f"run folder: {out}")
    res = run(cfg, out)
    _print_summary(res)
    return 0


def _print_summary(res: dict) -> None:
    t = res["test"]
    if "model" in res:  # a baseline: Encoder-1 fields only
        print(f"{res['model']}: test AUC {t['enc1_auc']:.4f} acc {t['enc1_acc']:.4f} | converged: {res['converged']}")
        return
    print(f"best epoch {res['best_epoch']} | test Encoder-1 AUC {t['enc1_auc']:.4f} acc {t['enc1_acc']:.4f} | "
          f"Encoder-2 AUC {t['enc2_auc']:.4f} acc {t['enc2_acc']:.4f} | "
          f"gain std skill {t['gain_skill_std']:.4f} scalar {t['gain_scalar_std']:.4f}")
    if "checks" in res:
        print(f"trajectory checks passed: {res['checks_passed']}/6")


def _run_dir(args) -> Path:
    """args.run: a run folder (relative to here or to the project root) or the id of one under
    --experiments-dir."""
    from . import PACKAGE_ROOT
    from .repro import find_run
    p = Path(args.run)
    for cand in (p, PACKAGE_ROOT / p):
        if cand.is_dir() and (cand / "config.json").exists():
            return cand
    return find_run(args.run, args.experiments_dir)


def _load_trained(args):
    """(run folder, config, Experiment with the run's best checkpoint loaded)."""
    import torch

    from .repro import load_config
    from .train import Experiment
    d = _run_dir(args)
    cfg = load_config(d)
    exp = Experiment(cfg)
    ckpt = d / "checkpoints" / ("best.pt" if (d / "checkpoints" / "best.pt").exists() else "last.pt")
    exp.model.load_state_dict(torch.load(ckpt, map_location=exp.device, weights_only=False)["model"])
    return d, cfg, exp


def cmd_eval(args) -> int:
    from .atomic import write_json_atomic
    d, cfg, exp = _load_trained(args)
    res = {s: exp.evaluate(exp.splits[s], gamma_mode=cfg.eval_gamma_mode if s == "test"
                           else None) for s in ("valid", "test")}
    write_json_atomic(d / "eval.json", res)
    print(json.dumps({s: {k: res[s][k] for k in ("enc1_auc", "enc1_acc", "enc2_auc", "enc2_acc")}
                      for s in res}, indent=2))
    return 0


def cmd_repro(args) -> int:
    from .repro import load_config, new_run_dir, run_key, write_config
    from .train import run
    src = _run_dir(args)
    cfg = load_config(src)
    out = new_run_dir(args.experiments_dir, cfg, suffix="_repro", run_id=run_key(src))
    write_config(out, cfg, ["python", "-m", "gainakt", "repro", args.run])
    print(f"re-running {src.name} into {out.name}")
    _print_summary(run(cfg, out))
    return 0


def cmd_compare(args) -> int:
    from .repro import compare_histories, find_run, run_key
    a = _run_dir(args)
    b = Path(args.other) if args.other else find_run(run_key(a), args.experiments_dir, repro=True)
    table = compare_histories(pd.read_csv(a / "history.csv"), pd.read_csv(b / "history.csv"), args.tolerance)
    pd.set_option("display.width", 200)
    for status in ("outside", "within", "exact"):
        sub = table[table.status == status]
        print(f"{status}: {len(sub)} columns")
        if status != "exact" and len(sub):
            print(sub.to_string(index=False))
    bad = (table.status == "outside").any()
    print(f"{'ERROR' if bad else 'SUCCESS'}: {a.name} vs {b.name}, tolerance {args.tolerance:g}")
    return 1 if bad else 0


def cmd_trajectories(args) -> int:
    from .atomic import write_text_atomic
    from .metrics import trajectory_checks
    from .train import trajectories
    d, cfg, exp = _load_trained(args)
    traj = trajectories(exp, args.n, cfg.trajectory_min_steps, cfg.eval_gamma_mode)
    write_text_atomic(d / f"trajectories_{args.n}.csv", traj.to_csv(index=False))
    print(trajectory_checks(traj).to_string(index=False))
    return 0


def cmd_simulate(args) -> int:
    from .synthetic import SimConfig, write_dataset
    overrides = json.loads(args.params) if args.params else {}
    path = write_dataset(args.out, SimConfig(**overrides))
    print(f"simulated learners written to {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    p = argparse.ArgumentParser(prog="python -m gainakt", description=__doc__)
    p.add_argument("--experiments-dir", default=DEFAULT_EXPERIMENTS, help="where run folders live")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("variants", help="print the variant table")
    t = sub.add_parser("train", help="train one configuration (any config field as a flag)")
    _add_config_flags(t)
    t.add_argument("--out", help="run folder (default: a new one under --experiments-dir)")
    for name, helptext in (("eval", "evaluate a run's best checkpoint on valid and test"),
                           ("trajectories", "write the trajectories table of a run's test students")):
        e = sub.add_parser(name, help=helptext)
        e.add_argument("run", help="run id or folder")
        if name == "trajectories":
            e.add_argument("--n", type=int, default=10, help="number of test students")
    r = sub.add_parser("repro", help="re-run a run from its saved config (into --experiments-dir)")
    r.add_argument("run", help="run id or folder")
    c = sub.add_parser("compare", help="compare a run with its newest re-run, epoch by epoch")
    c.add_argument("run", help="run id or folder")
    c.add_argument("--other", help="folder to compare with (default: the newest _repro)")
    c.add_argument("--tolerance", type=float, default=1e-4)
    s = sub.add_parser("simulate", help="write a simulated-learners dataset with its ground truth")
    s.add_argument("--out", required=True)
    s.add_argument("--params", help="JSON of SimConfig overrides")
    args = p.parse_args(argv)
    handlers = {"variants": cmd_variants, "eval": cmd_eval, "repro": cmd_repro, "compare": cmd_compare,
                "trajectories": cmd_trajectories, "simulate": cmd_simulate}
    try:
        if args.cmd == "train":
            return cmd_train(args, argv)
        return handlers[args.cmd](args)
    except (ValueError, FileNotFoundError) as e:  # bad input (field, value, data set, fold, file): one line
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

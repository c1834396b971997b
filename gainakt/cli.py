"""Command line: `python -m gainakt {variants,train,eval,repro,compare,trajectories,simulate,floor}`."""
from __future__ import annotations

import argparse
import json
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from .config import GROUPS, Config, ConfigError, allowed, check_field, field_types, optional_fields

DEFAULT_EXPERIMENTS = "experiments"


class UsageError(ValueError):
    """Bad command-line input other than a config value (a file, a variant name): one line, exit 2."""


def _parse_value(name: str, text: str):
    """A flag's text as field `name`'s type; ConfigError (field, value, what is allowed) otherwise."""
    t = field_types()[name]
    if text.lower() in ("none", "null") and name in optional_fields():
        return None
    try:
        if t is bool:
            return {"1": True, "true": True, "yes": True, "on": True,
                    "0": False, "false": False, "no": False, "off": False}[text.lower()]
        if t is dict:
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ValueError
            return value
        return t(text)
    except (ValueError, KeyError):
        raise ConfigError(name, text, allowed(name)) from None


def _config_from_args(args) -> Config:
    """The run's Config from the flags; raises ConfigError / UsageError before anything is created."""
    from .variants import FLAVOURS, make_config, variant_by_slug
    given = {}
    for f in fields(Config):
        text = getattr(args, f.name, None)
        if text is not None and f.name not in ("variant", "flavour"):
            given[f.name] = _parse_value(f.name, text)
            check_field(f.name, given[f.name])
    if args.config:
        path = Path(args.config)
        try:
            base = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise UsageError(f"--config {path}: cannot read a JSON config ({e})") from None
        base = base.get("config", base)  # accept a run's config.json or a bare config
        return Config.from_dict({**base, **given})
    if args.variant and args.variant != "custom":
        try:
            key = variant_by_slug(args.variant).key
        except KeyError:
            raise ConfigError("variant", args.variant, allowed("variant")) from None
        flavour = args.flavour or "as_run"
        if flavour not in FLAVOURS:
            raise ConfigError("flavour", flavour, "one of " + ", ".join(FLAVOURS) + " with a variant")
        return make_config(key, flavour, **given)
    if args.flavour:
        check_field("flavour", args.flavour)
        given["flavour"] = args.flavour
    return Config.from_dict(given)


def _flag_help(f) -> str:
    default = f.default_factory() if f.default is MISSING else f.default
    default = "none" if default is None else json.dumps(default) if isinstance(default, (dict, str)) \
        else str(default).lower() if isinstance(default, bool) else default
    return f"{f.metadata.get('help', '')} (default: {default}; allowed: {allowed(f.name)})"


_METAVAR = {int: "INT", float: "NUM", bool: "BOOL", dict: "JSON", str: "TEXT"}


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    """One flag per Config field, grouped as the dataclass groups them, help from its metadata.
    Values are parsed and checked later (_config_from_args), so every error reads the same."""
    by_group = {g: p.add_argument_group(f"{g} (config fields)") for g in GROUPS}
    types = field_types()
    for f in fields(Config):
        g = by_group[f.metadata.get("group") or "identity"]
        choices = f.metadata.get("choices")
        metavar = "{" + ",".join(choices) + "}" if choices else _METAVAR[types[f.name]]
        g.add_argument(f"--{f.name.replace('_', '-')}", dest=f.name, default=None, metavar=metavar,
                       help=_flag_help(f).replace("%", "%%"))
    p.add_argument("--config", help="a JSON config (or a run's config.json) to start from")


def cmd_variants(args) -> int:
    import pandas as pd

    from .variants import table
    pd.set_option("display.max_colwidth", 120, "display.width", 200)
    print(pd.DataFrame(table()).to_string(index=False))
    return 0


def cmd_train(args, argv) -> int:
    cfg = _config_from_args(args)          # every field checked: no torch imported yet
    from .data import DataNotFoundError, dataset_folder
    try:
        dataset_folder(cfg.dataset, cfg.data_dir)  # the data exist, before any folder is made
    except DataNotFoundError as e:
        raise UsageError(str(e)) from None
    from .repro import new_run_dir, write_config
    from .train import run
    out = Path(args.out) if args.out else new_run_dir(args.experiments_dir, cfg)
    fresh = not (out / "config.json").exists()
    out.mkdir(parents=True, exist_ok=True)
    if fresh:
        write_config(out, cfg, ["python", "-m", "gainakt", *argv])
    print(f"run folder: {out}")
    try:
        res = run(cfg, out)
    except BaseException:
        if fresh and not any(p.is_file() for p in out.rglob("*") if p.name != "config.json"):
            import shutil
            shutil.rmtree(out, ignore_errors=True)  # it never started: leave no empty run folder
            print(f"run folder {out} removed: the run did not start", file=sys.stderr)
        raise
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
        by = ", ".join(f"{k} {n}/6" for k, n in res.get("checks_passed_by", {}).items())
        print(f"trajectory checks passed: {res['checks_passed']}/6 (the seeds' way)" + (f"; {by}" if by else ""))


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
    from .repro import load_config
    from .train import Experiment, load_checkpoint
    d = _run_dir(args)
    cfg = load_config(d)
    exp = Experiment(cfg)
    ckpt = d / "checkpoints" / ("best.pt" if (d / "checkpoints" / "best.pt").exists() else "last.pt")
    exp.model.load_state_dict(load_checkpoint(ckpt, exp.device)["model"])  # weights only: no pickled code
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
    import pandas as pd

    from .repro import compare_runs, find_run, run_key
    a = _run_dir(args)
    b = Path(args.other) if args.other else find_run(run_key(a), args.experiments_dir, repro=True)
    table, met, ok = compare_runs(a, b, args.tolerance)
    pd.set_option("display.width", 200)
    for what, t, col in (("history.csv", table, "columns"), ("metrics.json", met, "fields")):
        for status in ("missing", "outside", "within", "exact"):
            sub = t[t.status == status]
            if len(sub) or status in ("outside", "exact"):
                print(f"{what} {status}: {len(sub)} {col}")
            if status != "exact" and len(sub):
                print(sub.to_string(index=False))
    print(f"{'SUCCESS' if ok else 'ERROR'}: {a.name} vs {b.name}, tolerance {args.tolerance:g}")
    return 0 if ok else 1


def cmd_trajectories(args) -> int:
    from .atomic import write_text_atomic
    from .metrics import trajectory_checks
    from .train import trajectories
    d, cfg, exp = _load_trained(args)
    traj = trajectories(exp, args.n, cfg.trajectory_min_steps, cfg.eval_gamma_mode)
    write_text_atomic(d / f"trajectories_{args.n}.csv", traj.to_csv(index=False))
    for defs, gain in (("original", "gain_scalar"), ("meaningful", "gain_skill")):
        print(trajectory_checks(traj, gain, defs).to_string(index=False))
    return 0


def cmd_simulate(args) -> int:
    from .synthetic import SimConfig, write_dataset
    overrides = json.loads(args.params) if args.params else {}
    path = write_dataset(args.out, SimConfig(**overrides))
    print(f"simulated learners written to {path}")
    return 0


def cmd_floor(args) -> int:
    from .floor import compute_floor, floor_rows, summarise_floor
    try:
        rows = floor_rows(args.variants, args.flavours, args.sizes, args.seeds, args.dataset, args.split)
    except ValueError as e:
        raise UsageError(str(e)) from None
    table = compute_floor(rows, args.out, args.data_dir, args.threads, args.device)
    print(summarise_floor(table).to_string(index=False))
    print(f"written to {args.out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m gainakt", description=__doc__)
    p.add_argument("--experiments-dir", default=DEFAULT_EXPERIMENTS, help="where run folders live")
    sub = p.add_subparsers(dest="cmd", required=True)
    sub.add_parser("variants", help="print the variant table")
    t = sub.add_parser("train", help="train one configuration (any config field as a flag)",
                       usage="python -m gainakt train [--variant V --flavour F] [--FIELD VALUE ...]",
                       description="Train one configuration. --variant V --flavour F start from a variant "
                       "of the table (python -m gainakt variants); any other flag overrides one field. "
                       "Every value is checked before anything is written.")
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
    f = sub.add_parser("floor", help="untrained models' gain statistics at the book's and the seeds' size "
                       "(the noise floor; resumable)")
    f.add_argument("--variants", nargs="+", default=["V0", "V1", "V2", "V3"])
    f.add_argument("--flavours", nargs="+", default=["as_run"])
    f.add_argument("--sizes", nargs="+", default=["small", "full"], help="small (the book's) and/or full (the seeds')")
    f.add_argument("--seeds", nargs="+", type=int, default=[42, 43, 44])
    f.add_argument("--dataset", default="assist2015")
    f.add_argument("--split", default="test")
    f.add_argument("--data-dir", default=None, help="data directory (default: GAINAKT_DATA)")
    f.add_argument("--threads", type=int, default=1)
    f.add_argument("--device", default="cpu")
    f.add_argument("--out", default="results/_untrained/floor.csv", help="CSV, kept and extended on a re-run")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    handlers = {"variants": cmd_variants, "eval": cmd_eval, "repro": cmd_repro, "compare": cmd_compare,
                "trajectories": cmd_trajectories, "simulate": cmd_simulate, "floor": cmd_floor}
    try:
        if args.cmd == "train":
            return cmd_train(args, argv)
        return handlers[args.cmd](args)
    except (ConfigError, UsageError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

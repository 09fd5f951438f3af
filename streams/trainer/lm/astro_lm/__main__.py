"""`python -m astro_lm <command>`: tokenizer, sft, export, rollouts, rl, eval, verify.

Each command prints one JSON summary on stdout and progress lines on stderr. Bad input (a missing
column, a file that is not Parquet, an unknown model directory) exits 2 with one line naming the
file, row and reason; tool failures (the GGUF converter, a broker) exit 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from .errors import AstroLmError, bad_input


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def _emit(summary: dict) -> None:
    print(json.dumps(summary, indent=1, default=lambda o: asdict(o) if hasattr(o, "__dataclass_fields__") else str(o)))


def _require_model_dir(path: str) -> None:
    """Checked before torch is imported (seconds on a busy machine), so bad input fails at once."""
    if not (Path(path) / "config.json").is_file():
        raise bad_input(f"{path}: not a model directory (no config.json)")


def _threads(args: argparse.Namespace) -> None:
    import torch

    torch.set_num_threads(args.threads)


def cmd_tokenizer(args: argparse.Namespace) -> dict:
    from .chat import mine_phrases, train_tokenizer
    from .data import read_traces

    rows = read_traces(args.traces, args.variant or None, exclude_held_out=not args.include_held_out)
    if not rows:
        raise bad_input(f"no trace rows of variant(s) {args.variant or 'any'} in {', '.join(args.traces)}")
    # The role names sit between special tokens in every conversation: whole pieces for them too.
    texts = [t for r in rows for t in (r.prompt, r.completion, "user", "assistant")]
    try:
        phrases = [] if args.no_phrases else mine_phrases([r.prompt for r in rows], [r.completion for r in rows])
        tok = train_tokenizer(texts, args.vocab_size, phrases)
    except RuntimeError as error:  # SentencePiece says e.g. "Vocabulary size too high (2048). Please set it to a value <= 1512."
        raise bad_input(f"tokenizer: {str(error).splitlines()[-1]}") from error
    tok.save(Path(args.out))
    return {"out": args.out, "vocab_size": tok.vocab_size, "texts": len(texts), "phrases": tok.phrases, **token_shares(tok, rows)}


def token_shares(tok, rows) -> dict:
    """Mean prompt and completion tokens of rows under `tok` (how much of the budget the prompt takes)."""
    enc = [tok.encode_chat(r.prompt, r.completion) for r in rows]
    total = sum(len(e.ids) for e in enc)
    prompt = sum(e.prompt_tokens for e in enc)
    return {"rows": len(enc), "mean_tokens": total / max(1, len(enc)), "mean_prompt_tokens": prompt / max(1, len(enc)), "prompt_share": prompt / max(1, total)}


def cmd_sft(args: argparse.Namespace) -> dict:
    from .data import read_traces

    rows = read_traces(args.traces, args.variant or None, exclude_held_out=not args.include_held_out)
    if args.init:
        _require_model_dir(args.init)
    import torch

    from .chat import ChatTokenizer
    from .model import ModelSize, load_model, new_model, parameter_count, save_model
    from .progress import Progress
    from .sft import SftConfig, SftStats, train_sft, train_sft_trl

    _threads(args)
    if args.max_rows:
        rows = rows[: args.max_rows]
    if not rows:
        raise bad_input(f"no trace rows of variant(s) {args.variant or 'any'} in {', '.join(args.traces)}")
    if args.init:
        model, tok, _ = load_model(Path(args.init))
    else:
        if not args.tokenizer:
            raise bad_input("sft needs --tokenizer DIR (from `python -m astro_lm tokenizer`) or --init MODEL_DIR")
        try:
            tok = ChatTokenizer.load(Path(args.tokenizer))
        except FileNotFoundError as error:
            raise bad_input(str(error)) from error
        model = new_model(tok, ModelSize(args.hidden, args.layers, args.heads, args.intermediate, args.max_positions), args.seed)
    examples = [tok.encode_chat(r.prompt, r.completion) for r in rows]
    too_long = [i for i, e in enumerate(examples) if len(e.ids) > model.config.max_position_embeddings]
    if too_long:
        raise bad_input(f"{len(too_long)} rows are longer than the model's {model.config.max_position_embeddings} positions (first: row {too_long[0]}, {len(examples[too_long[0]].ids)} tokens); raise --max-positions")
    config = SftConfig(token_budget=args.tokens, batch_tokens=args.batch_tokens, lr=args.lr, seed=args.seed, max_minutes=args.minutes, log_every_s=args.log_every, checkpoints=tuple(args.save_at or ()))
    progress = Progress("sft", args.log_every, args.quiet)
    progress.tick(f"{len(rows)} rows ({', '.join(sorted(set(r.variant for r in rows)))}), {sum(len(e.ids) for e in examples):,} tokens per epoch, {parameter_count(model):,} parameters, engine {args.engine}", force=True)
    out = Path(args.out)
    saved: list[dict] = []

    def sft_meta(at: SftStats) -> dict:
        return {"kind": "sft", "engine": args.engine, "variants": sorted(set(r.variant for r in rows)), "rows": len(rows), "traces": args.traces, "config": asdict(config), "stats": {k: v for k, v in asdict(at).items() if k != "losses"}, "torch_threads": torch.get_num_threads()}

    def checkpoint(at: SftStats) -> None:
        # A sibling directory per --save-at budget, complete when written; training continues in place.
        where = Path(f"{out}-at-{at.tokens}")
        save_model(model, tok, where, {**sft_meta(at), "checkpoint_of": str(out)})
        saved.append({"out": str(where), **{k: v for k, v in asdict(at).items() if k != "losses"}})
        progress.tick(f"checkpoint at {at.tokens:,} tokens -> {where}", force=True)

    if args.engine == "trl":
        if args.save_at:
            raise bad_input("--save-at needs the torch engine")
        pieces = [tok.sp.id_to_piece(i) for i in range(tok.vocab_size)]
        stats = train_sft_trl(model, pieces, tok.eot_id, examples, config, int(model.config.pad_token_id), progress, str(out / "trl-work"))
    else:
        stats = train_sft(model, examples, config, int(model.config.pad_token_id), progress, checkpoint)
    meta = sft_meta(stats)
    save_model(model, tok, out, meta)
    return {"out": str(out), "parameters": parameter_count(model), **meta, "checkpoints": saved, "loss_curve": stats.losses[:: max(1, len(stats.losses) // 50)]}


def cmd_export(args: argparse.Namespace) -> dict:
    from .export import export_gguf, read_gguf_summary, sha256_file

    out = export_gguf(Path(args.model), Path(args.out), args.outtype)
    summary = read_gguf_summary(out)
    summary.pop("chat_template", None)
    return {"out": str(out), "sha256": sha256_file(out), "bytes": out.stat().st_size, "tensor_count": len(summary.pop("tensors")), **summary}


def cmd_rollouts(args: argparse.Namespace) -> dict:
    _require_model_dir(args.model)
    from .data import write_rollouts
    from .evaluate import read_problems
    from .model import load_model

    _threads(args)
    model, tok, meta = load_model(Path(args.model))
    problems = read_problems(Path(args.problems))[: args.max_problems or None]
    from .rl import sample_rollouts

    version = args.policy_version or meta.get("policy_version") or f"{args.policy}@v{meta.get('version', 0)}"
    rows = sample_rollouts(model, tok, problems, args.group_size, version, temperature=args.temperature, max_new_tokens=args.max_new_tokens, seed=args.seed)
    write_rollouts(Path(args.out), rows)
    return {"out": args.out, "groups": len(problems), "rows": len(rows), "mean_reward": sum(r.reward for r in rows) / max(1, len(rows)), "policy_version": version}


def cmd_rl(args: argparse.Namespace) -> dict:
    _require_model_dir(args.model)
    from .data import read_rollouts
    from .export import export_content_addressed
    from .model import load_model, save_model
    from .policy import latest_version, policy_version_record, publish
    from .progress import Progress
    from .rl import RlConfig, rl_update

    _threads(args)
    model, tok, meta = load_model(Path(args.model))
    rows = read_rollouts(args.rollouts)
    config = RlConfig(lr=args.lr, clip_epsilon=args.clip_epsilon, epochs=args.epochs, batch_sequences=args.batch_sequences, seed=args.seed)
    stats = rl_update(model, tok, rows, config, Progress("rl", args.log_every, args.quiet))
    out = Path(args.out)
    step = int(meta.get("rl_steps", 0)) + stats.steps
    policies = Path(args.policies) if args.policies else out.parent / "policies"
    version = latest_version(policies, args.policy) + 1
    formatted = None
    new_meta = {**meta, "kind": "rl", "parent": str(Path(args.model).resolve()), "rl_steps": step, "rl_tokens": int(meta.get("rl_tokens", 0)) + stats.tokens, "rl_last": asdict(stats), "rl_config": asdict(config), "policy": args.policy, "version": version}
    save_model(model, tok, out, new_meta)
    result: dict = {"out": str(out), "stats": asdict(stats), "rl_steps": step}
    if not args.no_publish:
        gguf, digest = export_content_addressed(out, policies, args.outtype)
        metrics = {"surrogate_loss": stats.surrogate_loss, "mean_reward": stats.mean_reward, "clipped_fraction": stats.clipped_fraction, "groups": stats.groups, "groups_skipped_equal_rewards": stats.groups_skipped_equal_rewards}
        record = policy_version_record(args.policy, version, gguf, digest, step, metrics)
        publish(record, policies, args.brokers)
        formatted = f"{args.policy}@v{version}.{digest[:12]}"
        new_meta["policy_version"] = formatted
        save_model(model, tok, out, new_meta)
        result["policy_version"] = record
    result["policy_version_string"] = formatted
    return result


def cmd_eval(args: argparse.Namespace) -> dict:
    _require_model_dir(args.model)
    from .evaluate import evaluate, read_problems
    from .model import load_model

    _threads(args)
    model, tok, meta = load_model(Path(args.model))
    problems = read_problems(Path(args.problems))[: args.max_problems or None]
    result = evaluate(model, tok, problems, k=args.k, temperature=args.temperature, max_new_tokens=args.max_new_tokens, seed=args.seed)
    result["model"] = args.model
    if args.out:
        Path(args.out).write_text(json.dumps(result, indent=1))
    return result


def cmd_verify(args: argparse.Namespace) -> dict:
    from .countdown import judge_countdown

    verdicts = []
    for i, line in enumerate(Path(args.rows).read_text().splitlines()):
        try:
            row = json.loads(line)
            v = judge_countdown([int(n) for n in row["numbers"]], int(row["target"]), str(row["response"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as error:
            raise bad_input(f"{args.rows} line {i + 1}: need {{numbers, target, response}} ({error})") from error
        verdicts.append({"correct": v.correct, "extracted": v.extracted})
    return {"verdicts": verdicts}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m astro_lm", description="Train language models on astro-stream datasets: SFT on traces, GRPO on rollout groups, GGUF export, policy versions, Countdown eval.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser, threads: bool = True) -> None:
        if threads:
            p.add_argument("--threads", type=_positive(int), default=1, help="torch CPU threads (default 1: the machine is shared)")
        p.add_argument("--seed", type=int, default=1)
        p.add_argument("--log-every", type=float, default=10.0, help="seconds between progress lines (stderr)")
        p.add_argument("--quiet", action="store_true", help="no progress lines")

    traces_help = "traces Parquet: files, globs or dataset directories (e.g. out/run/traces)"
    p = sub.add_parser("tokenizer", help="train the SentencePiece BPE tokenizer on traces")
    p.add_argument("--traces", nargs="+", required=True, help=traces_help)
    p.add_argument("--variant", action="append", help="only these variants (repeatable; default all)")
    p.add_argument("--vocab-size", type=_positive(int), default=1024)
    p.add_argument("--include-held-out", action="store_true", help="keep rows of the evaluation split")
    p.add_argument("--no-phrases", action="store_true", help="do not turn the prompts' shared boilerplate into whole tokens")
    p.add_argument("--out", required=True, help="directory for tokenizer.model and tokenizer_config.json")
    p.set_defaults(run=cmd_tokenizer)

    p = sub.add_parser("sft", help="supervised fine-tuning on traces (loss on the assistant turn) to a token budget")
    p.add_argument("--traces", nargs="+", required=True, help=traces_help)
    p.add_argument("--variant", action="append", help="train on these variants only (repeatable), e.g. search or direct_ablation")
    p.add_argument("--tokenizer", help="tokenizer directory (new model)")
    p.add_argument("--init", help="continue from this model directory instead of a new model")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--tokens", type=_positive(int), required=True, help="token budget: real tokens (prompt + completion) trained on")
    p.add_argument("--minutes", type=_positive(float), help="also stop after this many minutes")
    p.add_argument("--save-at", type=_positive(int), nargs="+", help="also save the model at these token counts (to OUT-at-N; smaller budgets read off one run)")
    p.add_argument("--engine", choices=["torch", "trl"], default="torch", help="plain PyTorch loop (default) or TRL's SFTTrainer")
    p.add_argument("--batch-tokens", type=_positive(int), default=4096, help="padded tokens per optimizer step")
    p.add_argument("--lr", type=_positive(float), default=3e-3)
    p.add_argument("--hidden", type=_positive(int), default=128)
    p.add_argument("--layers", type=_positive(int), default=4)
    p.add_argument("--heads", type=_positive(int), default=4)
    p.add_argument("--intermediate", type=_positive(int), default=512)
    p.add_argument("--max-positions", type=_positive(int), default=2048)
    p.add_argument("--max-rows", type=_positive(int), help="use only the first N rows")
    p.add_argument("--include-held-out", action="store_true", help="keep rows of the evaluation split")
    common(p)
    p.set_defaults(run=cmd_sft)

    p = sub.add_parser("export", help="convert a model directory to GGUF (llama.cpp's convert_hf_to_gguf.py)")
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True, help="GGUF file to write")
    p.add_argument("--outtype", choices=["f32", "f16", "bf16", "q8_0"], default="f32")
    p.set_defaults(run=cmd_export)

    p = sub.add_parser("rollouts", help="sample G completions per problem from a model, verified, in the TRL RL layout")
    p.add_argument("--model", required=True)
    p.add_argument("--problems", required=True, help="JSONL of {numbers, target, prompt}")
    p.add_argument("--max-problems", type=_positive(int))
    p.add_argument("--group-size", type=_positive(int), default=4)
    p.add_argument("--temperature", type=_positive(float), default=1.0)
    p.add_argument("--max-new-tokens", type=_positive(int), default=384)
    p.add_argument("--policy", default="astro-lm", help="policy family (for the policy_version column)")
    p.add_argument("--policy-version", help="policy_version string to record (default: the model's)")
    p.add_argument("--out", required=True, help="Parquet file (e.g. OUT/rl/trl/step-000001.parquet)")
    common(p)
    p.set_defaults(run=cmd_rollouts)

    p = sub.add_parser("rl", help="one GRPO clipped-objective update from TRL-layout rollout groups, then publish a policy version")
    p.add_argument("--model", required=True)
    p.add_argument("--rollouts", nargs="+", required=True, help="TRL-layout Parquet (OUT/rl/trl/step-*.parquet)")
    p.add_argument("--out", required=True, help="model directory of the new version")
    p.add_argument("--policy", default="astro-lm", help="policy family name of the published versions")
    p.add_argument("--policies", help="where GGUFs and versions.jsonl go (default: OUT/../policies)")
    p.add_argument("--brokers", help="also publish to astro.policy.v1 on these Kafka brokers (host:port,...)")
    p.add_argument("--no-publish", action="store_true", help="save the model only (no GGUF, no policy version)")
    p.add_argument("--outtype", choices=["f32", "f16"], default="f32")
    p.add_argument("--lr", type=_positive(float), default=1e-4)
    p.add_argument("--clip-epsilon", type=_positive(float), default=0.2)
    p.add_argument("--epochs", type=_positive(int), default=2, help="passes over the batch (the clip binds from the second)")
    p.add_argument("--batch-sequences", type=_positive(int), default=16)
    common(p)
    p.set_defaults(run=cmd_rl)

    p = sub.add_parser("eval", help="greedy and pass@k solve rate, backtracks, recovery on Countdown problems")
    p.add_argument("--model", required=True)
    p.add_argument("--problems", required=True, help="JSONL of {numbers, target, prompt}")
    p.add_argument("--max-problems", type=_positive(int))
    p.add_argument("--k", type=int, default=4, help="samples per problem for pass@k (0 = greedy only)")
    p.add_argument("--temperature", type=_positive(float), default=1.0)
    p.add_argument("--max-new-tokens", type=_positive(int), default=384)
    p.add_argument("--out", help="also write the JSON here")
    common(p)
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("verify", help="the Countdown verifier on JSONL rows {numbers, target, response}")
    p.add_argument("--rows", required=True)
    p.set_defaults(run=cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _emit(args.run(args))
        return 0
    except AstroLmError as error:
        print(f"astro_lm {args.command}: {error}", file=sys.stderr)
        return 2 if error.kind in ("input", "config") else 1


if __name__ == "__main__":
    sys.exit(main())

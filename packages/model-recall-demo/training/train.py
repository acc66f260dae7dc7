"""Train the recall demo model (see ../README.md for the recipe).

    python train.py --config config.json --ckpt DIR [--max-seconds S] [--total-steps N|auto]
                    [--out DIR] [--device cuda] [--init-from DIR]

- --init-from DIR (first call only): start from the model weights of another run's checkpoint
  (stage 2, config-stage2.json, continues from stage 1's weights with a fresh optimizer).
- Resumes from DIR if it holds a checkpoint (model + optimizer + step + log), else starts fresh.
- --total-steps auto (first call only): measures the speed of the first 60 steps and sets the total
  so that training takes config.train_seconds_total seconds over all calls; the number is stored in
  the checkpoint and the log. Until it is set, the schedule runs as if the total were unknown
  (InfoNCE weight 0, no cosine decay), so an exact rerun passes both the number and
  --total-known-from 60.
- Stops at --max-seconds (this call's budget), at --stop-step or at the total, saves the checkpoint to DIR and
  (with --out) copies the loss-curve PNG and the JSON log there.
- Checkpoint files are shards of at most 15 MB (the GPU machine returns files up to 16 MiB).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F

import tok
from batching import IGNORE, BatchStream
from data import NOISE_PROB
from model import ModelConfig, RecallLM

SHARD_BYTES = 15_000_000


def save_sharded(tensors: dict[str, torch.Tensor], d: Path, prefix: str) -> list[str]:
    d.mkdir(parents=True, exist_ok=True)
    for old in d.glob(f"{prefix}-*.pt"):
        old.unlink()
    shards: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for k, v in tensors.items():
        nb = v.numel() * v.element_size()
        if size + nb > SHARD_BYTES and shards[-1]:
            shards.append({})
            size = 0
        shards[-1][k] = v.detach().cpu().contiguous()
        size += nb
    names = []
    for i, s in enumerate(shards):
        name = f"{prefix}-{i:02d}.pt"
        torch.save(s, d / name)
        names.append(name)
    return names


def load_sharded(d: Path, prefix: str) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for f in sorted(d.glob(f"{prefix}-*.pt")):
        out.update(torch.load(f, map_location="cpu", weights_only=True))
    return out


def save_checkpoint(d: Path, model, opt, state: dict, with_opt: bool = True) -> None:
    save_sharded({k: v.float() for k, v in model.state_dict().items()}, d, "model")
    if with_opt:
        flat = {}
        names = {id(p): n for n, p in model.named_parameters()}
        for p, st in opt.state.items():
            n = names[id(p)]
            flat[f"{n}|exp_avg"] = st["exp_avg"].to(torch.bfloat16)
            flat[f"{n}|exp_avg_sq"] = st["exp_avg_sq"].to(torch.bfloat16)
        save_sharded(flat, d, "optim")
    else:
        for old in d.glob("optim-*.pt"):
            old.unlink()
    (d / "state.json").write_text(json.dumps(state))


def load_model(d: Path, device="cpu") -> tuple[RecallLM, dict]:
    state = json.loads((d / "state.json").read_text())
    model = RecallLM(ModelConfig(**state["config"]["model"]))
    model.load_state_dict(load_sharded(d, "model"))
    return model.to(device), state


def lr_at(step: int, total: int, o: dict) -> float:
    if step < o["warmup_steps"]:
        return o["lr"] * (step + 1) / o["warmup_steps"]
    p = min(1.0, (step - o["warmup_steps"]) / max(1, total - o["warmup_steps"]))
    return o["lr"] * (o["min_lr_frac"] + (1 - o["min_lr_frac"]) * 0.5 * (1 + math.cos(math.pi * p)))


def nce_weight(step: int, total: int, c: dict) -> float:
    a, b = c["nce_start_frac"] * total, c["nce_full_frac"] * total
    if step < a:
        return 0.0
    return c["nce_weight"] * min(1.0, (step - a) / max(1.0, b - a))


def compute_losses(model: RecallLM, batch: dict, tau: float) -> dict[str, torch.Tensor]:
    ids, tgt, slot, nvec = batch["ids"], batch["tgt"], batch["slot"], batch["nvec"]
    mem_ids, mem_eos = batch["mem_ids"], batch["mem_eos"]
    n_mem = mem_ids.shape[0]
    B, d, dev = ids.shape[0], model.cfg.d_model, ids.device
    hm = model.hidden(mem_ids)
    K = max(1, int(nvec.max()))
    ar = torch.arange(K, device=dev)
    valid = ar[None, :] < nvec[:n_mem, None]  # (n_mem, K)
    vpos = (mem_eos[:, None] + ar[None, :]).clamp(max=hm.shape[1] - 1)
    vals = hm[torch.arange(n_mem, device=dev)[:, None], vpos]  # (n_mem, K, d): states at </s>, <pad>...
    keys = vals[:, 0]  # the retrieval key (= the one-vector value)
    inj_pos = torch.full((B, K), -1, dtype=torch.long, device=dev)
    inj_pos[:n_mem] = torch.where(valid, slot[:n_mem, None] + ar[None, :], -1)
    inj_vec = torch.cat([vals, torch.zeros(B - n_mem, K, d, device=dev, dtype=vals.dtype)], 0)
    h = model.hidden(ids, inj_pos, inj_vec)
    logits = model.logits(h).float()
    ce = F.cross_entropy(logits.view(-1, logits.shape[-1]), tgt.view(-1), ignore_index=IGNORE, reduction="none")
    ce = ce.view(B, -1)
    valid = (tgt != IGNORE).float()
    content = batch["content"].float()
    out = {"lm": (ce * valid).sum() / valid.sum()}
    out["lm_content"] = (ce * content).sum() / content.sum().clamp(min=1)
    with torch.no_grad():
        pred = logits.argmax(-1)
        out["content_acc"] = ((pred == tgt).float() * content).sum() / content.sum().clamp(min=1)
        # first assistant token decision: <recall> vs not, over all rows
    q = h[torch.arange(n_mem, device=ids.device), slot[:n_mem] - 1].float()  # hidden at <recall>
    qn, kn = F.normalize(q, dim=-1), F.normalize(keys.float(), dim=-1)
    sim = qn @ kn.t() / tau
    lab = torch.arange(n_mem, device=ids.device)
    out["nce"] = 0.5 * (F.cross_entropy(sim, lab) + F.cross_entropy(sim.t(), lab))
    with torch.no_grad():
        out["ret_acc"] = (sim.argmax(-1) == lab).float().mean()
    return out


def plot(log: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in log]
    fig, ax = plt.subplots(1, 2, figsize=(12, 4.5))
    for k in ["lm", "lm_content", "nce"]:
        ax[0].plot(steps, [r[k] for r in log], label=k)
    ax[0].set_yscale("log")
    ax[0].set_xlabel("step")
    ax[0].set_title("losses")
    ax[0].legend()
    for k in ["content_acc", "ret_acc", "nce_w"]:
        ax[1].plot(steps, [r[k] for r in log], label=k)
    ax[1].set_xlabel("step")
    ax[1].set_title("in-batch accuracies, retrieval-loss weight")
    ax[1].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default=str(Path(__file__).with_name("config.json")))
    ap.add_argument("--ckpt", required=True)
    ap.add_argument("--out", default=None)
    ap.add_argument("--max-seconds", type=float, default=1e9)
    ap.add_argument("--total-steps", default="auto")
    ap.add_argument("--stop-step", type=int, default=None,
                    help="end this call at this step (reproduces a run's split points exactly)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--no-opt-state", action="store_true", help="final save without optimizer state")
    ap.add_argument("--num-workers", type=int, default=None)
    ap.add_argument("--init-from", default=None, help="checkpoint directory whose model weights start this run")
    ap.add_argument("--seed", type=int, default=None,
                    help="replaces the config's seed (a rerun of the same recipe; stored in the checkpoint and log)")
    ap.add_argument("--total-known-from", type=int, default=0,
                    help="with --total-steps N: before this step, schedule as an auto run did while it measured "
                         "(InfoNCE off, no cosine decay); 60 reproduces a run that used --total-steps auto")
    args = ap.parse_args()
    t_start = time.time()
    ckpt = Path(args.ckpt)
    dev = torch.device(args.device)

    if (ckpt / "state.json").exists():
        model, state = load_model(ckpt, "cpu")
        cfg = state["config"]
        if args.seed is not None and args.seed != cfg["seed"]:
            raise SystemExit(f"--seed {args.seed}: {ckpt} was started with seed {cfg['seed']} and resumes with it "
                             "(use a new --ckpt directory for another seed)")
        print(f"resuming from {ckpt} at step {state['step']} / {state['total_steps']}", flush=True)
    else:
        cfg = json.loads(Path(args.config).read_text())
        if args.seed is not None:
            cfg["seed"] = args.seed
        state = {"config": cfg, "step": 0, "total_steps": None, "log": [], "calls": []}
        torch.manual_seed(cfg["seed"])
        random.seed(cfg["seed"])
        model = RecallLM(ModelConfig(**cfg["model"]))
        if args.init_from:
            init_dir = Path(args.init_from)
            model.load_state_dict(load_sharded(init_dir, "model"))
            init_state = json.loads((init_dir / "state.json").read_text())
            state["init_from"] = {"step": init_state["step"], "config": init_state["config"]}
            print(f"initialised from {init_dir} (step {init_state['step']})", flush=True)
    if args.total_steps != "auto":
        state["total_steps"] = int(args.total_steps)
    model = model.to(dev)
    print(f"params {model.n_params():,}", flush=True)
    o = cfg["optim"]
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": o["weight_decay"]},
                             {"params": no_decay, "weight_decay": 0.0}], lr=o["lr"], betas=tuple(o["betas"]),
                            fused=dev.type == "cuda")
    if (ckpt / "state.json").exists() and list(ckpt.glob("optim-*.pt")):
        flat = load_sharded(ckpt, "optim")
        for n, p in model.named_parameters():
            opt.state[p] = {"step": torch.tensor(float(state["step"]), dtype=torch.float32,
                                                 device=dev if dev.type == "cuda" else "cpu"),
                            "exp_avg": flat[f"{n}|exp_avg"].float().to(dev),
                            "exp_avg_sq": flat[f"{n}|exp_avg_sq"].float().to(dev)}

    nw = args.num_workers if args.num_workers is not None else cfg["num_workers"]
    stream = BatchStream(cfg["seed"], state["step"], cfg["batch"], cfg.get("data_version", 1),
                         cfg.get("noise_prob", NOISE_PROB))
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=nw, pin_memory=dev.type == "cuda",
                                         prefetch_factor=4 if nw > 0 else None, persistent_workers=False)
    it = iter(loader)
    use_amp = dev.type == "cuda"
    step = state["step"]
    call_start_step = step
    t_loop = None
    t_measure = None
    acc: dict[str, float] = {}
    n_acc = 0
    model.train()
    while True:
        total = state["total_steps"]
        if total is not None and step >= total:
            break
        if time.time() - t_start > args.max_seconds or (args.stop_step is not None and step >= args.stop_step):
            break
        batch = {k: v.to(dev, non_blocking=True) for k, v in next(it).items()}
        known = total is not None and step >= args.total_known_from
        tot_for_sched = total if known else 10**9
        lr = lr_at(step, tot_for_sched, o)
        w = nce_weight(step, tot_for_sched, cfg["curriculum"]) if known else 0.0
        for g in opt.param_groups:
            g["lr"] = lr
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=use_amp):
            L = compute_losses(model, batch, cfg["curriculum"]["tau"])
        loss = L["lm"] + w * L["nce"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), o["grad_clip"])
        opt.step()
        step += 1
        for k, v in L.items():
            acc[k] = acc.get(k, 0.0) + v.detach()
        acc["gnorm"] = acc.get("gnorm", 0.0) + gn.detach()
        n_acc += 1
        if step - call_start_step == 10:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t_measure = time.time()
        if total is None and step - call_start_step == 60:
            if dev.type == "cuda":
                torch.cuda.synchronize()
            rate = 50 / (time.time() - t_measure)
            remaining = cfg["train_seconds_total"] - (time.time() - t_start)
            state["total_steps"] = int(step + rate * remaining)
            print(f"measured {rate:.1f} steps/s -> total_steps {state['total_steps']}", flush=True)
        if step % cfg["log_every"] == 0:
            rec = {"step": step, "lr": lr, "nce_w": w, "time": time.time() - t_start,
                   **{k: float(v) / n_acc for k, v in acc.items()}}
            state["log"].append(rec)
            acc, n_acc = {}, 0
            if step % (cfg["log_every"] * 8) == 0:
                print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in rec.items()}), flush=True)
    state["step"] = step
    state["calls"].append({"from": call_start_step, "to": step, "seconds": time.time() - t_start,
                           "device": torch.cuda.get_device_name() if dev.type == "cuda" else "cpu"})
    save_checkpoint(ckpt, model, opt, state, with_opt=not args.no_opt_state)
    print(f"saved {ckpt} at step {step} ({time.time() - t_start:.0f} s this call)", flush=True)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "train_log.json").write_text(json.dumps({"config": cfg, "total_steps": state["total_steps"],
                                                        "init_from": state.get("init_from"),
                                                        "calls": state["calls"], "log": state["log"]}))
        if state["log"]:
            plot(state["log"], out / "loss_curve.png")
    os._exit(0)  # do not wait for the data-loader workers


if __name__ == "__main__":
    main()

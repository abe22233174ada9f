"""Throughput of ponder beside spatialreasoners 1.0.5 (PyPI) at the DiT-S/2-like configuration.

    .venv/bin/python benchmarks/vs_spatialreasoners.py                  # 6 repeats, 2 threads
    .venv/bin/python benchmarks/vs_spatialreasoners.py --repeats 1      # smoke test
    .venv/bin/python benchmarks/vs_spatialreasoners.py --precision bf16 # both in bf16 autocast
    .venv/bin/python benchmarks/vs_spatialreasoners.py --sr-python /other/venv/bin/python

Both sides: width 384, depth 12, 6 heads, 3x32x32 images as 16 variables of 8x8 pixels, each
cut into 16 tokens of 12 features (256 tokens), batch 32, ``--threads`` torch threads, in fp32
or (``--precision bf16``) both in bf16 autocast: ponder's ``torch.autocast`` around its loss and
sampler, spatialreasoners' Lightning ``precision="bf16-mixed"`` and the same autocast around its
sampler.
ponder's tokens are 2x2-pixel squares; spatialreasoners' tokenizer groups 4 pixels of a column
two rows apart instead: same shapes and cost, another grouping.
ponder's row is ``benchmarks/throughput.py --size dit-s2 --json``; spatialreasoners' row runs
``SR_SNIPPET`` below under ``--sr-python``: its ``DiT`` denoiser built from its config dataclasses,
trained through its own ``SRMLightningModule.training_step`` (rectified flow, ``ut`` = eps - x
target, MSE + 0.01 NLL of the learned uncertainty, independent U(0, 1) time per variable) in a
PyTorch Lightning ``Trainer`` with AdamW, and sampled with its ``ScheduledInferenceSampler``
on the ``fixed`` schedule. Warm-up and timed counts are throughput.py's: 2 warm-up training
steps then ``--repeats`` timed; 1 warm-up sampling batch then max(1, repeats // 3) timed.
The two runs take turns, never overlapping. Prints one Markdown table with the ratios.
Each row also states its work, the matmul FLOPs of one sample's forward pass as torch's
FlopCounterMode counts them (spatialreasoners': over one whole sampling batch, every network call
of the schedule), and the training step's model FLOP utilisation: 3x that work per trained
sample against a 2048^3 matmul in the same precision, measured in the same process.

spatialreasoners 1.0.5 needs torchvision and torchaudio, which do not import beside ponder's
torch, so it lives in a venv of its own (about 7.5 GB on x86_64; torch 2.9.1 from PyPI there is
a CUDA build, used here on the CPU):

    python3.11 -m venv /work/srvenv
    /work/srvenv/bin/pip install torch==2.9.1 torchvision==0.24.1
    /work/srvenv/bin/pip install torch==2.9.1 'torchaudio==2.9.*'
    /work/srvenv/bin/pip install spatialreasoners==1.0.5
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
DEFAULT_SR_PYTHON = "/work/srvenv/bin/python"
INSTALL = """    python3.11 -m venv /work/srvenv
    /work/srvenv/bin/pip install torch==2.9.1 torchvision==0.24.1
    /work/srvenv/bin/pip install torch==2.9.1 'torchaudio==2.9.*'
    /work/srvenv/bin/pip install spatialreasoners==1.0.5"""

# Run by spatialreasoners' python: argv[1] is a JSON object of settings; the last line it prints
# is one JSON object of results (Lightning prints its own lines before it).
SR_SNIPPET = r"""
import json, os, sys, tempfile, time
from importlib.metadata import version

os.environ.setdefault("DEBUG", "true")  # read by spatialreasoners at import: true = no compile
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader
from spatialreasoners.benchmark.evaluation.inference_sampler import (
    ScheduledInferenceSampler, ScheduledInferenceSamplerCfg)
from spatialreasoners.benchmark.evaluation.inference_sampler.sampling_schedule import FixedCfg
from spatialreasoners.denoising_model import DenoisingModelCfg
from spatialreasoners.denoising_model.denoiser import DiTCfg
from spatialreasoners.denoising_model.denoiser.dit.modules import DiTBlockCfg
from spatialreasoners.denoising_model.denoiser.embedding import EmbeddingSinusodialCfg
from spatialreasoners.denoising_model.denoiser.modules.attention import AttentionCfg
from spatialreasoners.denoising_model.denoiser.modules.feed_forward import MlpCfg
from spatialreasoners.denoising_model.flow import RectifiedFlowCfg
from spatialreasoners.denoising_model.tokenizer import ImageDiTTokenizerCfg
from spatialreasoners.training import SRMLightningModule, SRMLightningModuleCfg
from spatialreasoners.training.loss import MSECfg, NLLCfg
from spatialreasoners.training.srm_lightning_module import OptimizerCfg, TrainCfg
from spatialreasoners.training.time_sampler import IndependentCfg
from spatialreasoners.type_extensions import ConditioningCfg
from spatialreasoners.variable_mapper import ImageVariableMapper, ImageVariableMapperCfg

s = json.loads(sys.argv[1])
torch.set_num_threads(s["threads"])
torch.manual_seed(0)
B, H, WARMUP = s["batch"], s["image"], 2
BF16 = s["precision"] == "bf16"
PRECISION = "bf16-mixed" if BF16 else "32-true"

# Images [B, 3, 32, 32] -> variables [B, 16, 192]: 4x4 grid of 8x8 patches, 3*8*8 features.
mapper = ImageVariableMapper(ImageVariableMapperCfg(variable_patch_size=s["patch"]), (3, H, H))
# DiT-S/2 as in spatialreasoners' config/denoising_model/denoiser/dit_s_2.yaml (+ dit.yaml).
dit = DiTCfg(
    d_hid=s["width"],
    depth=s["depth"],
    block=DiTBlockCfg(
        attention=AttentionCfg(num_heads=s["heads"]),
        feed_forward=MlpCfg(activation="gelu_approx"),
    ),
    time_embedding=EmbeddingSinusodialCfg(d_emb=256),
)
module = SRMLightningModule(
    SRMLightningModuleCfg(
        denoising_model=DenoisingModelCfg(
            denoiser=dit,
            flow=RectifiedFlowCfg(),
            # Each variable cut into 4x4 tokens: [B, 16, 192] -> tokens [B, 256, 12].
            tokenizer=ImageDiTTokenizerCfg(num_tokens_per_spatial_dim=s["split"]),
            conditioning=ConditioningCfg(),  # unconditional, no inpainting mask
            learn_uncertainty=True,  # + 1 logvar channel per token, averaged per variable
            learn_variance=False,
            parameterization="ut",  # u_t = eps - x, ponder's "velocity"
        ),
        time_sampler=IndependentCfg(),  # t [B, 1, 16] ~ U(0, 1) per variable
        loss={"mu": MSECfg(), "sigma": NLLCfg(weight=0.01)},
        optimizer=OptimizerCfg(name="AdamW", lr=1e-4),
        train=TrainCfg(step_offset=0),
    ),
    mapper,
)


class Clock(pl.Callback):  # wall time from the first timed batch's start to the last's end
    def on_train_batch_start(self, trainer, pl_module, batch, i):
        if i == WARMUP:
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, i):
        self.end = time.perf_counter()


# One fixed random batch, as ponder's benchmark: z_t [B, 3, 32, 32] is the clean image here.
batch = {"z_t": torch.randn(B, 3, H, H), "in_dataset_index": torch.arange(B)}
clock = Clock()
batches = DataLoader([batch] * (WARMUP + s["repeats"]), batch_size=None)  # the batch, as is
with tempfile.TemporaryDirectory() as root:  # Lightning's root dir; it logs nothing
    trainer = pl.Trainer(
        accelerator="cpu", devices=1, precision=PRECISION, max_steps=WARMUP + s["repeats"],
        logger=False, enable_checkpointing=False, enable_progress_bar=False,
        enable_model_summary=False, callbacks=[clock], default_root_dir=root,
    )
    # Each step: forward, losses, backward, AdamW step, all inside Lightning's fit loop.
    trainer.fit(module, train_dataloaders=batches)
step_s = (clock.end - clock.start) / s["repeats"]

model = module.denoising_model.eval()
sampler = ScheduledInferenceSampler(
    ScheduledInferenceSamplerCfg(sampling_schedule=FixedCfg(num_steps=s["sample_steps"])),
    mapper,
)
z = torch.randn(B, mapper.num_variables, mapper.num_features)  # pure noise [B, 16, 192]
t = torch.ones(B, mapper.num_variables)  # every variable at t = 1 [B, 16]


def sample_batch():  # the sampler is a generator; its last item is the finished batch
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=BF16):
        *_, final = sampler(model, z_t=z, t=t)
    return final.z_t  # [B, 16, 192]


sample_batch()  # warm-up
sample_repeats = max(1, s["repeats"] // 3)
start = time.perf_counter()
for _ in range(sample_repeats):
    sample_batch()
sample_s = (time.perf_counter() - start) / sample_repeats

# The work: matmul FLOPs of one sample's forward pass, counted by torch over a whole sampling
# batch (every network call of the schedule), as ponder's row counts its own.
from torch.utils.flop_counter import FlopCounterMode

with FlopCounterMode(display=False) as counter:
    sample_batch()
forward_flops = counter.get_total_flops() / (B * s["sample_steps"])
peak_n = 2048
a = torch.randn(peak_n, peak_n, dtype=torch.bfloat16 if BF16 else torch.float32)
a @ a
start = time.perf_counter()
for _ in range(5):
    a @ a
peak = 2 * peak_n**3 * 5 / (time.perf_counter() - start)
print(json.dumps({
    "forward_GFLOP": forward_flops / 1e9,
    "peak_GFLOPs": peak / 1e9,
    "mfu": 3 * forward_flops * B / step_s / peak,
    "params_M": sum(p.numel() for p in model.denoiser.parameters()) / 1e6,
    "tokens": mapper.num_variables * s["split"] ** 2,
    "batch": B,
    "train_samples_s": B / step_s,
    "sample_samples_s": B / sample_s,
    "threads": torch.get_num_threads(),
    "torch": torch.__version__,
    "spatialreasoners": version("spatialreasoners"),
}))
"""


def last_json(stdout: str) -> dict:
    """The last line of ``stdout`` that is a JSON object."""
    for line in reversed(stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line in the output")


def run(cmd: list[str], name: str) -> dict:
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(
            f"{name} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
        )
    return last_json(proc.stdout)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sr-python", default=DEFAULT_SR_PYTHON, help="python of the second venv")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeats", type=int, default=6, help="timed training steps")
    p.add_argument("--sample-steps", type=int, default=10)
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32", help="both sides")
    args = p.parse_args()
    if not Path(args.sr_python).exists():
        sys.exit(
            f"{args.sr_python} does not exist: spatialreasoners 1.0.5 needs a venv of its own "
            f"(torchvision and torchaudio do not import beside ponder's torch). Install it with\n"
            f"{INSTALL}\nor pass --sr-python PATH."
        )
    sys.path.insert(0, str(HERE))
    from throughput import SIZES  # the DiT-S/2-like settings, shared with ponder's row

    size = SIZES["dit-s2"]
    counts = ["--repeats", str(args.repeats), "--sample-steps", str(args.sample_steps)]
    counts += ["--threads", str(args.threads), "--precision", args.precision]
    print("timing ponder ...", file=sys.stderr)
    ponder = run(
        [sys.executable, str(HERE / "throughput.py"), "--size", "dit-s2", "--json", *counts],
        "ponder (benchmarks/throughput.py)",
    )
    settings = {
        **{key: size[key] for key in ("width", "depth", "heads", "image", "patch", "batch")},
        "split": math.isqrt(size["tokens_per_variable"]),  # tokens per side of a variable
        "threads": args.threads,
        "repeats": args.repeats,
        "sample_steps": args.sample_steps,
        "precision": args.precision,
    }
    print(f"timing spatialreasoners under {args.sr_python} ...", file=sys.stderr)
    sr = run([args.sr_python, "-c", SR_SNIPPET, json.dumps(settings)], "spatialreasoners")

    print(
        f"DiT-S/2-like, {args.precision}, batch {size['batch']}, {args.threads} threads, "
        f"{args.repeats} timed training steps, {args.sample_steps} sampling steps\n"
    )
    print(
        "| package | torch | params (M) | tokens | forward GFLOP per sample | train samples/s | "
        f"sampled images/s ({args.sample_steps} steps) | matmul peak GFLOP/s | train MFU |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    rows = [
        ("ponder", torch.__version__, ponder),
        (f"spatialreasoners {sr['spatialreasoners']}", sr["torch"], sr),
    ]
    for name, version, r in rows:
        print(
            f"| {name} | {version} | {r['params_M']:.2f} | {r['tokens']} | "
            f"{r['forward_GFLOP']:.2f} | {r['train_samples_s']:.2f} | "
            f"{r['sample_samples_s']:.2f} | {r['peak_GFLOPs']:.0f} | {r['mfu']:.0%} |"
        )
    train_ratio = ponder["train_samples_s"] / sr["train_samples_s"]
    sample_ratio = ponder["sample_samples_s"] / sr["sample_samples_s"]
    work_ratio = ponder["forward_GFLOP"] / sr["forward_GFLOP"]
    print(
        f"| ponder / spatialreasoners | | | | {work_ratio:.2f}x | {train_ratio:.2f}x | "
        f"{sample_ratio:.2f}x | | |"
    )


if __name__ == "__main__":
    main()

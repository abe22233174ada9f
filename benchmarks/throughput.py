"""Training and sampling throughput of ponder's denoisers, with model FLOP utilisation.

    python benchmarks/throughput.py                      # small and DiT-S/2-like transformer
    python benchmarks/throughput.py --size dit-s2 --precision bf16
    python benchmarks/throughput.py --width 256 --depth 8 --heads 4 --batch 64

DiT-S/2-like: width 384, depth 12, 6 heads, 3x32x32 images as 16 variables of 8x8 patches,
each variable cut into 16 tokens of 2x2 pixels (256 tokens, as DiT-S/2 on 32x32), batch 32.
A training step is forward + backward + AdamW on random data; sampling runs the fixed schedule
for ``--sample-steps`` steps. FLOPs count the matmuls of the forward pass (x3 for a training
step); utilisation is against a measured 2048^3 matmul peak in the same precision.
"""

from __future__ import annotations

import argparse
import json
import resource
import time

import torch

from ponder.flows import RectifiedFlow
from ponder.hardware import describe_cpu
from ponder.model import DenoisingModel, draw_noise
from ponder.nets.mlp import MLPConfig, MLPDenoiser
from ponder.nets.transformer import TransformerConfig, TransformerDenoiser
from ponder.nets.unet import UNetConfig, UNetDenoiser
from ponder.sampling import sample
from ponder.schedules import FixedSchedule
from ponder.time_samplers import IndependentTimes
from ponder.variables import PatchMapper

SIZES = {  # the transformer's settings
    "small": dict(width=128, depth=4, heads=4, image=32, patch=4, tokens_per_variable=1, batch=64),
    "dit-s2": dict(
        width=384, depth=12, heads=6, image=32, patch=8, tokens_per_variable=16, batch=32
    ),
}
# The UNet's and MLP's settings: small, the package defaults (6.1M and 4.5M parameters);
# dit-s2, about the transformer's 32.6M (32.9M UNet, 34.1M MLP).
OTHER_DENOISERS = {
    "small": dict(unet=UNetConfig(), mlp=MLPConfig()),
    "dit-s2": dict(
        unet=UNetConfig(channels=128, multipliers=(1, 2, 2, 2)), mlp=MLPConfig(width=2048, depth=6)
    ),
}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def matmul_peak(dtype: torch.dtype, device: torch.device, repeats: int = 5) -> float:
    n = 2048 if device.type == "cpu" else 8192
    a = torch.randn(n, n, dtype=dtype, device=device)
    b = torch.randn(n, n, dtype=dtype, device=device)
    a @ b
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        a @ b
    sync(device)
    return 2 * n**3 * repeats / (time.perf_counter() - start)


def forward_flops(net: torch.nn.Module, layout) -> float:
    """FLOPs of one sample's forward pass, counted by torch (matmuls, convolutions, attention)."""
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, layout.num_variables, layout.dim)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x, torch.rand(1, layout.num_variables))
    return counter.get_total_flops()


def timed(fn, warmup: int, repeats: int, device: torch.device) -> float:
    for _ in range(warmup):
        fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    sync(device)
    return (time.perf_counter() - start) / repeats


def run(args: argparse.Namespace, size: dict) -> dict:
    mapper = PatchMapper(3, size["image"], size["image"], size["patch"])
    cfg = TransformerConfig(
        size["width"], size["depth"], size["heads"], tokens_per_variable=size["tokens_per_variable"]
    )
    if args.denoiser == "transformer":
        net = TransformerDenoiser(mapper.layout(), cfg, uncertainty=True)
    elif args.denoiser == "unet":
        net = UNetDenoiser(mapper.layout(), size["unet"], uncertainty=True)
    else:
        net = MLPDenoiser(mapper.layout(), size["mlp"], uncertainty=True)
    flops = forward_flops(net, mapper.layout())
    if args.compile:
        net = torch.compile(net)
    device = torch.device(args.device)
    model = DenoisingModel(net, RectifiedFlow(), "velocity").to(device)
    layout = mapper.layout()
    batch = size["batch"]
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, layout.num_variables, layout.dim, generator=g)
    known = torch.zeros(batch, layout.num_variables, dtype=torch.bool)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    bf16 = args.precision == "bf16"
    noise = draw_noise(x.shape, known, IndependentTimes(), g)
    noise = type(noise)(*(v.to(device) for v in noise))
    x, known = x.to(device), known.to(device)
    sample_gen = torch.Generator(device).manual_seed(0)

    def train_step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = model.loss(x, noise).total
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    def sample_batch():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            sample(
                model.predict, model.flow, FixedSchedule(args.sample_steps), x, known, sample_gen
            )

    step_s = timed(train_step, 2, args.repeats, device)
    sample_s = timed(sample_batch, 1, max(1, args.repeats // 3), device)
    peak = matmul_peak(torch.bfloat16 if bf16 else torch.float32, device)
    if device.type == "cuda":
        memory = torch.cuda.max_memory_allocated() / 2**20
    else:  # peak resident set of the whole process (KiB on Linux)
        memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "params_M": sum(p.numel() for p in net.parameters()) / 1e6,
        "tokens": layout.num_variables * size["tokens_per_variable"],
        "batch": batch,
        "train_samples_s": batch / step_s,
        "sample_samples_s": batch / sample_s,
        "forward_GFLOP": flops / 1e9,  # one sample's forward pass
        "train_GFLOPs": 3 * flops * batch / step_s / 1e9,
        "peak_GFLOPs": peak / 1e9,
        "mfu": 3 * flops * batch / step_s / peak,
        "memory_MiB": memory,
    }


def sized(name: str, args: argparse.Namespace) -> dict:
    """A size's settings with the ones given on the command line replaced."""
    size = {**SIZES[name], **OTHER_DENOISERS[name]}
    return {key: getattr(args, key, None) or value for key, value in size.items()}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", choices=[*SIZES, "all"], default="all")
    p.add_argument("--precision", choices=["fp32", "bf16"], default="fp32")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--sample-steps", type=int, default=10)
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--compile", action="store_true", help="torch.compile the denoiser")
    p.add_argument("--device", default="cpu", help="cpu or cuda")
    p.add_argument(
        "--denoiser",
        choices=["transformer", "unet", "mlp"],
        default="transformer",
        help="unet / mlp use their default configs on the size's image and patches",
    )
    for key in ("width", "depth", "heads", "image", "patch", "tokens_per_variable", "batch"):
        p.add_argument(f"--{key.replace('_', '-')}", type=int, default=None)
    p.add_argument("--json", action="store_true", help="one JSON object per size, no table")
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    names = list(SIZES) if args.size == "all" else [args.size]
    if args.json:
        for name in names:
            r = run(args, sized(name, args))
            print(json.dumps({"denoiser": args.denoiser, "size": name, **r}))
        return
    print(
        f"machine: {describe_cpu()}, torch {torch.__version__}, "
        f"{args.precision}{', compiled' if args.compile else ''}"
    )
    print(
        "| denoiser | size | params (M) | tokens | batch | train samples/s | sample samples/s "
        f"({args.sample_steps} steps) | train GFLOP/s | matmul peak GFLOP/s | MFU | peak MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in names:
        r = run(args, sized(name, args))
        print(
            f"| {args.denoiser} | {name} | {r['params_M']:.2f} | {r['tokens']} | {r['batch']} | "
            f"{r['train_samples_s']:.1f} | {r['sample_samples_s']:.1f} | "
            f"{r['train_GFLOPs']:.0f} | {r['peak_GFLOPs']:.0f} | {r['mfu']:.0%} | "
            f"{r['memory_MiB']:.0f} |"
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch anchor for bench/gpu-check.sh: CLIP's image encoder (the architecture of OpenAI's
clip/model.py VisionTransformer, random weights) at the shapes bench:model measures, in fp32 and
fp16, frames/s per batch. Needs only torch. CUDA when available (fp16 only there), else CPU fp32.

  python3 torch-anchor.py --models B/32,B/16 --batches 1,8,32,128,256 --seconds 2 --out torch.json
"""
import argparse
import json
import time
from collections import OrderedDict

import torch
from torch import nn

SPECS = {
    "B/32": dict(patch=32, resolution=224, width=768, layers=12, embed=512),
    "B/16": dict(patch=16, resolution=224, width=768, layers=12, embed=512),
    "tiny": dict(patch=8, resolution=32, width=128, layers=2, embed=64),
}


class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.attn = nn.MultiheadAttention(d, heads)
        self.ln_1 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(OrderedDict([("c_fc", nn.Linear(d, 4 * d)), ("gelu", QuickGELU()), ("c_proj", nn.Linear(4 * d, d))]))
        self.ln_2 = nn.LayerNorm(d)

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class VisionTransformer(nn.Module):
    def __init__(self, patch, resolution, width, layers, embed):
        super().__init__()
        scale = width**-0.5
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((resolution // patch) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.blocks = nn.Sequential(*[ResidualAttentionBlock(width, width // 64) for _ in range(layers)])
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, embed))

    def forward(self, x):
        x = self.conv1(x).flatten(2).permute(0, 2, 1)
        cls = self.class_embedding.to(x.dtype) + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype, device=x.device)
        x = self.ln_pre(torch.cat([cls, x], dim=1) + self.positional_embedding.to(x.dtype))
        x = self.blocks(x.permute(1, 0, 2)).permute(1, 0, 2)
        return self.ln_post(x[:, 0, :]) @ self.proj


def measure(model, batch, resolution, dtype, device, seconds):
    x = torch.randn(batch, 3, resolution, resolution, device=device, dtype=dtype)
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    with torch.inference_mode():
        model(x)
        sync()
        calls, t0 = 0, time.perf_counter()
        while calls < 2 or time.perf_counter() - t0 < seconds:
            model(x)
            sync()
            calls += 1
        per_call = (time.perf_counter() - t0) / calls
    return {"batch": batch, "framesPerSecond": batch / per_call, "msPerCall": per_call * 1000, "calls": calls}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="B/32,B/16")
    ap.add_argument("--batches", default="1,8,32,128,256")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    precisions = [("fp32", torch.float32)] + ([("fp16", torch.float16)] if device == "cuda" else [])
    rows = []
    for name in a.models.split(","):
        spec = SPECS[name]
        for label, dtype in precisions:
            torch.manual_seed(0)
            model = VisionTransformer(**spec).to(device=device, dtype=dtype).eval()
            for b in (int(s) for s in a.batches.split(",")):
                try:
                    row = measure(model, b, spec["resolution"], dtype, device, a.seconds)
                except RuntimeError as err:  # out of memory, for instance
                    row = {"batch": b, "error": str(err).splitlines()[0]}
                rows.append({"model": name, "precision": label, **row})
                print(f"torch {name} {label} b={b}: {row.get('framesPerSecond', row.get('error'))}", flush=True)
            del model
    info = {"torch": torch.__version__, "device": device, "gpu": torch.cuda.get_device_name(0) if device == "cuda" else None}
    with open(a.out, "w") as f:
        json.dump({"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **info, "rows": rows}, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch reference timings for gpu-check's GPU benchmarks (run on the same machine, same shapes):
scaled_dot_product_attention forward (8, 16, 1024, 64) and float32 matmul 4096^3 with TF32 off and on.
Device time from CUDA events, after warm-up, rotating between three input sets."""
import torch
import torch.nn.functional as F

def time_ms(fn, sets=3):
    for i in range(sets):
        fn(i)
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    fn(0)
    end.record()
    torch.cuda.synchronize()
    reps = max(3, min(500, int(300 / max(start.elapsed_time(end), 0.01))))
    start.record()
    for i in range(reps):
        fn(i % sets)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps

dev = "cuda"
n = 4096
a = [torch.rand(n, n, device=dev) * 2 - 1 for _ in range(3)]
b = [torch.rand(n, n, device=dev) * 2 - 1 for _ in range(3)]
for tf32 in (False, True):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    ms = time_ms(lambda i: torch.mm(a[i], b[i]))
    print(f"torch.mm {n}^3 float32 tf32={tf32}: {ms:.3f} ms, {2 * n**3 / ms / 1e6:.1f} GFLOP/s")
torch.backends.cuda.matmul.allow_tf32 = False

B, H, L, D = 8, 16, 1024, 64
q = [torch.rand(B, H, L, D, device=dev) * 2 - 1 for _ in range(3)]
k = [torch.rand(B, H, L, D, device=dev) * 2 - 1 for _ in range(3)]
v = [torch.rand(B, H, L, D, device=dev) * 2 - 1 for _ in range(3)]
ms = time_ms(lambda i: F.scaled_dot_product_attention(q[i], k[i], v[i]))
print(f"torch sdpa fwd {B}x{H}x{L}x{D} float32: {ms:.3f} ms, {4 * B * H * L * L * D / ms / 1e6:.1f} GFLOP/s")

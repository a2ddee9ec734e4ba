#!/usr/bin/env python3
"""cuBLAS SGEMM (torch.mm, TF32 off) on bench/gpu/webgpu-gemm.mjs's shapes, and the GPU's fp32 (non-tensor) peak.

  python3 bench/gpu/torch_gemm.py [--reps 20]

The peak is SMs × 128 fp32 lanes × 2 (an FMA) × the maximum SM clock (nvidia-smi): the Hopper and Ampere GA100
figure for the "non-tensor fp32 peak" the webgpu issue's 40% target is stated against. One JSON line per shape and a
last line with the peak.
"""
import argparse, json, subprocess, time

import torch

SHAPES = [  # what, M, N, K, transA, transB: the same list as webgpu-gemm.mjs
    ('square 4096', 4096, 4096, 4096, False, False),
    ('square 2048', 2048, 2048, 2048, False, False),
    ('seed input projection (6400×256 · 256×2048)', 6400, 2048, 256, False, True),
    ('seed recurrent step (64×512 · 512×2048)', 64, 2048, 512, False, True),
    ('seed recurrent backward dh (64×2048 · 2048×512)', 64, 512, 2048, False, False),
    ('seed dW_ih (2048×6400 · 6400×256)', 2048, 256, 6400, True, False),
    ('shakespeare-gpt MLP up (4096×192 · 192×768)', 4096, 768, 192, False, True),
    ('shakespeare-gpt MLP down (4096×768 · 768×192)', 4096, 192, 768, False, True),
    ('shakespeare-gpt qkv (4096×192 · 192×576)', 4096, 576, 192, False, True),
]


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--reps', type=int, default=20)
    a = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device('cuda')
    name = torch.cuda.get_device_name(dev)
    for what, M, N, K, tA, tB in SHAPES:
        A = torch.randn((K, M) if tA else (M, K), device=dev)
        B = torch.randn((N, K) if tB else (K, N), device=dev)
        opA, opB = (A.t() if tA else A), (B.t() if tB else B)
        for _ in range(2):
            torch.mm(opA, opB)
        torch.cuda.synchronize()
        t = time.perf_counter()
        for _ in range(a.reps):
            torch.mm(opA, opB)
        torch.cuda.synchronize()
        s = time.perf_counter() - t
        print(json.dumps({'engine': 'cublas sgemm (torch.mm, tf32 off)', 'device': name, 'what': what, 'M': M, 'N': N,
                          'K': K, 'ms_per_product': round(s * 1000 / a.reps, 4),
                          'gflops': round(2 * M * N * K * a.reps / s / 1e9, 1)}), flush=True)
    sms = torch.cuda.get_device_properties(dev).multi_processor_count
    try:
        mhz = float(subprocess.run(['nvidia-smi', '--query-gpu=clocks.max.sm', '--format=csv,noheader,nounits'],
                                   capture_output=True, text=True, check=True).stdout.split()[0])
    except Exception:  # noqa: BLE001 (no nvidia-smi: say so rather than guess)
        mhz = float('nan')
    print(json.dumps({'device': name, 'sms': sms, 'max_sm_mhz': mhz,
                      'fp32_peak_gflops': round(sms * 128 * 2 * mhz / 1000, 1)}), flush=True)


if __name__ == '__main__':
    main()

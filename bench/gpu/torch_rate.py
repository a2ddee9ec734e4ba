#!/usr/bin/env python3
"""PyTorch eager's training speed on the shapes `charlm bench` times, for the webgpu side-by-side on a GPU machine.

  python3 bench/gpu/torch_rate.py CONFIG.json [CONFIG.json ...] [--steps 30] [--device cuda] [--vocab 65]

CONFIG.json is a config resolved by charlm (bench/gpu/seed.json, bench/gpu/shakespeare-gpt.json, bench/gpu/gpt-tiny.json);
the model is torch/charlm_torch.py's (the same shapes and parameters as charlm's), batch × seqLength random
characters, cross-entropy, Adam/AdamW as the config says (fused on CUDA, as charlm_torch.py trains), no clipping,
no dropout (charlm bench times the model's work). Each config is timed twice: strict fp32 (TF32 off: the same
arithmetic as WGSL's f32) and with TF32 matmuls (PyTorch's fast default for training scripts). One JSON line each:
train_chars_per_s over --steps steps after 3 warm-up steps, timed with torch.cuda.synchronize().
"""
import argparse, json, os, sys, time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'torch'))
import charlm_torch as ct  # noqa: E402


def rate(cfg, V, steps, device, tf32):
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    torch.manual_seed(0)
    cfg = dict(cfg, dropout=0, embedDropout=0)
    m = ct.build_model(cfg, V).to(device)
    fused = {'fused': True} if device.type == 'cuda' and 'fused' in torch.optim.Adam.__init__.__code__.co_varnames else {}
    Opt = torch.optim.AdamW if cfg['optimizer'] == 'adamw' else torch.optim.Adam
    opt = Opt(m.parameters(), lr=cfg['learningRate'], betas=(cfg['beta1'], cfg['beta2']), eps=1e-8, **fused)
    B, T = cfg['batchSize'], cfg['seqLength']
    x = torch.randint(V, (B, T), device=device)
    y = torch.randint(V, (B, T), device=device)

    def step():
        logits, _ = m(x)
        loss = F.cross_entropy(logits.reshape(-1, V), y.reshape(-1))
        loss.backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for _ in range(3):
        step()
    sync = torch.cuda.synchronize if device.type == 'cuda' else (lambda: None)
    sync()
    t = time.perf_counter()
    for _ in range(steps):
        loss = step()
    float(loss)
    sync()
    return B * T * steps / (time.perf_counter() - t)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('configs', nargs='+')
    p.add_argument('--steps', type=int, default=30)
    p.add_argument('--vocab', type=int, default=65)
    p.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    a = p.parse_args()
    device = torch.device(a.device)
    name = torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'
    for path in a.configs:
        cfg = ct.load_config(path)
        for tf32 in (False, True):
            r = rate(cfg, a.vocab, a.steps, device, tf32)
            print(json.dumps({'engine': 'pytorch eager', 'torch': torch.__version__, 'device': name,
                              'config': os.path.basename(path), 'matmul': 'tf32' if tf32 else 'fp32',
                              'batch': cfg['batchSize'], 'seq': cfg['seqLength'], 'steps': a.steps,
                              'train_chars_per_s': round(r)}), flush=True)


if __name__ == '__main__':
    main()

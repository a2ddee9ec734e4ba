#!/usr/bin/env python3
# nanoGPT's model (model.py: pre-LayerNorm blocks, causal self-attention, erf GELU MLP, tied lm_head, its init and
# configure_optimizers decay groups) timed on PyTorch 1.13 (Debian's python3-torch: run with /usr/bin/python3) with
# the same JSON keys as `charlm bench`: training tokens/s (forward + backward + AdamW, gradient accumulation over
# micro-batches as nanoGPT's train.py does) and sampling tokens/s at batch 1 with nanoGPT's generate(), which crops
# the context to block_size and recomputes all of it for every new token, timed from a full context.
# PyTorch 1.13 has no scaled_dot_product_attention, so this is nanoGPT's "slow attention" path (masked softmax).
# Usage: /usr/bin/python3 bench/nanogpt_bench.py [--n-layer 6 --n-head 6 --n-embd 384 --block-size 256]
#        [--batch-size 64 --micro-batch 16] [--steps 2] [--sample-tokens 32] [--threads 2] [--vocab 65]
import argparse, json, os, resource, sys, time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'scripts'))
from nanogpt_model import GPT  # noqa: E402  (the one copy of nanoGPT's model.py)


def main():
    ap = argparse.ArgumentParser()
    for k, d in [('n-layer', 6), ('n-head', 6), ('n-embd', 384), ('block-size', 256), ('batch-size', 64),
                 ('micro-batch', 16), ('steps', 2), ('sample-tokens', 32), ('threads', 2), ('vocab', 65)]:
        ap.add_argument('--' + k, type=int, default=d)
    ap.add_argument('--skip-sample', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = dict(n_layer=a.n_layer, n_head=a.n_head, n_embd=a.n_embd, block_size=a.block_size, bias=False,
             vocab_size=a.vocab, dropout=0.0)   # no dropout: the timed work is the model's (as charlm bench)
    m = GPT(c)
    m.init_weights()
    opt = m.configure_optimizers(0.1, 1e-3, (0.9, 0.99))
    B, T, micro = a.batch_size, a.block_size, min(a.micro_batch or a.batch_size, a.batch_size)
    x = torch.randint(a.vocab, (B, T)); y = torch.randint(a.vocab, (B, T))

    def step():
        for r in range(0, B, micro):
            _, loss = m(x[r:r + micro], y[r:r + micro])
            (loss * (min(micro, B - r) / B)).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)

    m.train()
    step()
    t = time.perf_counter()
    for _ in range(a.steps):
        step()
    train = B * T * a.steps / (time.perf_counter() - t)
    out = {'engine': 'pytorch %s nanoGPT' % torch.__version__, 'threads': torch.get_num_threads(),
           'train_chars_per_s': round(train)}
    if not a.skip_sample:
        m.eval()
        idx = torch.randint(a.vocab, (1, T))                  # a full context: every step recomputes block_size tokens
        m.generate(idx, 2, temperature=0.8)
        t = time.perf_counter()
        m.generate(idx, a.sample_tokens, temperature=0.8)
        out['sample_chars_per_s_b1'] = round(a.sample_tokens / (time.perf_counter() - t), 1)
    out['peak_rss_mb'] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    out['config'] = {'n_layer': a.n_layer, 'n_head': a.n_head, 'n_embd': a.n_embd, 'block_size': a.block_size,
                     'batch': B, 'micro_batch': micro, 'steps': a.steps, 'vocab': a.vocab,
                     'params': sum(p.numel() for p in m.parameters())}
    print(json.dumps(out))


if __name__ == '__main__':
    main()

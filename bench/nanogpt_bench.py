#!/usr/bin/env python3
# nanoGPT's model (model.py: pre-LayerNorm blocks, causal self-attention, erf GELU MLP, tied lm_head, its init and
# configure_optimizers decay groups) timed on PyTorch 1.13 (Debian's python3-torch: run with /usr/bin/python3) with
# the same JSON keys as `charlm bench`: training tokens/s (forward + backward + AdamW, gradient accumulation over
# micro-batches as nanoGPT's train.py does) and sampling tokens/s at batch 1 with nanoGPT's generate(), which crops
# the context to block_size and recomputes all of it for every new token, timed from a full context.
# PyTorch 1.13 has no scaled_dot_product_attention, so this is nanoGPT's "slow attention" path (masked softmax).
# Usage: /usr/bin/python3 bench/nanogpt_bench.py [--n-layer 6 --n-head 6 --n-embd 384 --block-size 256]
#        [--batch-size 64 --micro-batch 16] [--steps 2] [--sample-tokens 32] [--threads 2] [--vocab 65]
import argparse, json, math, resource, time

import torch
import torch.nn as nn
from torch.nn import functional as F


class LayerNorm(nn.Module):
    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c.n_embd, 3 * c.n_embd, bias=c.bias)
        self.c_proj = nn.Linear(c.n_embd, c.n_embd, bias=c.bias)
        self.attn_dropout = nn.Dropout(c.dropout)
        self.resid_dropout = nn.Dropout(c.dropout)
        self.n_head, self.n_embd = c.n_head, c.n_embd
        self.register_buffer("bias", torch.tril(torch.ones(c.block_size, c.block_size)).view(1, 1, c.block_size, c.block_size))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float('-inf'))
        att = F.softmax(att, dim=-1)
        att = self.attn_dropout(att)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias)
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1, self.attn = LayerNorm(c.n_embd, c.bias), CausalSelfAttention(c)
        self.ln_2, self.mlp = LayerNorm(c.n_embd, c.bias), MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.config = c
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c.vocab_size, c.n_embd), wpe=nn.Embedding(c.block_size, c.n_embd), drop=nn.Dropout(c.dropout),
            h=nn.ModuleList([Block(c) for _ in range(c.n_layer)]), ln_f=LayerNorm(c.n_embd, c.bias)))
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        for pn, p in self.named_parameters():
            if pn.endswith('c_proj.weight'):
                torch.nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * c.n_layer))

    def _init_weights(self, m):
        if isinstance(m, nn.Linear):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)
            if m.bias is not None:
                torch.nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Embedding):
            torch.nn.init.normal_(m.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        b, t = idx.size()
        pos = torch.arange(0, t, dtype=torch.long)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is not None:
            logits = self.lm_head(x)
            return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)
        return self.lm_head(x[:, [-1], :]), None

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        nodecay = [p for p in params if p.dim() < 2]
        return torch.optim.AdamW([{'params': decay, 'weight_decay': weight_decay},
                                  {'params': nodecay, 'weight_decay': 0.0}], lr=learning_rate, betas=betas)

    @torch.no_grad()
    def generate(self, idx, max_new_tokens, temperature=1.0, top_k=None):
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= self.config.block_size else idx[:, -self.config.block_size:]
            logits, _ = self(idx_cond)
            logits = logits[:, -1, :] / temperature
            if top_k is not None:
                v, _ = torch.topk(logits, min(top_k, logits.size(-1)))
                logits[logits < v[:, [-1]]] = -float('Inf')
            probs = F.softmax(logits, dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx


def main():
    ap = argparse.ArgumentParser()
    for k, d in [('n-layer', 6), ('n-head', 6), ('n-embd', 384), ('block-size', 256), ('batch-size', 64),
                 ('micro-batch', 16), ('steps', 2), ('sample-tokens', 32), ('threads', 2), ('vocab', 65)]:
        ap.add_argument('--' + k, type=int, default=d)
    ap.add_argument('--skip-sample', action='store_true')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    c = argparse.Namespace(n_layer=a.n_layer, n_head=a.n_head, n_embd=a.n_embd, block_size=a.block_size, bias=False,
                           vocab_size=a.vocab, dropout=0.0)   # no dropout: the timed work is the model's (as charlm bench)
    m = GPT(c)
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

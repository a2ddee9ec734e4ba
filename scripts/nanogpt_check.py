# The PyTorch side of charlm's nanoGPT interop checks: a GPT computed exactly as nanoGPT's model.py (on torch < 2 its
# manual attention path, which registers the attn.bias causal-mask buffers that nanoGPT checkpoints then carry), a
# loader for nanoGPT's ckpt.pt (stripping torch.compile's _orig_mod. prefix as nanoGPT's sample.py does) and meta.pkl,
# and nanoGPT-style greedy generation: crop the context to block_size, forward, take the argmax of the last position.
# It also loads a charlm gpt checkpoint (.safetensors: nanoGPT's names, lm_head tied so stored once) into that model.
# Usage: /usr/bin/python3 scripts/nanogpt_check.py ckpt.pt (--meta meta.pkl | --vocab-from input.txt)
#            --prime "ROMEO:" --length 100            prints JSON {"text": prime + continuation, "logits": [...]}
#        /usr/bin/python3 scripts/nanogpt_check.py model.safetensors --prime "ROMEO:" --length 100   (vocab inside)
import argparse
import json
import math
import pickle
import sys

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
    def __init__(self, cfg):
        super().__init__()
        assert cfg["n_embd"] % cfg["n_head"] == 0
        C, S = cfg["n_embd"], cfg["block_size"]
        self.c_attn = nn.Linear(C, 3 * C, bias=cfg["bias"])
        self.c_proj = nn.Linear(C, C, bias=cfg["bias"])
        self.attn_dropout = nn.Dropout(cfg["dropout"])
        self.resid_dropout = nn.Dropout(cfg["dropout"])
        self.n_head, self.n_embd = cfg["n_head"], C
        self.register_buffer("bias", torch.tril(torch.ones(S, S)).view(1, 1, S, S))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        k = k.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        q = q.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        v = v.view(B, T, self.n_head, C // self.n_head).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        C = cfg["n_embd"]
        self.c_fc = nn.Linear(C, 4 * C, bias=cfg["bias"])
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * C, C, bias=cfg["bias"])
        self.dropout = nn.Dropout(cfg["dropout"])

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.ln_1 = LayerNorm(cfg["n_embd"], cfg["bias"])
        self.attn = CausalSelfAttention(cfg)
        self.ln_2 = LayerNorm(cfg["n_embd"], cfg["bias"])
        self.mlp = MLP(cfg)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """nanoGPT's GPT; cfg is its model_args dict (n_layer, n_head, n_embd, block_size, bias, vocab_size, dropout)."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = dict(cfg)
        C = cfg["n_embd"]
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(cfg["vocab_size"], C), wpe=nn.Embedding(cfg["block_size"], C),
            drop=nn.Dropout(cfg["dropout"]), h=nn.ModuleList([Block(cfg) for _ in range(cfg["n_layer"])]),
            ln_f=LayerNorm(C, cfg["bias"])))
        self.lm_head = nn.Linear(C, cfg["vocab_size"], bias=False)
        self.transformer.wte.weight = self.lm_head.weight  # weight tying, as nanoGPT

    def init_weights(self):
        """nanoGPT's _init_weights plus the scaled c_proj init."""
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                nn.init.normal_(m.weight, mean=0.0, std=0.02)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    nn.init.zeros_(m.bias)
        for pn, p in self.named_parameters():
            if pn.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * self.cfg["n_layer"]))

    def forward(self, idx, targets=None):
        t = idx.size(1)
        assert t <= self.cfg["block_size"]
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if targets is None:
            return self.lm_head(x[:, [-1], :]), None
        logits = self.lm_head(x)
        return logits, F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1), ignore_index=-1)

    @torch.no_grad()
    def generate_greedy(self, idx, max_new_tokens):
        """nanoGPT's generate() with the sampling replaced by argmax (temperature 0)."""
        S = self.cfg["block_size"]
        for _ in range(max_new_tokens):
            idx_cond = idx if idx.size(1) <= S else idx[:, -S:]
            logits, _ = self(idx_cond)
            idx = torch.cat((idx, torch.argmax(logits[:, -1, :], dim=-1, keepdim=True)), dim=1)
        return idx


def load_checkpoint(path):
    """nanoGPT's sample.py: build GPT(model_args), strip _orig_mod., load_state_dict (attn.bias masks included)."""
    ckpt = torch.load(path, map_location="cpu")
    model = GPT(ckpt["model_args"])
    sd = {(k[len("_orig_mod."):] if k.startswith("_orig_mod.") else k): v for k, v in ckpt["model"].items()}
    model.load_state_dict(sd)
    model.eval()
    return model, ckpt


def load_safetensors(path):
    """A charlm gpt checkpoint → (GPT, vocab): strict load except lm_head.weight (tied) and the attn.bias masks."""
    from torch_check import read_safetensors  # same folder: json + numpy, no safetensors package needed
    meta, tensors = read_safetensors(path)
    cfg = json.loads(meta["config"])
    if cfg.get("family") != "gpt":
        raise ValueError("%s holds a %r model, not a gpt" % (path, cfg.get("family", "rnn")))
    model = GPT({k: cfg[k] for k in ("n_layer", "n_head", "n_embd", "block_size", "bias", "vocab_size", "dropout")})
    missing, unexpected = model.load_state_dict(tensors, strict=False)
    assert not unexpected and all(k == "lm_head.weight" or k.endswith(".attn.bias") for k in missing), (missing, unexpected)
    model.eval()
    return model, json.loads(meta["vocab"])


def load_vocab(meta=None, vocab_from=None):
    if meta:
        with open(meta, "rb") as f:
            m = pickle.load(f)
        return [m["itos"][i] for i in range(m["vocab_size"])]
    with open(vocab_from, "r", encoding="utf-8") as f:  # as prepare.py: sorted(set(text))
        return sorted(set(f.read()))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("ckpt")
    ap.add_argument("--meta")
    ap.add_argument("--vocab-from")
    ap.add_argument("--prime", required=True)
    ap.add_argument("--length", type=int, default=100)
    args = ap.parse_args()
    if args.ckpt.endswith(".safetensors"):
        model, itos = load_safetensors(args.ckpt)
    elif not (args.meta or args.vocab_from):
        sys.exit("give --meta meta.pkl or --vocab-from input.txt")
    else:
        model, _ = load_checkpoint(args.ckpt)
        itos = load_vocab(args.meta, args.vocab_from)
    stoi = {c: i for i, c in enumerate(itos)}
    idx = torch.tensor([[stoi[c] for c in args.prime]], dtype=torch.long)
    out = model.generate_greedy(idx, args.length)[0].tolist()
    with torch.no_grad():
        logits, _ = model(idx[:, -model.cfg["block_size"]:])
    print(json.dumps({"text": "".join(itos[i] for i in out),
                      "logits": [float("%.9g" % v) for v in logits[0, -1].tolist()]}))


if __name__ == "__main__":
    main()

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
import os
import pickle
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nanogpt_model import GPT  # noqa: E402  (re-exported: test/fixtures/make_nanogpt.py imports it from here)


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

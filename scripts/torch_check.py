# Cross-check that PyTorch can load a charlm .safetensors checkpoint into the seed's
# model (embed -> lstm/gru/rnn -> fc, batch_first) with load_state_dict(strict=True),
# then greedy-generate text or dump the last position's logits for numeric comparison.
# Usage: /usr/bin/python3 scripts/torch_check.py CKPT --prime "ROMEO:" --length 200 --greedy
import argparse
import json
import struct
import sys

import numpy as np
import torch
import torch.nn as nn

DTYPES = {"F32": np.float32, "F64": np.float64, "F16": np.float16,
          "I64": np.int64, "I32": np.int32}


def read_safetensors(path):
    """Return (metadata dict, {name: torch.Tensor}) using plain json + numpy."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ValueError("file too short for a safetensors header")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ValueError("header length %d exceeds file size" % n)
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    data = raw[8 + n:]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        dt = DTYPES.get(info["dtype"])
        if dt is None:
            raise ValueError("%s: unsupported dtype %s" % (name, info["dtype"]))
        begin, end = info["data_offsets"]
        if not (0 <= begin <= end <= len(data)):
            raise ValueError("%s: bad data_offsets %r" % (name, info["data_offsets"]))
        arr = np.frombuffer(data[begin:end], dtype=np.dtype(dt).newbyteorder("<"))
        shape = list(info["shape"])
        if arr.size != int(np.prod(shape, dtype=np.int64)):
            raise ValueError("%s: %d elements, shape %r" % (name, arr.size, shape))
        tensors[name] = torch.from_numpy(arr.astype(dt).reshape(shape).copy())
    return meta, tensors


class CharModel(nn.Module):
    """The seed's CharLSTM, generalised over the recurrent cell (attribute names kept)."""

    def __init__(self, cell, vocab_size, embedding_dim, hidden_size, num_layers):
        super().__init__()
        self.cell = cell
        self.embed = nn.Embedding(vocab_size, embedding_dim)
        if cell == "lstm":
            self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers, batch_first=True)
        elif cell == "gru":
            self.gru = nn.GRU(embedding_dim, hidden_size, num_layers, batch_first=True)
        elif cell == "rnn":
            self.rnn = nn.RNN(embedding_dim, hidden_size, num_layers,
                              nonlinearity="tanh", batch_first=True)
        else:
            raise ValueError("unknown cell %r" % cell)
        self.fc = nn.Linear(hidden_size, vocab_size)

    def forward(self, x, hidden=None):  # hidden=None -> zero initial state
        out, hidden = getattr(self, self.cell)(self.embed(x), hidden)
        return self.fc(out), hidden


def load_model(path):
    meta, tensors = read_safetensors(path)
    if meta.get("format") != "charlm":
        raise ValueError("__metadata__.format is %r, expected 'charlm'" % meta.get("format"))
    vocab = json.loads(meta["vocab"])
    cfg = json.loads(meta["config"])
    if cfg["vocabSize"] != len(vocab):
        raise ValueError("config.vocabSize %d != len(vocab) %d" % (cfg["vocabSize"], len(vocab)))
    model = CharModel(cfg["cell"], cfg["vocabSize"], cfg["embeddingDim"],
                      cfg["hiddenSize"], cfg["numLayers"])
    model.load_state_dict({k: v.to(torch.float32) for k, v in tensors.items()}, strict=True)
    model.eval()
    return model, vocab


def encode(text, stoi):
    missing = sorted(set(c for c in text if c not in stoi))
    if missing:
        raise ValueError("characters not in vocabulary: %r" % "".join(missing))
    return torch.tensor([[stoi[c] for c in text]], dtype=torch.long)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("checkpoint")
    ap.add_argument("--prime", help="prime text for generation")
    ap.add_argument("--length", type=int, default=200)
    ap.add_argument("--greedy", action="store_true", help="argmax decoding (the only mode)")
    ap.add_argument("--logits", metavar="TEXT", help="print last-position logits as JSON")
    args = ap.parse_args(argv)

    model, vocab = load_model(args.checkpoint)
    stoi = {c: i for i, c in enumerate(vocab)}

    with torch.no_grad():
        if args.logits is not None:
            if not args.logits:
                ap.error("--logits needs non-empty text")
            logits, _ = model(encode(args.logits, stoi))
            print(json.dumps({"logits": [float(v) for v in logits[0, -1].tolist()]}))
            return 0
        if args.prime is None:
            ap.error("give --prime TEXT (with --greedy) or --logits TEXT")
        if not args.greedy:
            ap.error("only --greedy decoding is supported")
        if not args.prime:
            ap.error("--prime needs non-empty text")
        logits, hidden = model(encode(args.prime, stoi))
        out = []
        for _ in range(args.length):
            idx = int(torch.argmax(logits[0, -1]).item())
            out.append(vocab[idx])
            logits, hidden = model(torch.tensor([[idx]], dtype=torch.long), hidden)
        sys.stdout.buffer.write((args.prime + "".join(out) + "\n").encode("utf-8"))
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())

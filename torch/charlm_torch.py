"""charlm's PyTorch companion trainer: the same models, data rules and checkpoints as `charlm train`, on
PyTorch DistributedDataParallel, so a run can move to GPUs and clusters and come back to charlm for sample,
serve, report, ONNX and the browser. Read top to bottom: config, errors, RNG, data, models, checkpoints,
evaluation and sampling, training, command line.

  torchrun --standalone --nproc_per_node 2 torch/charlm_torch.py train --config cfg.json --corpus input.txt --out runs/x
  python torch/charlm_torch.py sample runs/x/best.safetensors --prime "ROMEO:" --length 200 --temperature 0

`cfg.json` is charlm's resolved config (`charlm train CORPUS [--preset P] [flags] --print-config`). batchSize is
the GLOBAL batch: each step draws batchSize windows from the run's RNG and rank r of W trains on rows
[r*B/W, (r+1)*B/W), so what a run sees does not depend on the number of processes.
"""
import argparse
import contextlib
import json
import math
import os
import re
import signal
import struct
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------------------- config
# charlm's DEFAULTS (src/config.ts). A config file may hold any subset; unknown keys are an error.
DEFAULTS = dict(
    family='rnn', cell='lstm', embeddingDim=256, hiddenSize=512, numLayers=2, dropout=0.0, embedDropout=0.0,
    nLayer=6, nHead=6, nEmbd=384, blockSize=256, bias=False,
    seqLength=100, batchSize=64, microBatch=0, batching='random', valFraction=0.1, valFiles=0, maxVocab=0, separator='\n',
    epochs=30.0, steps=0, learningRate=0.001, beta1=0.9, beta2=0.999, weightDecay=0.0, optimizer='adam', clip=5.0,
    schedule='constant', warmupSteps=0, minLrRatio=0.1, lrDecay=0.97, lrDecayAfterEpochs=10.0,
    evalInterval=200, evalChars=100_000, evalProtocol='stream', evalBlock=0, patience=0, logInterval=10, sampleChars=200,
    seed=1337, backend='auto', threads=0, precision='fp32',
)
# Keys that only steer charlm's own engine; read and ignored here (threads sets torch's intra-op threads).
ENGINE_ONLY = ('backend', 'precision')
# What a resumed run may change; everything else comes from the saved run (as src/train/loop.ts).
RESUMABLE_OVERRIDES = ('steps', 'epochs', 'evalInterval', 'logInterval', 'patience', 'backend', 'threads',
                       'sampleChars')
CHOICES = dict(family=('rnn', 'gpt'), cell=('lstm', 'gru', 'rnn'), evalProtocol=('stream', 'windows'), bias=(True, False), batching=('random', 'stateful'), optimizer=('adam', 'adamw'),
               schedule=('constant', 'cosine', 'step', 'plateau'), backend=('auto', 'native', 'ref'),
               precision=('fp32', 'bf16'))


class CharlmError(Exception):
    """An error a user can cause: printed as one line, `charlm: message (hint: ...) [CODE]`, exit 1."""

    def __init__(self, code, message, hint=''):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint

    def line(self):
        return 'charlm: %s%s [%s]' % (self.message, ' (hint: %s)' % self.hint if self.hint else '', self.code)


def camel(key):
    parts = key.replace('_', '-').split('-')
    return parts[0] + ''.join(p[:1].upper() + p[1:] for p in parts[1:])


def load_config(path):
    return resolve_config(read_json_object(path), path)


def read_json_object(path):
    try:
        with open(path, 'rb') as f:
            raw = json.loads(f.read().decode('utf-8'))
    except FileNotFoundError:
        raise CharlmError('FILE_NOT_FOUND', 'config not found: %s' % path, 'print one with `charlm train CORPUS --print-config > cfg.json`')
    except (ValueError, UnicodeDecodeError) as e:
        raise CharlmError('BAD_CONFIG_FILE', '%s is not valid JSON: %s' % (path, e), 'fix the file, or print a fresh one with --print-config')
    if not isinstance(raw, dict):
        raise CharlmError('BAD_CONFIG_FILE', '%s does not hold a JSON object' % path, 'it must be {"key": value, ...}')
    return raw


def resolve_config(raw, where='config'):
    cfg = dict(DEFAULTS)
    for k, v in raw.items():
        key = camel(k)
        if key not in DEFAULTS:
            raise CharlmError('UNKNOWN_CONFIG_KEY', 'unknown config key "%s" in %s' % (k, where),
                              'this trainer knows: %s' % ', '.join(DEFAULTS))
        want = DEFAULTS[key]
        if isinstance(want, str) and key not in CHOICES:  # free text (separator)
            if not isinstance(v, str):
                raise CharlmError('BAD_CONFIG_VALUE', '%s must be a string (in %s)' % (k, where), 'e.g. "\\n"')
            cfg[key] = v
            continue
        ok = (any(v is c or (type(v) is type(c) and v == c) for c in CHOICES[key])) if key in CHOICES else (
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v >= 0 and
            (not isinstance(want, int) or float(v).is_integer()))
        if not ok:
            raise CharlmError('BAD_CONFIG_VALUE', '%s has a bad value %s (in %s)' % (k, json.dumps(v), where),
                              'one of %s' % ', '.join(map(json.dumps, CHOICES[key])) if key in CHOICES else 'a number ≥ 0')
        cfg[key] = v if key in CHOICES else (int(v) if isinstance(want, int) else float(v))
    # This trainer reads one text file with its full vocabulary: the multi-file and rare-character options are
    # charlm-engine features (separator only matters between files, so any value is accepted and unused).
    for key in ('maxVocab', 'valFiles'):
        if cfg[key]:
            raise CharlmError('UNSUPPORTED', '%s is not supported by the torch engine (in %s)' % (key, where),
                              'train with --engine charlm, or leave %s at 0' % key)
    return cfg


# ------------------------------------------------------------------------------------------------------- RNG
# charlm's Rng (src/util/rng.ts): xoshiro128** seeded by splitmix32, bit for bit, so initial weights and batch
# windows are the ones charlm draws. Its state update is linear over GF(2), which gives a cheap jump-ahead: that
# skips the draws charlm spends on dropout masks, and fills large blocks (initial weights) in numpy, in parallel.
M32 = 0xFFFFFFFF


def _rotl(x, k):
    return ((x << k) | (x >> (32 - k))) & M32


class Rng:
    def __init__(self, seed):
        x, s = seed & M32, []
        for _ in range(4):
            x = (x + 0x9E3779B9) & M32
            z = ((x ^ (x >> 16)) * 0x85EBCA6B) & M32
            z = ((z ^ (z >> 13)) * 0xC2B2AE35) & M32
            s.append((z ^ (z >> 16)) & M32)
        if not any(s):
            s[0] = 1
        self.s, self.spare = s, None

    def next_u32(self):
        s0, s1, s2, s3 = self.s
        r = (_rotl((s1 * 5) & M32, 7) * 9) & M32
        t = (s1 << 9) & M32
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = _rotl(s3, 11)
        self.s = [s0, s1, s2, s3]
        return r

    def random(self):
        hi, lo = self.next_u32() >> 5, self.next_u32() >> 6
        return (hi * 67108864 + lo) / 9007199254740992

    def int(self, n):
        """Uniform in [0, n), rejection-sampled exactly as charlm's Rng.int."""
        if n > M32:
            return math.floor(self.random() * n)
        limit = 0x100000000 - (0x100000000 % n)
        while True:
            x = self.next_u32()
            if x < limit:
                return x % n

    def get_state(self):  # charlm's layout: [s0, s1, s2, s3, spare|null] (JSON null for "no spare")
        return list(self.s) + [self.spare]

    def set_state(self, st):
        self.s = [int(v) & M32 for v in st[:4]]
        self.spare = st[4] if len(st) > 4 and st[4] is not None and st[4] == st[4] else None

    # -- jump-ahead: the state as one 128-bit int; a linear map as the list of images of its 128 basis vectors
    def _packed(self):
        return self.s[0] | self.s[1] << 32 | self.s[2] << 64 | self.s[3] << 96

    def _unpack(self, v):
        self.s = [(v >> (32 * i)) & M32 for i in range(4)]

    @staticmethod
    def _apply(mat, v):
        out, i = 0, 0
        while v:
            if v & 1:
                out ^= mat[i]
            v >>= 1
            i += 1
        return out

    @staticmethod
    def jump_matrix(n):
        """The map that advances the state by n draws (square-and-multiply over GF(2))."""
        one = Rng(0)
        step = []
        for i in range(128):
            one._unpack(1 << i)
            one.next_u32()
            step.append(one._packed())
        result = [1 << i for i in range(128)]
        while n:
            if n & 1:
                result = [Rng._apply(step, c) for c in result]
            step = [Rng._apply(step, c) for c in step]
            n >>= 1
        return result

    def skip(self, mat):
        self._unpack(self._apply(mat, self._packed()))

    def u32_block(self, n, chunk=2048):
        """The next n outputs of next_u32() as a numpy uint32 array: streams start at jump-ahead points `chunk`
        draws apart and advance in lockstep."""
        if n == 0:
            return np.zeros(0, np.uint32)
        streams = -(-n // chunk)
        jump = Rng.jump_matrix(chunk)
        starts, v = [], self._packed()
        for _ in range(streams):
            starts.append(v)
            v = self._apply(jump, v)
        s = [np.array([(x >> (32 * i)) & M32 for x in starts], np.uint32) for i in range(4)]
        out = np.empty((streams, chunk), np.uint32)
        last = n - (streams - 1) * chunk
        end_state = None
        with np.errstate(over='ignore'):
            for j in range(chunk):
                s0, s1, s2, s3 = s
                m = s1 * np.uint32(5)
                out[:, j] = ((m << np.uint32(7)) | (m >> np.uint32(25))) * np.uint32(9)
                t = s1 << np.uint32(9)
                s2 = s2 ^ s0; s3 = s3 ^ s1; s1 = s1 ^ s2; s0 = s0 ^ s3; s2 = s2 ^ t
                s3 = (s3 << np.uint32(11)) | (s3 >> np.uint32(21))
                s = [s0, s1, s2, s3]
                if j + 1 == last:
                    end_state = [int(x[-1]) for x in s]
        self.s = end_state
        return out.reshape(-1)[:n]


def _randoms(u):
    """Pairs of u32 draws → charlm's Rng.random() values (53 bits)."""
    hi, lo = (u[0::2] >> 5).astype(np.float64), (u[1::2] >> 6).astype(np.float64)
    return (hi * 67108864 + lo) / 9007199254740992


def rng_normals(rng, n):
    """n values of charlm's Rng.normal() (Box–Muller; for odd n the last spare is drawn and dropped)."""
    r = _randoms(rng.u32_block(4 * (-(-n // 2))))
    u, v = r[0::2], r[1::2]
    if (u == 0).any():  # charlm redraws u = 0 (probability 2^-53 per value); not reproduced here
        raise RuntimeError('Rng.normal drew u = 0; this seed cannot be reproduced by the vectorised path')
    rad = np.sqrt(-2 * np.log(u))
    out = np.empty(2 * len(u))
    out[0::2], out[1::2] = rad * np.cos(2 * np.pi * v), rad * np.sin(2 * np.pi * v)
    return out[:n]


def rng_uniforms(rng, n, lo, hi):
    return lo + (hi - lo) * _randoms(rng.u32_block(2 * n))


# ------------------------------------------------------------------------------------------------------ data
# As src/data/: strict UTF-8 (a leading BOM dropped), one token per code point, vocabulary = sorted(set(text)),
# the first floor(n*(1-valFraction)) tokens train and the tail validates.
def read_corpus(path):
    try:
        with open(path, 'rb') as f:
            data = f.read()
    except FileNotFoundError:
        raise CharlmError('FILE_NOT_FOUND', 'corpus not found: %s' % path,
                          'check the path (relative paths start from %s)' % os.getcwd())
    except IsADirectoryError:
        raise CharlmError('NOT_A_FILE', 'corpus is a directory, not a file: %s' % path,
                          'pass the path of a file inside it, e.g. %s' % os.path.join(path, 'input.txt'))
    except OSError as e:
        raise CharlmError('READ_FAILED', 'cannot read corpus %s: %s' % (path, e.strerror), 'check that the file exists and that you may read it')
    bom = 3 if data[:3] == b'\xef\xbb\xbf' else 0
    try:
        return data[bom:].decode('utf-8')
    except UnicodeDecodeError as e:
        shown = ' '.join('0x%02x' % b for b in data[bom + e.start:bom + e.start + 4])
        raise CharlmError('INVALID_UTF8', '%s is not valid UTF-8: bad byte sequence at byte offset %d (%s)' % (path, bom + e.start, shown),
                          'convert it first, e.g. iconv -f latin1 -t utf-8 %s > fixed.txt' % path)


def encode(text, chars):
    """Text → token ids (int64 numpy); characters outside `chars` are skipped (as charlm's encodeCorpus 'skip')."""
    cps = np.frombuffer(text.encode('utf-32-le'), dtype=np.uint32)
    table = np.array([ord(c) for c in chars], np.uint32)  # sorted for vocabularies from text; not assumed
    order = np.argsort(table, kind='stable')
    pos = np.searchsorted(table[order], cps).clip(0, len(table) - 1)
    known = table[order][pos] == cps
    return order[pos][known].astype(np.int64)


def check_length(n, need, what='the corpus'):
    if n == 0:
        raise CharlmError('CORPUS_EMPTY', '%s is empty (0 characters)' % what, 'point charlm at a text file with content')
    if n < need + 1:
        raise CharlmError('CORPUS_TOO_SHORT', '%s has %d characters, fewer than one training window (%d + 1)' % (what, n, need),
                          'use a longer text or a smaller --seq-length (or --batch-size with stateful batching)')


class RandomWindows:
    """charlm's RandomWindows over the global batch, then this rank's rows; the draws charlm makes for dropout
    masks in between are skipped, so batch k is charlm's batch k."""

    def __init__(self, tokens, B, T, rng, skip_draws):
        self.tokens, self.B, self.T, self.rng = tokens, B, T, rng
        self.jump = Rng.jump_matrix(skip_draws) if skip_draws else None
        self.ar = torch.arange(T + 1, device=tokens.device)

    def next(self, rows):
        span = len(self.tokens) - self.T
        starts = [self.rng.int(span) for _ in range(self.B)]
        if self.jump:
            self.rng.skip(self.jump)
        idx = torch.tensor(starts[rows.start:rows.stop], device=self.tokens.device)[:, None] + self.ar
        w = self.tokens[idx]
        return w[:, :-1], w[:, 1:], True

    def get_state(self):
        return []

    def set_state(self, s):
        pass


class StatefulStreams:
    """charlm's StatefulStreams: B contiguous streams walked T characters at a time (hidden state carried)."""

    def __init__(self, tokens, B, T):
        self.tokens, self.B, self.T = tokens, B, T
        self.stream_len = (len(tokens) - 1) // B
        self.pos, self.wrapped = 0, True
        self.ar = torch.arange(T + 1, device=tokens.device)

    def next(self, rows):
        if self.pos + self.T > self.stream_len:
            self.pos, self.wrapped = 0, True
        starts = torch.arange(rows.start, rows.stop, device=self.tokens.device) * self.stream_len + self.pos
        w = self.tokens[starts[:, None] + self.ar]
        reset, self.wrapped = self.wrapped, False
        self.pos += self.T
        return w[:, :-1], w[:, 1:], reset

    def get_state(self):
        return [self.pos, 1 if self.wrapped else 0]

    def set_state(self, s):
        self.pos, self.wrapped = (s[0], s[1] == 1) if s else (0, True)


# ---------------------------------------------------------------------------------------------------- models
# One class per model family, registered in FAMILIES; a checkpoint's config says which (no "family" = "rnn").
# Every family offers: from_train_config(cfg, V), model_config(), init_charlm(seed) (charlm's initialisation,
# from charlm's Rng), forward(idx, state) → (logits, state), init_state(B, device), decays(name) (AdamW groups),
# dropout_draws(B, T, parts) (the RNG draws charlm spends on dropout per batch), context_limit and stateful.
class CharRNN(nn.Module):
    """The original program's CharLSTM: Embedding(V,E) → LSTM/GRU/RNN (batch_first) → Linear(H,V), with the
    state_dict names embed.*, lstm.* (gru.*/rnn.*), fc.*; dropout between recurrent layers and on the embedding."""
    context_limit, stateful = None, True

    def __init__(self, mc):
        super().__init__()
        self.mc = dict(family='rnn', cell=mc['cell'], vocabSize=mc['vocabSize'], embeddingDim=mc['embeddingDim'],
                       hiddenSize=mc['hiddenSize'], numLayers=mc['numLayers'], dropout=mc.get('dropout', 0.0),
                       embedDropout=mc.get('embedDropout', 0.0))
        V, E, H, L = self.mc['vocabSize'], self.mc['embeddingDim'], self.mc['hiddenSize'], self.mc['numLayers']
        self.embed = nn.Embedding(V, E)
        self.embed_drop = nn.Dropout(self.mc['embedDropout'])
        rnn = dict(lstm=nn.LSTM, gru=nn.GRU, rnn=nn.RNN)[self.mc['cell']]
        self.add_module(self.mc['cell'], rnn(E, H, L, batch_first=True, dropout=self.mc['dropout'] if L > 1 else 0.0))
        self.fc = nn.Linear(H, V)

    @staticmethod
    def from_train_config(cfg, V):
        return CharRNN(dict(cell=cfg['cell'], vocabSize=V, embeddingDim=cfg['embeddingDim'], hiddenSize=cfg['hiddenSize'],
                            numLayers=cfg['numLayers'], dropout=cfg['dropout'], embedDropout=cfg['embedDropout']))

    def training_settings(self, cfg):
        return dict(dropout=cfg['dropout'], embedDropout=cfg['embedDropout'])

    def model_config(self):
        return dict(self.mc)

    def init_charlm(self, seed):
        """charlm's initialisation: embed ~ N(0,1), everything else U(±1/√H), in state_dict order."""
        rng, bound = Rng(seed), 1 / math.sqrt(self.mc['hiddenSize'])
        with torch.no_grad():
            for name, p in self.named_parameters():
                vals = rng_normals(rng, p.numel()) if name == 'embed.weight' else rng_uniforms(rng, p.numel(), -bound, bound)
                p.copy_(torch.from_numpy(vals.astype(np.float32)).view_as(p))

    def init_state(self, B, device):
        z = torch.zeros(self.mc['numLayers'], B, self.mc['hiddenSize'], device=device)
        return (z, z.clone()) if self.mc['cell'] == 'lstm' else z

    def forward(self, idx, state=None):
        out, state = getattr(self, self.mc['cell'])(self.embed_drop(self.embed(idx)), state)
        return self.fc(out), state

    def decays(self, name):
        return True

    def dropout_draws(self, B, T, parts):  # charlm draws one seed per dropout mask per forward call
        n = 1 if self.mc['embedDropout'] > 0 else 0
        return (n + (self.mc['numLayers'] - 1 if self.mc['dropout'] > 0 else 0)) * parts


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (nanoGPT's)."""

    def __init__(self, n, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_attn = nn.Linear(c['n_embd'], 3 * c['n_embd'], bias=c['bias'])
        self.c_proj = nn.Linear(c['n_embd'], c['n_embd'], bias=c['bias'])
        self.attn_dropout, self.resid_dropout = nn.Dropout(c['dropout']), nn.Dropout(c['dropout'])
        self.n_head, self.n_embd, self.p = c['n_head'], c['n_embd'], c['dropout']
        self.flash = hasattr(F, 'scaled_dot_product_attention')
        if not self.flash:  # not persistent: the checkpoint holds nanoGPT's parameters only
            S = c['block_size']
            self.register_buffer('mask', torch.tril(torch.ones(S, S)).view(1, 1, S, S), persistent=False)

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        if self.flash:
            y = F.scaled_dot_product_attention(q, k, v, dropout_p=self.p if self.training else 0, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
            att = F.softmax(att.masked_fill(self.mask[:, :, :T, :T] == 0, float('-inf')), dim=-1)
            y = self.attn_dropout(att) @ v
        return self.resid_dropout(self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C)))


class MLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c_fc = nn.Linear(c['n_embd'], 4 * c['n_embd'], bias=c['bias'])
        self.gelu = nn.GELU()
        self.c_proj = nn.Linear(4 * c['n_embd'], c['n_embd'], bias=c['bias'])
        self.dropout = nn.Dropout(c['dropout'])

    def forward(self, x):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x))))


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.ln_1, self.attn = LayerNorm(c['n_embd'], c['bias']), CausalSelfAttention(c)
        self.ln_2, self.mlp = LayerNorm(c['n_embd'], c['bias']), MLP(c)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """nanoGPT's model.py GPT (names and config keys as its model_args; lm_head tied to wte and stored once). The
    state is the context held so far (B,P): when it is full, it keeps its last block_size/2 characters, as charlm's
    KV cache slides, so streamed evaluation and sampling give charlm's numbers."""
    stateful = False

    def __init__(self, mc):
        super().__init__()
        self.mc = c = dict(family='gpt', n_layer=mc['n_layer'], n_head=mc['n_head'], n_embd=mc['n_embd'], block_size=mc['block_size'],
                           bias=bool(mc['bias']), vocab_size=mc['vocab_size'], dropout=mc.get('dropout', 0.0))
        if c['n_embd'] % c['n_head']:
            raise CharlmError('BAD_CONFIG_VALUE', 'n-embd %d is not divisible by n-head %d' % (c['n_embd'], c['n_head']), 'choose --n-embd as a multiple of --n-head')
        self.context_limit = c['block_size']
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(c['vocab_size'], c['n_embd']), wpe=nn.Embedding(c['block_size'], c['n_embd']),
            drop=nn.Dropout(c['dropout']), h=nn.ModuleList([Block(c) for _ in range(c['n_layer'])]),
            ln_f=LayerNorm(c['n_embd'], c['bias'])))
        self.lm_head = nn.Linear(c['n_embd'], c['vocab_size'], bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    @staticmethod
    def from_train_config(cfg, V):
        return GPT(dict(n_layer=cfg['nLayer'], n_head=cfg['nHead'], n_embd=cfg['nEmbd'], block_size=cfg['blockSize'],
                        bias=cfg['bias'], vocab_size=V, dropout=cfg['dropout']))

    def training_settings(self, cfg):
        return dict(dropout=cfg['dropout'])

    def model_config(self):
        return dict(self.mc)

    def init_charlm(self, seed):
        """charlm's (= nanoGPT's) initialisation: weights N(0, 0.02), c_proj weights N(0, 0.02/√(2·n_layer)), biases 0,
        LayerNorm weights 1; one stream of charlm Rng normals in state_dict order."""
        drawn = [(n, p) for n, p in self.named_parameters() if not n.endswith('.bias') and not re.search(r'\.ln_\d\.weight$|ln_f\.weight$', n)]
        z, k, proj = rng_normals(Rng(seed), sum(p.numel() for _, p in drawn)), 0, 0.02 / math.sqrt(2 * self.mc['n_layer'])
        with torch.no_grad():
            for n, p in self.named_parameters():
                if n.endswith('.bias'):
                    p.zero_()
                elif re.search(r'\.ln_\d\.weight$|ln_f\.weight$', n):
                    p.fill_(1.0)
            for n, p in drawn:
                std = proj if n.endswith('c_proj.weight') else 0.02
                p.copy_(torch.from_numpy((z[k:k + p.numel()] * std).astype(np.float32)).view_as(p))
                k += p.numel()

    def init_state(self, B, device):
        return torch.zeros(B, 0, dtype=torch.long, device=device)

    def _forward(self, idx):
        pos = torch.arange(idx.size(1), device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))

    def forward(self, idx, state=None):
        S, T = self.mc['block_size'], idx.size(1)
        if state is None and T <= S:
            return self._forward(idx), idx
        ctx, out, off = state if state is not None else idx[:, :0], [], 0
        while off < T:  # charlm's makeRoom: slide to the last S/2 when the next chunk does not fit
            want = T - off
            if S - ctx.size(1) < min(want, max(1, S // 2)):
                keep = min(ctx.size(1), S // 2)
                ctx = ctx[:, ctx.size(1) - keep:]
            n = min(want, S - ctx.size(1))
            ctx = torch.cat([ctx, idx[:, off:off + n]], 1)
            out.append(self._forward(ctx)[:, -n:])
            off += n
        return torch.cat(out, 1), ctx

    def decays(self, name):
        return dict(self.named_parameters())[name].dim() >= 2

    def dropout_draws(self, B, T, parts):
        return (1 + 3 * self.mc['n_layer']) * parts if self.mc['dropout'] > 0 else 0  # charlm's per-call dropout seeds


FAMILIES = {'rnn': CharRNN, 'gpt': GPT}


def build_model(cfg, V):
    return FAMILIES[cfg['family']].from_train_config(cfg, V)


def detach_state(state):
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else (None if state is None else state.detach())


# ----------------------------------------------------------------------------------------------- checkpoints
# charlm's safetensors layout (src/model/io.ts, src/train/state.ts): F32 tensors in state_dict order, metadata
# {format: "charlm", format_version: "1", vocab, config, training}; the resumable state beside it holds the Adam
# moments as one flat vector in the same order, so a run can resume on either engine.
def write_atomic(path, data):
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    tmp = os.path.join(d, '.%s.%d.tmp' % (os.path.basename(path), os.getpid()))
    try:
        with open(tmp, 'wb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise CharlmError('WRITE_FAILED', 'cannot write %s: %s' % (path, e.strerror), 'check free disk space and permissions of the --out folder')
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def js_json(obj):
    """JSON as charlm writes it: NaN → null, ±Infinity → the string "Infinity" (charlm's state convention)."""
    def fix(v):
        if isinstance(v, float) and not math.isfinite(v):
            return None if v != v else ('Infinity' if v > 0 else '-Infinity')
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, (list, tuple)):
            return [fix(x) for x in v]
        return v
    return json.dumps(fix(obj), ensure_ascii=False, separators=(',', ':'), allow_nan=False)


def encode_safetensors(tensors, metadata):
    header, offset, blobs = {'__metadata__': metadata}, 0, []
    for name, t in tensors:
        b = t.detach().to('cpu', torch.float32).contiguous().numpy().astype('<f4').tobytes()
        header[name] = dict(dtype='F32', shape=list(t.shape), data_offsets=[offset, offset + len(b)])
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, ensure_ascii=False, separators=(',', ':')).encode('utf-8')
    h += b' ' * (-len(h) % 8)
    return struct.pack('<Q', len(h)) + h + b''.join(blobs)


def read_safetensors(path):
    def bad(why):
        return CharlmError('CHECKPOINT_CORRUPT', '%s is not a valid checkpoint: %s' % (path, why),
                           'the file is truncated or not a safetensors checkpoint; use another checkpoint or retrain')
    try:
        with open(path, 'rb') as f:
            raw = f.read()
    except FileNotFoundError:
        raise CharlmError('FILE_NOT_FOUND', 'checkpoint not found: %s' % path, 'check the path')
    if len(raw) < 8:
        raise bad('it is shorter than the 8-byte safetensors prefix')
    (n,) = struct.unpack('<Q', raw[:8])
    try:
        header = json.loads(raw[8:8 + n].decode('utf-8'))
    except ValueError:
        raise bad('the header is not valid UTF-8 JSON')
    meta, tensors, base = header.pop('__metadata__', {}) or {}, {}, 8 + n
    for name, d in header.items():
        a, b = d['data_offsets']
        if d['dtype'] != 'F32' or base + b > len(raw):
            raise bad('tensor %s is not F32 or lies outside the file' % name)
        tensors[name] = torch.from_numpy(np.frombuffer(raw, '<f4', (b - a) // 4, base + a).astype(np.float32)).view(d['shape'])
    return meta, tensors


def save_model(path, model, chars, training):
    meta = dict(format='charlm', format_version='1', vocab=js_json(chars), config=js_json(model.model_config()))
    if training is not None:
        meta['training'] = js_json(training)
    write_atomic(path, encode_safetensors(list(model.named_parameters()), meta))


def load_model(path, device='cpu', overrides=None):
    """A charlm checkpoint → (model, vocabulary chars, training summary or None)."""
    meta, tensors = read_safetensors(path)
    if meta.get('format') != 'charlm':
        raise CharlmError('CHECKPOINT_INVALID', '%s is not a usable charlm checkpoint: it has no "format": "charlm" metadata' % path,
                          'pass a .safetensors file written by `charlm train` or this trainer')
    mc, chars = json.loads(meta['config']), json.loads(meta['vocab'])
    family = mc.get('family', 'rnn')
    if family not in FAMILIES:
        raise CharlmError('CHECKPOINT_UNSUPPORTED', '%s holds a "%s" model, which this trainer does not know' % (path, family),
                          'families here: %s' % ', '.join(FAMILIES))
    model = FAMILIES[family](mc)
    model = FAMILIES[family](dict(mc, **model.training_settings(overrides))) if overrides else model
    params = dict(model.named_parameters())
    if set(params) != set(tensors):
        raise CharlmError('CHECKPOINT_INVALID', '%s is not a usable charlm checkpoint: tensors %s do not match its config' % (
            path, ', '.join(sorted(set(params) ^ set(tensors)))), 'pass a .safetensors file written by `charlm train` or this trainer')
    with torch.no_grad():
        for n, p in params.items():
            if tuple(tensors[n].shape) != tuple(p.shape):
                raise CharlmError('CHECKPOINT_INVALID', '%s: tensor %s has shape %s, the config needs %s' % (path, n, list(tensors[n].shape), list(p.shape)), 'use another checkpoint')
            p.copy_(tensors[n])
    return model.to(device), chars, (json.loads(meta['training']) if 'training' in meta else None)


def save_state(path, meta, m, v, carry):
    tensors = [('adam.m', m), ('adam.v', v)]
    if carry is not None:
        h = carry[0] if isinstance(carry, tuple) else carry
        tensors.append(('carry.h', h.reshape(-1)))
        if isinstance(carry, tuple):
            tensors.append(('carry.c', carry[1].reshape(-1)))
    write_atomic(path, encode_safetensors(tensors, {'format': 'charlm-train-state', 'state': js_json(meta)}))


def load_state(path):
    meta, tensors = read_safetensors(path)
    if meta.get('format') != 'charlm-train-state':
        raise CharlmError('RESUME_INVALID', '%s is not a charlm training state' % path, 'resume from the --out folder of a charlm train run')
    st = json.loads(meta['state'], parse_constant=float)
    st['schedule'] = {k: (float(x) if isinstance(x, str) else x) for k, x in st['schedule'].items()}  # "Infinity"
    return st, tensors


# ---------------------------------------------------------------------------------------- evaluation, sampling
def eval_block(model, cfg):
    """The windows protocol's window (charlm's windowBlock): --eval-block, else the model's context, else seq-length."""
    lim = model.context_limit
    b = cfg['evalBlock'] or (lim if lim is not None else cfg['seqLength'])
    return min(b, lim) if lim is not None else b


@torch.no_grad()
def evaluate(model, tokens, device, protocol='stream', block=0):
    """charlm's validation protocols (src/train/evaluate.ts), nats/char:
    stream  — the slice read as B = 16 contiguous streams in windows of 128, the state carried;
    windows — nanoGPT's: non-overlapping windows of `block` tiling the text, nothing carried."""
    n = len(tokens)
    if n < 2:
        return float('nan')
    toks = torch.as_tensor(np.asarray(tokens), device=device)
    total, count = 0.0, 0
    if protocol == 'windows':
        T = min(block, n - 1)
        starts = torch.arange(0, n - 1, T, device=device)
        padded = torch.cat([toks, toks.new_full((T + 1,), -1)])
        for i in range(0, len(starts), 64):
            w = padded[starts[i:i + 64, None] + torch.arange(T + 1, device=device)]
            x, y = w[:, :-1].clamp(min=0), w[:, 1:].masked_fill(w[:, :-1] < 0, -1)
            logits, _ = model(x, None)
            total += F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), y.reshape(-1), ignore_index=-1, reduction='sum').item()
            count += int((y >= 0).sum())
        return total / count
    B, T = max(1, min(16, (n - 1) // 2)), 128
    L = (n - 1) // B
    starts = torch.arange(B, device=device) * L
    state = model.init_state(B, device) if model.context_limit is not None else None
    for pos in range(0, L, T):
        t = min(T, L - pos)
        w = toks[starts[:, None] + pos + torch.arange(t + 1, device=device)]
        logits, state = model(w[:, :-1], state)
        total += F.cross_entropy(logits.float().reshape(-1, logits.size(-1)), w[:, 1:].reshape(-1), reduction='sum').item()
    return total / (B * L)


@torch.no_grad()
def generate(model, chars, prime, length, temperature, seed, device):
    """charlm's generate(): prime once (an empty prime starts from "\\n"), then one character at a time with the
    carried state; temperature 0 is argmax (ties → lowest id), otherwise a draw from charlm's Rng(seed)."""
    ids = {c: i for i, c in enumerate(chars)}
    unknown = sorted({c for c in prime if c not in ids})
    if unknown:
        raise CharlmError('UNKNOWN_CHARS', 'the prime contains %d characters not in the vocabulary: %s' % (len(unknown), json.dumps(''.join(unknown))),
                          'use characters of the training text')
    p = [ids[c] for c in prime] or [ids.get('\n', 0)]
    if model.context_limit is not None:
        p = p[-model.context_limit:]  # charlm primes with the last block_size characters
    rng, out = Rng(seed), []
    logits, state = model(torch.tensor([p], device=device), None)
    for _ in range(length):
        z = logits[0, -1].float().cpu().double()
        if temperature <= 0:
            nxt = int(torch.argmax(z))
        else:
            pr = torch.softmax((z - z.max()) / temperature, 0).numpy()
            u, cum, nxt = rng.random(), 0.0, 0
            for v, q in enumerate(pr):
                if q <= 0:
                    continue
                cum, nxt = cum + q, v
                if u < cum:
                    break
        out.append(chars[nxt])
        logits, state = model(torch.tensor([[nxt]], device=device), state)
    return ''.join(out)


def lr_at(cfg, step, total, steps_per_epoch, sched):
    """charlm's lrAt (src/train/schedule.ts) for 1-based step."""
    warm = step / cfg['warmupSteps'] if cfg['warmupSteps'] > 0 and step <= cfg['warmupSteps'] else 1.0
    f, kind = 1.0, cfg['schedule']
    if kind == 'cosine':
        p = min(1.0, max(0.0, (step - cfg['warmupSteps']) / max(1, total - cfg['warmupSteps'])))
        f = cfg['minLrRatio'] + (1 - cfg['minLrRatio']) * 0.5 * (1 + math.cos(math.pi * p))
    elif kind == 'step':
        over = (step - 1) // steps_per_epoch - cfg['lrDecayAfterEpochs'] + 1
        f = cfg['lrDecay'] ** over if over > 0 else 1.0
    elif kind == 'plateau':
        f = sched['plateauScale']
    return cfg['learningRate'] * warm * f


def observe_validation(cfg, sched, val):
    if cfg['schedule'] != 'plateau':
        return
    if val < sched['plateauBest'] - 1e-4:
        sched['plateauBest'], sched['plateauBad'] = val, 0
        return
    sched['plateauBad'] += 1
    if sched['plateauBad'] >= 2:
        sched['plateauScale'] *= 0.5
        sched['plateauBad'] = 0


def thin(a, n=400):
    return a if len(a) <= n else [a[(i * (len(a) - 1)) // (n - 1)] for i in range(n)]


# -------------------------------------------------------------------------------------------------- training
def setup(device_arg):
    """torchrun's environment → (rank, world size, device); one process without torchrun."""
    world, rank, local = (int(os.environ.get(k, d)) for k, d in (('WORLD_SIZE', '1'), ('RANK', '0'), ('LOCAL_RANK', '0')))
    cuda = device_arg == 'cuda' or (device_arg == 'auto' and torch.cuda.is_available())
    if cuda and not torch.cuda.is_available():
        raise CharlmError('NO_CUDA', '--device cuda was asked for but torch sees no CUDA device', 'use --device cpu')
    device = torch.device('cuda', local) if cuda else torch.device('cpu')
    if cuda:
        torch.cuda.set_device(device)
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if world > 1:
        torch.distributed.init_process_group('nccl' if cuda else 'gloo')
    return rank, world, device


class Run:
    """Rank 0's outputs: progress lines, metrics.jsonl, checkpoints. Other ranks hold one and do nothing."""

    def __init__(self, out, master, append, quiet):
        self.out, self.master, self.quiet = out, master, quiet
        self.metrics = open(os.path.join(out, 'metrics.jsonl'), 'a' if append else 'w') if master else None

    def say(self, line):
        if self.master and not self.quiet:
            print(line, file=sys.stderr, flush=True)

    def record(self, rec):
        if self.master:
            self.metrics.write(js_json(rec) + '\n')
            self.metrics.flush()


def train(args):
    rank, world, device = setup(args.device)
    master = rank == 0
    raw_cfg = read_json_object(args.config) if args.config else {}
    cfg = resolve_config(raw_cfg, args.config or 'config')
    out = args.out
    os.makedirs(out, exist_ok=True)
    last_path, best_path, state_path = (os.path.join(out, f) for f in ('last.safetensors', 'best.safetensors', 'state.safetensors'))
    saved = saved_tensors = None
    if args.resume:
        if not (os.path.exists(state_path) and os.path.exists(last_path)):
            raise CharlmError('RESUME_MISSING', 'nothing to resume in %s' % out, 'resume needs the --out folder of an earlier run (last.safetensors + state.safetensors)')
        saved, saved_tensors = load_state(state_path)
        given, given_keys = cfg, {camel(k) for k in raw_cfg}
        cfg = resolve_config(saved['config'], state_path)
        for k in RESUMABLE_OVERRIDES:  # only those the given config names (charlm passes them all)
            if k in given_keys:
                cfg[k] = given[k]
    if cfg['threads'] > 0 and device.type == 'cpu':
        torch.set_num_threads(cfg['threads'])
    dtype = args.dtype if args.dtype != 'auto' else ('bf16' if device.type == 'cuda' else 'fp32')
    amp = torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == 'bf16')

    corpus_path = args.corpus or (saved and saved.get('corpus'))
    if not corpus_path:
        raise CharlmError('MISSING_CORPUS', 'train needs --corpus', 'pass the text file the run trains on')
    text = read_corpus(corpus_path)
    base = last_path if saved else args.init_from
    if base:
        model, chars, _ = load_model(base, 'cpu', dict(dropout=cfg['dropout'], embedDropout=cfg['embedDropout']))
        unknown = sorted(set(text) - set(chars))
    else:
        chars = sorted(set(text))
        if not chars:
            raise CharlmError('CORPUS_EMPTY', 'the corpus is empty (0 characters)', 'point charlm at a text file with content')
        model = build_model(cfg, len(chars))
        model.init_charlm(cfg['seed'])
        unknown = []
    tokens = encode(text, chars)
    del text
    B, T, V = cfg['batchSize'], cfg['seqLength'], len(chars)
    check_length(len(tokens), T)
    if not 0 <= cfg['valFraction'] < 1:
        raise CharlmError('BAD_OPTION', 'validation fraction must be in [0, 1), got %s' % cfg['valFraction'], 'use e.g. --val-fraction 0.1')
    n_train = math.floor(len(tokens) * (1 - cfg['valFraction']))
    train_tok, val_tok = tokens[:n_train], tokens[n_train:]
    stateful = cfg['batching'] == 'stateful'
    check_length(len(train_tok), T * B if stateful else T, 'the training part of the corpus')
    eval_tok = val_tok[:cfg['evalChars']]
    if stateful and not model.stateful:
        raise CharlmError('BAD_CONFIG_VALUE', '--batching stateful needs a recurrent model; the %s family has no state to carry between windows' % model.mc['family'],
                          'use --batching random')
    if model.context_limit is not None and T > model.context_limit:
        raise CharlmError('BAD_CONFIG_VALUE', "seq-length %d is longer than the model's context (block-size %d)" % (T, model.context_limit),
                          'use --seq-length %d or less, or a larger --block-size' % model.context_limit)
    protocol = cfg['evalProtocol']
    block = eval_block(model, cfg) if protocol == 'windows' else 0
    eval_name = 'windows/%d' % block if protocol == 'windows' else 'stream'

    # The global batch B is split over the ranks; micro-batches split a rank's rows further (same gradient).
    if B % world:
        raise CharlmError('BAD_CONFIG_VALUE', 'batch-size %d is the global batch and must split evenly over %d processes' % (B, world),
                          'choose a batch size that is a multiple of --nproc')
    b = B // world
    rows = slice(rank * b, (rank + 1) * b)
    micro = cfg['microBatch'] if 0 < cfg['microBatch'] < b else b
    if b % micro or (micro < b and stateful):
        raise CharlmError('BAD_CONFIG_VALUE', 'micro-batch works with --batching random only' if stateful else
                          'micro-batch %d must divide the %d rows of each process' % (micro, b), 'e.g. --batch-size 64 --micro-batch 16, or --micro-batch 0')

    model.to(device)
    raw = model
    if world > 1:
        model = torch.nn.parallel.DistributedDataParallel(raw, device_ids=[device.index] if device.type == 'cuda' else None)
    named = list(raw.named_parameters())  # charlm's flat parameter order (the checkpoint's and Adam state's)
    params = [p for _, p in named]
    # Weight decay on the tensors the family decays (gpt: matrices and embeddings only, as nanoGPT), none on the rest.
    groups = [dict(params=[p for n, p in named if raw.decays(n)], weight_decay=cfg['weightDecay']),
              dict(params=[p for n, p in named if not raw.decays(n)], weight_decay=0.0)]
    groups = [g for g in groups if g['params']]
    fused = {'fused': True} if device.type == 'cuda' and 'fused' in torch.optim.Adam.__init__.__code__.co_varnames else {}
    Opt = torch.optim.AdamW if cfg['optimizer'] == 'adamw' else torch.optim.Adam
    opt = Opt(groups, lr=cfg['learningRate'], betas=(cfg['beta1'], cfg['beta2']), eps=1e-8, **fused)

    tok_dev = torch.from_numpy(train_tok).to(device)
    rng = Rng((cfg['seed'] & M32) ^ 0x5EED5EED)
    batcher = StatefulStreams(tok_dev, B, T) if stateful else RandomWindows(tok_dev, B, T, rng, raw.dropout_draws(B, T, B // (cfg['microBatch'] if 0 < cfg['microBatch'] < B else B)))
    carry = raw.init_state(b, device) if stateful else None
    sched = dict(plateauScale=1.0, plateauBest=float('inf'), plateauBad=0)
    spe = max(1, len(train_tok) // (B * T))
    total = cfg['steps'] if cfg['steps'] > 0 else max(1, math.floor(cfg['epochs'] * spe + 0.5))
    step, best_val, no_improve, chars_seen, history = 0, None, 0, 0, []
    if saved:
        m, v, k = saved_tensors['adam.m'], saved_tensors['adam.v'], 0
        if m.numel() != sum(p.numel() for p in params):
            raise CharlmError('RESUME_INVALID', '%s does not match the saved model' % state_path, 'start a fresh run')
        sd, step = opt.state_dict(), saved['step']
        index = {id(p): i for i, p in enumerate(q for g in opt.param_groups for q in g['params'])}  # state_dict's numbering
        for p in params:
            n = p.numel()
            sd['state'][index[id(p)]] = {'step': torch.tensor(float(step)), 'exp_avg': m[k:k + n].view_as(p).clone(), 'exp_avg_sq': v[k:k + n].view_as(p).clone()}
            k += n
        opt.load_state_dict(sd)
        rng.set_state(saved['rng'])
        batcher.set_state(saved['batcher'])
        sched.update(saved['schedule'])
        best_val, no_improve = saved['bestVal'], saved['evalsWithoutImprovement']
        history, chars_seen = saved['history'], saved['charsSeen']
        if carry is not None and 'carry.h' in saved_tensors:
            full = lambda t: t.view(cfg['numLayers'], B, cfg['hiddenSize'])[:, rows].to(device).contiguous()
            carry = (full(saved_tensors['carry.h']), full(saved_tensors['carry.c'])) if isinstance(carry, tuple) else full(saved_tensors['carry.h'])
    start_step = step
    run = Run(out, master, bool(saved), args.quiet)
    engine = 'torch-%s%s' % (device.type, '×%d' % world if world > 1 else '')
    corpus_name = args.corpus_name or (saved and saved.get('corpus')) or os.path.basename(corpus_path)
    run.say('model %s parameters, vocabulary %d; train %s chars, val %s; %d steps/epoch, %d steps; engine %s, %s, global batch %d = %d × %d%s' % (
        format(sum(p.numel() for p in params), ','), V, format(len(train_tok), ','), format(len(val_tok), ','), spe, total, engine, dtype, B, world, b,
        '; %d characters of the new text are not in the vocabulary and are skipped' % len(unknown) if unknown else ''))

    stop_requested = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop_requested.append(1))
    last_train_loss = history[-1][1] if history else None
    last_val, stopped = None, 'done'
    t0 = t_log = time.time()
    loss_acc, n_acc, chars_log = torch.zeros((), dtype=torch.float64, device=device), 0, 0
    n_micro, norm = b // micro, torch.zeros(())

    def summary():
        return dict(corpus=corpus_name, steps=step, epochs=step / spe, charsSeen=chars_seen, trainLoss=last_train_loss, valLoss=last_val,
                    bestValLoss=best_val, backend=engine, history=thin(history), trainConfig=cfg)

    def checkpoint():
        full_carry = None
        if carry is not None:  # every rank holds its rows of the carried state: gather them for the file
            parts = carry if isinstance(carry, tuple) else (carry,)
            if world > 1:
                gathered = []
                for t in parts:
                    bufs = [torch.empty_like(t) for _ in range(world)]
                    torch.distributed.all_gather(bufs, t.contiguous())
                    gathered.append(torch.cat(bufs, 1))
                parts = gathered
            full_carry = tuple(parts) if isinstance(carry, tuple) else parts[0]
        if not master:
            return
        save_model(last_path, raw, chars, summary())
        flat = lambda key: torch.cat([opt.state[p][key].reshape(-1).float().cpu() if p in opt.state else torch.zeros(p.numel()) for p in params])
        meta = dict(step=step, rng=rng.get_state(), batcher=batcher.get_state(), schedule=sched, bestVal=best_val,
                    evalsWithoutImprovement=no_improve, history=history, config=cfg, corpus=corpus_name, charsSeen=chars_seen,
                    # the file itself, as charlm's engine records it: `charlm train --resume DIR` finds it without a corpus
                    corpusSpec=dict(paths=[os.path.abspath(corpus_path)]))
        save_state(state_path, meta, flat('exp_avg'), flat('exp_avg_sq'), full_carry)

    while step < total:
        lr = lr_at(cfg, step + 1, total, spe, sched)
        for g in opt.param_groups:
            g['lr'] = lr
        if raw.dropout_draws(1, 1, 1) > 0:
            torch.manual_seed((cfg['seed'] * 1_000_003 + step * 1009 + rank) & 0x7FFFFFFFFFFFFFFF)  # masks: f(seed, step, rank)
        x, y, reset = batcher.next(rows)
        if carry is not None and reset:
            carry = raw.init_state(b, device)
        for i in range(n_micro):
            sync = world == 1 or i == n_micro - 1
            with (model.no_sync() if not sync else contextlib.nullcontext()):
                with amp:
                    logits, new_state = model(x[i * micro:(i + 1) * micro], carry)
                loss = F.cross_entropy(logits.float().reshape(-1, V), y[i * micro:(i + 1) * micro].reshape(-1)) / n_micro
                loss.backward()
            loss_acc += loss.detach()
        if carry is not None:
            carry = detach_state(new_state)
        norm = torch.nn.utils.clip_grad_norm_(params, cfg['clip'] if cfg['clip'] > 0 else float('inf'))
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        chars_seen += B * T
        chars_log += B * T
        n_acc += 1
        at_log = step % cfg['logInterval'] == 0 or step == total
        at_eval = (cfg['evalInterval'] > 0 and step % cfg['evalInterval'] == 0) or step == total
        if not (at_log or at_eval):
            continue
        # One collective at each logged/evaluated step: the global loss and whether any rank must stop.
        # Why to stop, summed over ranks: [interrupted (signal or stop file: save and stop), the --max-seconds budget
        # (a planned end: evaluate, save and stop)].
        interrupted = bool(stop_requested) or bool(master and args.stop_file and os.path.exists(args.stop_file))
        budget = bool(master and args.max_seconds and time.time() - t0 >= args.max_seconds)
        sync_t = torch.stack([loss_acc, torch.tensor(float(interrupted), dtype=torch.float64, device=device),
                              torch.tensor(float(budget), dtype=torch.float64, device=device)])
        if world > 1:
            torch.distributed.all_reduce(sync_t)
        mean = (sync_t[0] / (n_acc * world)).item()
        stop = 'time-budget' if sync_t[2].item() > 0 else 'interrupted' if sync_t[1].item() > 0 else None
        if not math.isfinite(mean) or not math.isfinite(norm.item()):
            raise CharlmError('LOSS_NOT_FINITE', 'the loss became %s by step %d; stopped, keeping the last good checkpoint in %s' % (mean, step, out),
                              'lower --learning-rate, or clip gradients with --clip 1 (or resume from the last checkpoint with a lower rate)')
        if at_log:
            now = time.time()
            cps, last_train_loss = chars_log / max(now - t_log, 1e-9), mean
            history.append([step, mean, None])
            run.record(dict(type='train', step=step, epoch=step / spe, loss=mean, lr=lr, chars_per_s=cps, elapsed_s=now - t0, grad_norm=norm.item()))
            rate = (step - start_step) / max(now - t0, 1e-9)
            run.say('step %d/%d epoch %.2f loss %.4f lr %.2e %d chars/s elapsed %.1fs eta %ds' % (
                step, total, step / spe, mean, lr, round(cps), now - t0, round((total - step) / max(rate, 1e-9))))
            loss_acc.zero_()
            n_acc, chars_log, t_log = 0, 0, now
        early = False
        if at_eval or stop:
            if (at_eval or stop == 'time-budget') and len(eval_tok) > 1:
                val_t = torch.zeros(1, dtype=torch.float64, device=device)
                if master:
                    raw.eval()
                    with amp:
                        val_t[0] = evaluate(raw, eval_tok, device, protocol, block)
                if world > 1:
                    torch.distributed.broadcast(val_t, 0)
                last_val = val_t.item()
                best = best_val is None or last_val < best_val
                best_val, no_improve = (last_val, 0) if best else (best_val, no_improve + 1)
                observe_validation(cfg, sched, last_val)
                if history and history[-1][0] == step:
                    history[-1][2] = last_val
                else:
                    history.append([step, last_train_loss if last_train_loss is not None else float('nan'), last_val])
                sample = ''
                if master and cfg['sampleChars'] > 0:
                    sample = generate(raw, chars, '', cfg['sampleChars'], 0.8, cfg['seed'], device)
                raw.train()
                run.record(dict(type='eval', step=step, epoch=step / spe, val_loss=last_val, val_bpc=last_val / math.log(2),
                                protocol=eval_name, train_loss=last_train_loss, elapsed_s=time.time() - t0, best=best, sample=sample))
                run.say('eval step %d: val loss (%s) %.4f nats/char (%.3f bits/char)%s%s' % (
                    step, eval_name, last_val, last_val / math.log(2), ' *best*' if best else '', '\n  sample: %s' % json.dumps(sample[:120]) if sample else ''))
                if best and master:
                    save_model(best_path, raw, chars, summary())
                early = cfg['patience'] > 0 and no_improve >= cfg['patience']
            checkpoint()
        if early:
            stopped = 'early-stop'
            break
        if stop:
            stopped = stop
            break
    elapsed = time.time() - t0
    if master:
        if args.stop_file and os.path.exists(args.stop_file):
            os.unlink(args.stop_file)
        val = ', best val %.4f nats/char (%.3f bits/char)' % (best_val, best_val / math.log(2)) if best_val is not None else ''
        if not args.quiet:
            print('%s: %d steps in %.1f s, %s chars/s, train loss %s%s' % (
                stopped, step, elapsed, format(round((step - start_step) * B * T / max(elapsed, 1e-9)), ','),
                '%.4f' % last_train_loss if last_train_loss is not None else '—', val), flush=True)
            print('saved %s%s' % (last_path, ' and %s' % best_path if best_val is not None else ''), flush=True)
    if world > 1:
        # Every rank alive while DDP and the process group are torn down: a gloo rank that tears down after its peer
        # has exited can hang in the destructors (seen with torch 1.13).
        torch.distributed.barrier()
        del model
        torch.distributed.destroy_process_group()


# ---------------------------------------------------------------------------------------------- command line
def main(argv=None):
    p = argparse.ArgumentParser(prog='charlm_torch.py', description=__doc__.split('\n\n')[0])
    sub = p.add_subparsers(dest='command', required=True)
    t = sub.add_parser('train', help='train (run it with torchrun for several processes)')
    t.add_argument('--config', help="charlm's resolved config JSON (charlm train CORPUS ... --print-config)")
    t.add_argument('--corpus', help='UTF-8 text file (default on --resume: the saved run\'s corpus)')
    t.add_argument('--corpus-name', help='the corpus name recorded in checkpoints (default: the file name)')
    t.add_argument('--out', required=True, help='run folder: last/best.safetensors, state.safetensors, metrics.jsonl')
    t.add_argument('--resume', action='store_true', help='continue the run saved in --out')
    t.add_argument('--init-from', help='fine-tune: start from this checkpoint (keeps its vocabulary)')
    t.add_argument('--device', choices=('auto', 'cpu', 'cuda'), default='auto', help='auto: CUDA when available')
    t.add_argument('--dtype', choices=('auto', 'fp32', 'bf16'), default='auto', help='autocast; auto: bf16 on CUDA, fp32 on CPU')
    t.add_argument('--max-seconds', type=float, default=0, help='stop (evaluate and save) at the first logged step after this long')
    t.add_argument('--stop-file', help='stop (and save) at the next logged step once this file exists')
    t.add_argument('--quiet', action='store_true')
    s = sub.add_parser('sample', help='generate from a checkpoint')
    s.add_argument('checkpoint')
    s.add_argument('--prime', default='')
    s.add_argument('--length', type=int, default=500)
    s.add_argument('--temperature', type=float, default=1.0)
    s.add_argument('--seed', type=int, default=42)
    s.add_argument('--device', choices=('cpu', 'cuda'), default='cpu')
    sub.add_parser('defaults', help="print the config keys this trainer knows and their defaults (charlm's), as JSON")
    args = p.parse_args(argv)
    try:
        if args.command == 'train':
            train(args)
        elif args.command == 'sample':
            model, chars, _ = load_model(args.checkpoint, args.device)
            sys.stdout.write(args.prime + generate(model.eval(), chars, args.prime, args.length, args.temperature, args.seed, args.device) + '\n')
            sys.stdout.flush()
        else:
            print(json.dumps(DEFAULTS))
    except CharlmError as e:
        if os.environ.get('RANK', '0') == '0':
            print(e.line(), file=sys.stderr, flush=True)
        sys.exit(1)


def torchrun(argv):
    """`torchrun ARGS`, with two fixes for torch < 2.0 (Debian's python3-torch 1.13): on Python ≥ 3.11 its
    Std.from_str('0') finds no member (IntFlag iteration skips 0), so every launch fails; and --standalone always
    uses port 29400, so two standalone runs on one machine join each other's store (torch 2 uses a free port)."""
    from torch.distributed.elastic.multiprocessing import api
    if api.Std.from_str('0') is None:
        orig = api.Std.from_str.__func__
        api.Std.from_str = classmethod(lambda cls, vm: cls(int(vm)) if re.match(api._VALUE_REGEX, vm) else orig(cls, vm))
    if int(torch.__version__.split('.')[0]) < 2 and '--standalone' in argv:
        import uuid
        i = argv.index('--standalone')
        argv = argv[:i] + ['--rdzv_backend=c10d', '--rdzv_endpoint=localhost:0', '--rdzv_id=%s' % uuid.uuid4()] + argv[i + 1:]
    from torch.distributed.run import main as run_main
    run_main(argv)


if __name__ == '__main__':
    if sys.argv[1:2] == ['torchrun']:  # python charlm_torch.py torchrun --standalone --nproc_per_node N charlm_torch.py train ...
        torchrun(sys.argv[2:])
    else:
        main()

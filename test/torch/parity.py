# Test helper for test/torch/torch.test.ts: PyTorch's side of "same initial weights, same batch, same numbers".
# Usage: parity.py CORPUS.txt DIR NAME...  — for each NAME, with DIR/NAME.config.json (a charlm config) and
# DIR/NAME.safetensors (charlm's initial weights), it writes DIR/NAME.torch-init.safetensors (charlm_torch's own
# initialisation) and DIR/NAME.json: the first training batch's inputs, the loss and every gradient, computed by
# PyTorch from charlm's weights.
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', 'torch'))
import charlm_torch as ct  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

corpus, out, names = sys.argv[1], sys.argv[2], sys.argv[3:]
text = ct.read_corpus(corpus)
chars = sorted(set(text))
tokens = ct.encode(text, chars)
for name in names:
    cfg = ct.load_config(os.path.join(out, name + '.config.json'))
    mine = ct.build_model(cfg, len(chars))
    mine.init_charlm(cfg['seed'])
    ct.save_model(os.path.join(out, name + '.torch-init.safetensors'), mine, chars, None)
    model, _, _ = ct.load_model(os.path.join(out, name + '.safetensors'))
    train = torch.from_numpy(tokens[:int(len(tokens) * (1 - cfg['valFraction']))])
    rng = ct.Rng((cfg['seed'] & ct.M32) ^ 0x5EED5EED)
    x, y, _ = ct.RandomWindows(train, cfg['batchSize'], cfg['seqLength'], rng, 0).next(slice(0, cfg['batchSize']))
    logits, _ = model(x)
    loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
    loss.backward()
    with open(os.path.join(out, name + '.json'), 'w') as f:
        json.dump(dict(x=x.reshape(-1).tolist(), loss=loss.item(),
                       grads={n: p.grad.reshape(-1).tolist() for n, p in model.named_parameters()}), f)

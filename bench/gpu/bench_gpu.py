"""GPU benchmark of the PyTorch companion trainer; needs only Python, PyTorch and (for real numbers) CUDA — no Node.

  python3 bench/gpu/bench_gpu.py CONFIG.json CORPUS.txt OUT_DIR [--seconds 120] [--dtypes fp32,bf16] [--nproc 1]

  (the lead's GPU check: python3 bench/gpu/bench_gpu.py bench/gpu/seed.json bench/gpu/data/tinyshakespeare.txt $OUT/gpu)

CONFIG.json is a config resolved here by charlm (bench/gpu/seed.json: the original program's preset plus a 10%
validation tail, made by `charlm train shakespeare --preset seed --val-fraction 0.1 --print-config`). For each dtype it
runs torch/charlm_torch.py under torchrun for at most --seconds (then it evaluates, saves and stops), keeps the run
folder and its log under OUT_DIR/<config>-<dtype>/, and prints one table row per run: the device, steady-state
training chars/s, steps, the best validation loss reached. Everything is also written to OUT_DIR/summary.json.
On a machine without CUDA it runs on the CPU (to check the script; use --device cpu and a few --seconds).
"""
import argparse
import json
import os
import subprocess
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
TRAINER = os.path.join(HERE, '..', '..', 'torch', 'charlm_torch.py')


def steady_chars_per_s(train_recs, chars_per_step):
    """The median of the logged intervals' chars/s, the first (start-up, cuDNN/compile warm-up) left out; intervals
    that hold an evaluation are slower and fall outside the median."""
    rates = sorted(r['chars_per_s'] for r in train_recs[1:]) or [r['chars_per_s'] for r in train_recs]
    return rates[len(rates) // 2] if rates else float('nan')


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    p.add_argument('config', help='config JSON, or several separated by commas (each runs with every dtype)')
    p.add_argument('corpus')
    p.add_argument('out')
    p.add_argument('--seconds', type=float, default=120, help='time budget per run (default 120)')
    p.add_argument('--dtypes', default='fp32,bf16', help='comma-separated autocast dtypes to run (default fp32,bf16)')
    p.add_argument('--nproc', type=int, default=1, help='processes (GPUs) per run (default 1)')
    p.add_argument('--device', choices=('auto', 'cuda', 'cpu'), default='auto')
    p.add_argument('--keep', choices=('best', 'all', 'none'), default='best',
                   help='checkpoints to keep in each run folder (default best.safetensors only, to keep OUT_DIR small)')
    a = p.parse_args()
    cuda = torch.cuda.is_available() and a.device != 'cpu'
    device_name = torch.cuda.get_device_name(0) if cuda else 'CPU (%d cores)' % os.cpu_count()
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    if not cuda:
        env.setdefault('OMP_NUM_THREADS', str(max(1, (os.cpu_count() or 1) // a.nproc)))
    os.makedirs(a.out, exist_ok=True)
    print('device %s; torch %s, CUDA %s; corpus %s; %.0f s per run' % (
        device_name, torch.__version__, torch.version.cuda, a.corpus, a.seconds), flush=True)
    results = []
    for config, dtype in ((c, d) for c in a.config.split(',') for d in a.dtypes.split(',')):
        cfg = json.load(open(config))
        chars_per_step = cfg['batchSize'] * cfg['seqLength']
        name = os.path.splitext(os.path.basename(config))[0]
        run_dir = os.path.join(a.out, '%s-%s' % (name, dtype))
        cmd = [sys.executable, TRAINER, 'torchrun', '--standalone', '--nproc_per_node=%d' % a.nproc, TRAINER, 'train',
               '--config', config, '--corpus', a.corpus, '--out', run_dir, '--dtype', dtype,
               '--device', 'cuda' if cuda else 'cpu', '--max-seconds', str(a.seconds)]
        print('\n%s (%s family, global batch %d × %d), %s:\n$ %s' % (config, cfg.get('family', 'rnn'), cfg['batchSize'], cfg['seqLength'], dtype, ' '.join(cmd)), flush=True)
        t0 = time.time()
        with open(run_dir + '.log', 'w') as log:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True)
            n_step_lines = 0
            for line in proc.stdout:  # the whole log to the file; every 25th progress line to the screen
                log.write(line)
                n_step_lines += line.startswith('step ')
                if not line.startswith('step ') or n_step_lines % 25 == 1:
                    sys.stdout.write(line)
            code = proc.wait()
        wall = time.time() - t0
        row = dict(config=name, dtype=dtype, device=device_name, nproc=a.nproc, exit_code=code, wall_s=round(wall, 1))
        metrics = os.path.join(run_dir, 'metrics.jsonl')
        if os.path.exists(metrics):
            recs = [json.loads(l) for l in open(metrics) if l.strip()]
            train = [r for r in recs if r['type'] == 'train']
            evals = [r for r in recs if r['type'] == 'eval']
            row.update(steps=train[-1]['step'] if train else 0, train_loss=train[-1]['loss'] if train else None,
                       chars_per_s=round(steady_chars_per_s(train, chars_per_step)),
                       best_val=min((e['val_loss'] for e in evals), default=None),
                       last_val=evals[-1]['val_loss'] if evals else None, train_s=train[-1]['elapsed_s'] if train else None)
        for f in ('last.safetensors', 'state.safetensors', 'best.safetensors'):
            if a.keep == 'none' or (a.keep == 'best' and f != 'best.safetensors'):
                if os.path.exists(os.path.join(run_dir, f)):
                    os.unlink(os.path.join(run_dir, f))
        results.append(row)
        print('-> %s' % json.dumps(row), flush=True)
    with open(os.path.join(a.out, 'summary.json'), 'w') as f:
        json.dump(dict(command=' '.join(sys.argv), results=results), f, indent=2)
    print('\n| config | device | dtype | processes | training chars/s | steps | train s | best val (nats/char) | exit |')
    print('|---|---|---|---:|---:|---:|---:|---:|---:|')
    for r in results:
        print('| %s | %s | %s | %d | %s | %s | %s | %s | %d |' % (
            r['config'], r['device'], r['dtype'], r['nproc'], format(r.get('chars_per_s', 0), ','), r.get('steps', '—'),
            '%.0f' % r['train_s'] if r.get('train_s') else '—', '%.4f' % r['best_val'] if r.get('best_val') is not None else '—', r['exit_code']))
    sys.exit(0 if all(r['exit_code'] == 0 for r in results) else 1)


if __name__ == '__main__':
    main()

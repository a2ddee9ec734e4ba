// `charlm train --engine torch`: the same resolved config, trained by torch/charlm_torch.py under torchrun
// (PyTorch DistributedDataParallel: gloo on CPU, NCCL on CUDA). It finds a Python that has torch, writes the config
// beside the run, and launches torchrun in its own process group; stop() asks the ranks to save and stop at their
// next logged step (through a stop file, so torchrun itself is never signalled and exits cleanly).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TrainConfig } from '../config.js';
import { CharlmError } from '../errors.js';

/** The companion trainer, from src/train/ or dist/train/. */
export const TORCH_SCRIPT = fileURLToPath(new URL('../../torch/charlm_torch.py', import.meta.url));
export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface TorchPython { python: string; torchVersion: string; cuda: boolean }

function probe(python: string, env: NodeJS.ProcessEnv): TorchPython | null {
  const r = spawnSync(python, ['-c', 'import torch, numpy; print(torch.__version__, int(torch.cuda.is_available()))'],
    { encoding: 'utf8', env, timeout: 60_000 });
  if (r.status !== 0 || !r.stdout) return null;
  const [torchVersion, cuda] = r.stdout.trim().split(/\s+/);
  return { python, torchVersion, cuda: cuda === '1' };
}

/**
 * A Python that can import torch and numpy: $CHARLM_PYTHON (it must have them), else `python3` on the PATH, else the
 * system's own /usr/bin/python3 (on Debian the PATH's first python3 may be a pyenv one without torch).
 */
export function findTorchPython(env: NodeJS.ProcessEnv = process.env): TorchPython {
  const hint = 'install PyTorch (pip install torch numpy, or apt-get install python3-torch), or set CHARLM_PYTHON to a Python that has it';
  if (env.CHARLM_PYTHON) {
    const found = probe(env.CHARLM_PYTHON, env);
    if (!found) throw new CharlmError('TORCH_NOT_FOUND', `CHARLM_PYTHON=${env.CHARLM_PYTHON} cannot import torch and numpy`, hint);
    return found;
  }
  const tried = ['python3', SYSTEM_PYTHON];
  for (const py of tried) {
    const found = probe(py, env);
    if (found) return found;
  }
  throw new CharlmError('TORCH_NOT_FOUND', `no Python with PyTorch found (tried ${tried.join(', ')})`, hint);
}

export interface TorchTrainOptions {
  config: TrainConfig;
  /** A UTF-8 file; named datasets are resolved (and written out) by the caller. */
  corpusPath: string;
  corpusName: string;
  outDir: string;
  /** Processes on this machine (torchrun --nproc_per_node). */
  nproc: number;
  resume?: boolean;
  initFrom?: string;
  /** Extra arguments for charlm_torch.py train (e.g. --device cpu, --max-seconds 60). */
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  python?: TorchPython;
}

export interface TorchRun {
  /** Ask every rank to save and stop at its next logged step. */
  stop(): void;
  /** Kill the whole process group at once (a second Ctrl-C). */
  kill(): void;
  /** Resolves with torchrun's exit code and whether stop() was called. */
  done: Promise<{ code: number; stopped: boolean }>;
  command: string[];
}

export function trainTorch(opts: TorchTrainOptions): TorchRun {
  const env = { ...(opts.env ?? process.env) };
  const py = opts.python ?? findTorchPython(env);
  if (!Number.isInteger(opts.nproc) || opts.nproc < 1) {
    throw new CharlmError('BAD_OPTION', `--nproc must be a whole number ≥ 1, got ${opts.nproc}`, 'e.g. --nproc 2');
  }
  mkdirSync(opts.outDir, { recursive: true });
  const cfgPath = join(opts.outDir, 'torch-config.json');
  writeFileSync(cfgPath, JSON.stringify(opts.config, null, 2) + '\n');
  const stopFile = join(opts.outDir, '.charlm-stop');
  rmSync(stopFile, { force: true });
  // One process per core by default on CPU (torchrun would otherwise set 1 thread and print a warning about it).
  env.OMP_NUM_THREADS ??= String(opts.config.threads || Math.max(1, Math.floor(availableParallelism() / opts.nproc)));
  env.PYTHONUNBUFFERED = '1';
  const command = [py.python, TORCH_SCRIPT, 'torchrun', '--standalone', `--nproc_per_node=${opts.nproc}`, TORCH_SCRIPT, 'train',
    '--config', resolve(cfgPath), '--corpus', resolve(opts.corpusPath), '--corpus-name', opts.corpusName,
    '--out', resolve(opts.outDir), '--stop-file', resolve(stopFile),
    ...(opts.resume ? ['--resume'] : []), ...(opts.initFrom ? ['--init-from', resolve(opts.initFrom)] : []), ...(opts.extraArgs ?? [])];
  const child = spawn(command[0], command.slice(1), { stdio: 'inherit', env, detached: true });
  let stopped = false;
  const done = new Promise<{ code: number; stopped: boolean }>((res, rej) => {
    child.on('error', (e) => rej(new CharlmError('TORCH_LAUNCH_FAILED', `cannot start ${py.python}: ${e.message}`, 'check CHARLM_PYTHON')));
    child.on('exit', (code, sig) => {
      rmSync(stopFile, { force: true });
      res({ code: code ?? (sig ? 128 + 15 : 1), stopped });
    });
  });
  return {
    command,
    done,
    stop() { stopped = true; writeFileSync(stopFile, ''); },
    kill() { try { if (child.pid) process.kill(-child.pid, 'SIGKILL'); } catch { /* already gone */ } },
  };
}

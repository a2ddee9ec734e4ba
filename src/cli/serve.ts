// `charlm serve <model...>`: loads one or more checkpoints and serves the HTTP API and the web page.
// Each model is named by its file's basename without extension, or explicitly as name=path. SIGTERM (or Ctrl-C)
// drains: no new connections or work, in-flight answers and streams finish (up to --timeout), then exit 0.
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { CharlmError } from '../errors.js';
import { createBackend, type BackendName } from '../kernels/registry.js';
import { loadModelFile, type LoadedModel } from '../model/io.js';
import type { CharlmServer } from '../server/index.js';
import { modelNameFromPath } from '../server/context.js';
import { isLoopbackHost } from '../server/guard.js';
import { LOG_LEVELS, type LogLevel } from '../server/app.js';
import { checkPrecision, limitOptions, limitsFrom } from './common.js';

export interface ServeFlags {
  host: string; port: string; backend: string; threads?: string; maxBatch: string; timeout: string;
  requestTimeout?: string; maxConnections?: string; allowedHosts?: string; apiKey?: string;
  maxParams?: number; maxLayers?: number; maxHeaderBytes?: number;
  /** Defaults as on the command line: worker, info; streamInterval: the Batcher's (25). */
  engine?: string; logLevel?: string; streamInterval?: string; precision?: string;
}

const BACKENDS = ['auto', 'native', 'wasm', 'ref', 'webgpu'];

function posInt(flag: string, v: string, max: number): number {
  const n = Number(v);
  if (!/^\d+$/.test(v.trim()) || !Number.isInteger(n) || n < 0 || n > max) {
    throw new CharlmError('BAD_OPTION', `${flag} must be a whole number in [0, ${max}], got "${v}"`, 'see `charlm serve --help`');
  }
  return n;
}

/** "name=path" or "path" → {name, path}. */
export function parseModelArg(arg: string): { name: string; path: string } {
  const eq = arg.indexOf('=');
  // A "=" counts as a name only when the part before it is a plain name (so paths containing "=" still work).
  if (eq > 0 && /^[\w.-]+$/.test(arg.slice(0, eq)) && !existsSync(arg)) return { name: arg.slice(0, eq), path: arg.slice(eq + 1) };
  return { name: modelNameFromPath(arg), path: arg };
}

/** Loads the models and starts listening; prints one line per model and the address. */
export async function runServe(models: string[], flags: ServeFlags): Promise<CharlmServer & { url: string }> {
  if (!BACKENDS.includes(flags.backend)) {
    throw new CharlmError('BAD_OPTION', `--backend must be one of ${BACKENDS.join(', ')}, got "${flags.backend}"`, 'use --backend auto');
  }
  const port = posInt('--port', flags.port, 65535);
  const threads = flags.threads === undefined ? undefined : posInt('--threads', flags.threads, 1024);
  const maxBatch = Math.max(1, posInt('--max-batch', flags.maxBatch, 4096));
  const timeoutS = Math.max(1, posInt('--timeout', flags.timeout, 86400));
  const receiveS = Math.max(1, posInt('--request-timeout', flags.requestTimeout ?? '30', 86400));
  const maxConnections = Math.max(1, posInt('--max-connections', flags.maxConnections ?? '1024', 1_000_000));
  const streamMs = flags.streamInterval === undefined ? undefined : posInt('--stream-interval', flags.streamInterval, 10_000);
  const apiKey = flags.apiKey ?? process.env.CHARLM_API_KEY ?? undefined;
  if (apiKey !== undefined && apiKey.trim().length < 8) {
    throw new CharlmError('BAD_OPTION', 'the API key (--api-key or CHARLM_API_KEY) must be at least 8 characters', 'e.g. --api-key "$(openssl rand -hex 16)"');
  }
  const logLevel = flags.logLevel ?? 'info', engine = flags.engine ?? 'worker';
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new CharlmError('BAD_OPTION', `--log-level must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`, 'use --log-level info');
  }
  if (engine !== 'worker' && engine !== 'inline') {
    throw new CharlmError('BAD_OPTION', `--engine must be worker or inline, got "${engine}"`, 'use --engine worker');
  }
  const allowedHosts = flags.allowedHosts?.split(',').map((h) => h.trim()).filter(Boolean);
  const precision = checkPrecision(flags.precision ?? 'fp32');
  const backend = await createBackend(flags.backend as BackendName, { threads, precision });
  const loaded: { name: string; loaded: LoadedModel }[] = [];
  for (const arg of models) {
    const { name, path } = parseModelArg(arg);
    if (loaded.some((m) => m.name === name)) {
      throw new CharlmError('BAD_OPTION', `two models are named "${name}"`, 'name them apart with name=path');
    }
    loaded.push({ name, loaded: loadModelFile(path, backend, limitsFrom(flags as unknown as Record<string, unknown>)) });
  }
  let server: CharlmServer & { url: string };
  // Imported here, not at the top: fastify and its dependencies cost every other command ~0.3 s of start-up.
  const { startServer } = await import('../server/index.js');
  try {
    server = await startServer({ models: loaded, host: flags.host, port,
      limits: { maxBatch, requestTimeoutMs: timeoutS * 1000, receiveTimeoutMs: receiveS * 1000, maxConnections },
      guard: { allowedHosts, apiKey: apiKey?.trim() }, engine, threads, logLevel: logLevel as LogLevel,
      batcher: streamMs === undefined ? {} : { streamMs } });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new CharlmError('LISTEN_FAILED', `cannot listen on ${flags.host}:${port} (${code})`,
        code === 'EADDRINUSE' ? 'another program uses that port; pick one with --port' : 'check --host and --port');
    }
    throw e;
  }
  for (const m of loaded) {
    console.log(`charlm: model "${m.name}" — ${m.loaded.model.describe().summary}, ${m.loaded.model.params.size.toLocaleString('en-US')} parameters, ` +
      `${m.loaded.vocab.size} characters (${backend.name} backend)`);
  }
  console.log(`charlm: serving on ${server.url}  (page: ${server.url}/, API: POST ${server.url}/v1/generate)`);
  if (!isLoopbackHost(flags.host) && !apiKey) {
    process.stderr.write(`charlm: warning: listening on ${flags.host}, beyond this machine, without an API key: anyone who can reach ` +
      'the port can use the models; set --api-key (or CHARLM_API_KEY), and --allowed-hosts for the names clients use\n');
  }
  return server;
}

export function register(program: Command): void {
  const cmd = program.command('serve')
    .description('serve models over HTTP: a JSON/SSE API (/v1/generate, /v1/next, /v1/models) and a web page at /')
    .argument('<model...>', 'checkpoint files (.safetensors); name one with name=path')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', '8080')
    .option('--backend <name>', 'compute backend: auto, native, wasm, ref or webgpu', 'auto')
    .option('--threads <n>', 'threads for the native backend')
    .option('--precision <p>', 'fp32 | bf16 (native: weights and inputs rounded to bf16, fp32 sums; half the weight bytes, faster at batch 1)', 'fp32')
    .option('--max-batch <n>', 'most sequences stepped together (1 = no batching)', '64')
    .option('--log-level <level>', 'JSON request logs on stdout: fatal, error, warn, info, debug, trace or silent', 'info')
    .option('--stream-interval <ms>', 'how often streamed text is written to each client, in milliseconds (a sample\'s first characters and its end go out at once; 0 = after every slice of model steps)', '25')
    .option('--engine <kind>', 'where model steps run: worker (a thread per model; HTTP overlaps compute) or inline', 'worker')
    .option('--timeout <s>', 'longest generation per request (and the drain on SIGTERM), in seconds', '60')
    .option('--request-timeout <s>', 'longest time to receive a request (headers and body), in seconds', '30')
    .option('--max-connections <n>', 'most open connections', '1024')
    .option('--allowed-hosts <list>', 'more host names the Host header may carry (comma-separated; * = any); default: the bound address and localhost')
    .option('--api-key <key>', 'require "Authorization: Bearer <key>" on /v1/* (default: $CHARLM_API_KEY)');
  limitOptions(cmd).action(async (models: string[], flags: ServeFlags) => {
      const server = await runServe(models, flags);
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) process.exit(1); // a second signal: now
        stopping = true;
        const s = Number(flags.timeout) || 60;
        process.stderr.write(`charlm: ${sig}: finishing in-flight requests (up to ${s} s), then exiting\n`);
        void server.drain(s * 1000).then((left) => {
          if (left) process.stderr.write(`charlm: cancelled ${left} request(s) still running at the deadline\n`);
          process.exit(0);
        });
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}

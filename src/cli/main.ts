// The `charlm` command: parses argv with commander and hands each command to its module in this folder.
// User errors (CharlmError) print one line with a hint and exit non-zero; never a stack trace unless CHARLM_DEBUG=1.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { isCharlmError, formatError } from '../errors.js';
import * as train from './train.js';
import * as sample from './sample.js';
import * as evalCmd from './eval.js';
import * as info from './info.js';
import * as demo from './demo.js';

const COMMANDS: { register(p: Command): void }[] = [train, sample, evalCmd, info, demo];
/** Commands in their own modules that may be absent in a partial build; loaded if present. */
const OPTIONAL = ['./bench.js', './serve.js', './import.js', './export.js', './report.js', './cache.js'];

function version(): string {
  try { return JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version; } catch { return '0'; }
}

function fail(e: unknown): never {
  if (isCharlmError(e)) {
    process.stderr.write(formatError(e) + '\n');
    process.exit(e.code === 'BAD_OPTION' ? 2 : 1);
  }
  if (e instanceof CommanderError) process.exit(e.exitCode);
  const err = e as Error;
  if (process.env.CHARLM_DEBUG) process.stderr.write(`${err?.stack ?? String(e)}\n`);
  else process.stderr.write(`charlm: internal error: ${err?.message ?? String(e)} (hint: rerun with CHARLM_DEBUG=1 for details and report it)\n`);
  process.exit(70);
}

async function main(): Promise<void> {
  const program = new Command('charlm')
    .description('character-level language models (LSTM, GRU, RNN): train, sample, evaluate, serve')
    .version(version())
    .showSuggestionAfterError()
    .configureOutput({
      outputError: (str, write) => write(`charlm: ${str.replace(/^error: /, '').trim().replace(/\s*\n\s*/g, ' ')} (hint: charlm --help lists the commands; charlm <command> --help their options)\n`),
    })
    .exitOverride((err) => {
      process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help' ? 0 : 2);
    });
  for (const c of COMMANDS) c.register(program);
  for (const m of OPTIONAL) {
    const mod = await import(m).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes(m.slice(2))) return null;
      throw e;
    });
    if (mod?.register) mod.register(program);
  }
  await program.parseAsync(process.argv);
}

process.on('unhandledRejection', fail);
main().catch(fail);

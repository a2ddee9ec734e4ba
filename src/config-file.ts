// Reads a --config JSON file (Node only: kept out of config.ts so the browser entry never reaches node:fs).
import { readFileSync } from 'node:fs';
import { CharlmError } from './errors.js';

export function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try { text = readFileSync(path, 'utf8'); } catch (e) {
    throw new CharlmError('FILE_NOT_FOUND', `cannot read config file ${path}: ${(e as NodeJS.ErrnoException).code ?? e}`, 'check the --config path');
  }
  let obj: unknown;
  try { obj = JSON.parse(text); } catch (e) {
    throw new CharlmError('BAD_CONFIG_FILE', `config file ${path} is not valid JSON: ${(e as Error).message}`, 'fix the JSON syntax');
  }
  if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
    throw new CharlmError('BAD_CONFIG_FILE', `config file ${path} must hold a JSON object`, 'e.g. {"hidden-size": 256}');
  }
  return obj as Record<string, unknown>;
}

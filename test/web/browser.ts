// Shared by the browser-page tests: Debian's Chromium driven by playwright-core (skipped, saying why, when it is
// absent), the charlm CLI as a user runs it, and a page watcher that collects errors and outside requests.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ROOT } from '../helpers.js';
import { skipWithout } from '../skips.js';

export const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export const skipNoChromium = () => skipWithout('chromium', !existsSync(CHROMIUM) && `${CHROMIUM} is absent`);

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: ARGS });
}

/** Page errors, console errors and requests outside `origin` (none are expected: nothing is fetched from elsewhere). */
export function watch(page: Page, origin: string): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('request', (r) => {
    if (!r.url().startsWith(origin) && !/^(data|blob):/.test(r.url())) problems.push(`outside request: ${r.url()}`);
  });
  return problems;
}

export function charlm(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'charlm.js'), ...args],
                      { encoding: 'utf8', env: { ...process.env, CHARLM_QUIET_NATIVE: '1' }, timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * The charlm CLI on the engine a page says it computes with (its `backend: …` note), so that Node and the page run
 * the same kernels and their greedy and seeded outputs compare exactly: the wasm backend's relaxed-SIMD build (Node 20
 * validates relaxed SIMD only behind a V8 flag), its SIMD128 build, or ref.
 */
export function charlmLikePage(note: string, args: string[]): { code: number | null; out: string; err: string } {
  const relaxed = /relaxed SIMD/.test(note), simd128 = /SIMD128/.test(note);
  if (!relaxed && !simd128 && !/\bref\b/.test(note)) throw new Error(`unknown page backend: ${note}`);
  const r = spawnSync(process.execPath, [...(relaxed ? ['--experimental-wasm-relaxed-simd'] : []), join(ROOT, 'bin', 'charlm.js'),
                                         ...args, '--backend', relaxed || simd128 ? 'wasm' : 'ref'],
                      { encoding: 'utf8', env: { ...process.env, CHARLM_QUIET_NATIVE: '1', ...(simd128 ? { CHARLM_WASM_SIMD: 'simd128' } : {}) },
                        timeout: 120_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

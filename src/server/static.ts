// Serves the browser page (web/index.html, app.js, style.css) at /. A fixed list of files, read on request,
// so there is no path to traverse and no build step; the page needs nothing but this server.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { HttpError } from './httperror.js';

/** src/server or dist/server → the package's web/ folder. */
export const DEFAULT_WEB_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');

const FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};

export function registerStatic(app: FastifyInstance, webDir: string): void {
  for (const [url, [file, type]] of Object.entries(FILES)) {
    app.get(url, async (_req, reply) => {
      let body: Buffer;
      try {
        body = await readFile(join(webDir, file));
      } catch {
        throw new HttpError(404, 'NOT_FOUND', `the page file ${file} is missing from ${webDir}`);
      }
      return reply.header('content-type', type).header('cache-control', 'no-cache')
        .header('x-content-type-options', 'nosniff').send(body);
    });
  }
}

// Who may talk to the server, checked before routing: the Host header must name this server (DNS-rebinding
// defence: a page on evil.example that resolves to 127.0.0.1 still sends Host: evil.example), the API routes need
// `Authorization: Bearer <key>` when an API key is set, and a draining server refuses new work.
import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { HttpError } from './httperror.js';

export interface GuardOptions {
  /** The address the server listens on ('' or a wildcard: every local address and the machine's name count). */
  boundHost?: string;
  /** More host names (or IPs) the Host header may carry; '*' turns the check off. */
  allowedHosts?: string[];
  /** When set, /v1/* needs `Authorization: Bearer <apiKey>`. */
  apiKey?: string;
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const WILDCARDS = ['', '0.0.0.0', '::', '[::]'];

/** "Example.COM.:8080" → "example.com"; "[::1]:80" → "::1". */
export function hostName(header: string): string {
  let h = header.trim().toLowerCase();
  if (h.startsWith('[')) h = h.slice(1, h.indexOf(']') >= 0 ? h.indexOf(']') : undefined);
  else if (h.split(':').length === 2) h = h.slice(0, h.indexOf(':')); // name:port (an IPv6 literal has several colons)
  return h.replace(/\.$/, '');
}

export function isLoopbackHost(host: string): boolean {
  const h = hostName(host);
  return h === 'localhost' || h.endsWith('.localhost') || h === '::1' || /^127\.\d+\.\d+\.\d+$/.test(h);
}

/** The set of names the Host header may carry, or null when any is allowed. */
export function allowedHostSet(opts: GuardOptions): Set<string> | null {
  const extra = (opts.allowedHosts ?? []).map((h) => h.trim()).filter(Boolean);
  if (extra.includes('*')) return null;
  const set = new Set([...LOOPBACK_NAMES, ...extra.map(hostName)]);
  const bound = opts.boundHost ?? '';
  if (WILDCARDS.includes(bound)) {
    set.add(hostName(hostname()));
    for (const list of Object.values(networkInterfaces())) for (const a of list ?? []) set.add(hostName(a.address));
  } else {
    set.add(hostName(bound));
  }
  return set;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** An onRequest hook enforcing the Host check, the API key and draining. */
export function guardHook(opts: GuardOptions, draining: () => boolean) {
  const hosts = allowedHostSet(opts);
  const key = opts.apiKey ? digest(opts.apiKey) : null;
  return async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
    const host = req.headers.host;
    if (hosts && host !== undefined && !hosts.has(hostName(host))) {
      throw new HttpError(403, 'HOST_NOT_ALLOWED',
        `Host "${host.slice(0, 100)}" is not this server's; start it with --allowed-hosts ${hostName(host).slice(0, 100)} to accept it`);
    }
    const api = req.url.startsWith('/v1/');
    if (api && key) {
      const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
      if (!m || !timingSafeEqual(digest(m[1].trim()), key)) {
        void reply.header('www-authenticate', 'Bearer');
        throw new HttpError(401, 'UNAUTHORIZED', 'this server needs an API key: send the header "Authorization: Bearer <key>"');
      }
    }
    if (api && draining()) {
      void reply.header('connection', 'close');
      throw new HttpError(503, 'SHUTTING_DOWN', 'the server is shutting down; retry on another instance or later');
    }
  };
}

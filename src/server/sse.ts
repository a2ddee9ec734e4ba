// Server-Sent Events over a raw Node response: `event: <name>\ndata: <json>\n\n`. Writes after the client has
// gone are dropped, so callers need not check.
import type { ServerResponse } from 'node:http';

export class SseStream {
  constructor(private readonly res: ServerResponse) {}

  open(): void {
    this.res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  get closed(): boolean { return this.res.destroyed || this.res.writableEnded; }

  event(name: string, data: unknown): void {
    if (this.closed) return;
    this.res.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (!this.closed) this.res.end();
  }
}

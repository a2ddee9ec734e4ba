// Server-Sent Events over a raw Node response: `event: <name>\ndata: <json>\n\n`. Writes after the client has
// gone are dropped, so callers need not check. Backpressure: when the socket stops taking data (write() returns
// false) `onBlocked` runs, and `onDrain` once it takes data again, so the caller can pause its sequences; a client
// whose unread data still passes `maxBufferBytes` is dropped. Events queued in one synchronous run (a batcher slice,
// or one message from the model worker) go out in a single write, after it.
import type { ServerResponse } from 'node:http';

export class SseStream {
  private blocked = false;
  private pending = '';
  onBlocked: () => void = () => {};
  onDrain: () => void = () => {};

  constructor(private readonly res: ServerResponse, private readonly maxBufferBytes = 1 << 20) {
    res.on('drain', () => {
      if (!this.blocked) return;
      this.blocked = false;
      this.onDrain();
    });
  }

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
    this.raw(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Queues already-formatted SSE text (e.g. `data: ...\n\n`) for the next write. */
  raw(text: string): void {
    if (this.closed) return;
    if (this.pending === '') queueMicrotask(() => this.write());
    this.pending += text;
  }

  private write(): void {
    const text = this.pending;
    this.pending = '';
    if (this.closed || text === '') return;
    const ok = this.res.write(text);
    if (this.res.writableLength > this.maxBufferBytes) {
      this.res.destroy(); // a consumer that stopped reading: drop it ('close' cancels its work)
      return;
    }
    if (!ok && !this.blocked) {
      this.blocked = true;
      this.onBlocked();
    }
  }

  end(): void {
    this.write();
    if (!this.closed) this.res.end();
  }
}

// The server's public surface: createServer/startServer, the limits, and the batcher (for benchmarks).
export { createServer, startServer, type CharlmServer, type ServerOptions } from './app.js';
export { DEFAULT_LIMITS, resolveLimits, type Limits } from './limits.js';
export { Batcher, type BatchStats, type BatcherOptions } from './batcher.js';
export { modelNameFromPath } from './context.js';

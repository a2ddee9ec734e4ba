// What the in-browser pages accept. A tab has far less memory than a Node process (about 4 GiB of heap on 64-bit
// Chromium, shared with the page), so the limits are stated and checked before anything large is read.
// 32 MiB of text holds as at most 64 MiB of UTF-16 string plus 32 MiB of tokens: comfortable in any tab.

/** Largest text file the page trains on (bytes). Tiny Shakespeare is 1.1 MB; enwik8 would be 95 MB. */
export const MAX_TEXT_BYTES = 32 * 2 ** 20;
/** Largest checkpoint the page loads (bytes): ~33 M float32 parameters. */
export const MAX_CHECKPOINT_BYTES = 128 * 2 ** 20;
/** The presets the page offers (config.ts): web-* train in seconds to minutes even on plain TypeScript; tiny and
 * gpt-tiny are minutes on the wasm backend. */
export const WEB_PRESETS = ['web-rnn', 'web-gpt', 'tiny', 'gpt-tiny'] as const;
export const WEB_MAX_STEPS = 20_000;
export const WEB_MAX_SAMPLE = 5_000;

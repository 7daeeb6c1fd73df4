/**
 * Task keys, chosen by the client: `<name>-<32 hex random>`, or for pure tasks
 * `<name>-<first 32 hex of sha256(fn id, args bytes)>` so identical calls share a key.
 * Random bytes come from a pooled buffer: one `randomFillSync` per 256 keys.
 */
import { createHash, randomFillSync } from "node:crypto";

const POOL_KEYS = 256;
const pool = Buffer.alloc(16 * POOL_KEYS);
let next = POOL_KEYS;

export function randomHex32(): string {
  if (next === POOL_KEYS) {
    randomFillSync(pool);
    next = 0;
  }
  const start = 16 * next++;
  return pool.toString("hex", start, start + 16);
}

export function randomKey(prefix: string): string {
  return `${prefix}-${randomHex32()}`;
}

export function pureKey(prefix: string, fnId: string, args: Uint8Array): string {
  const hash = createHash("sha256").update(fnId).update("\0").update(args).digest("hex");
  return `${prefix}-${hash.slice(0, 32)}`;
}

export function contentKey(prefix: string, data: Uint8Array): string {
  return `${prefix}-${createHash("sha256").update(data).digest("hex").slice(0, 32)}`;
}

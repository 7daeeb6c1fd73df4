/**
 * A display that a tslab notebook updates in place (tslab's `newDisplay()`), found without
 * depending on tslab: when the kernel runs this process, tslab's modules are in the
 * CommonJS module cache, and its public module gives one display entry per call that each
 * `html(...)` overwrites.
 */
import { createRequire } from "node:module";

export interface UpdatableDisplay {
  html(s: string): void;
}

const JUPYTER_MODULE = /[\\/]tslab[\\/]dist[\\/]jupyter\.js$/;

type WriteDisplayData = (
  content: { data: Record<string, unknown>; metadata: object; transient: object },
  update: boolean,
) => void;

/** tslab's kernel module and its path, when this process is a tslab kernel running a cell. */
function tslabKernel(): { path: string; write: WriteDisplayData } | undefined {
  const require = createRequire(import.meta.url);
  const path = Object.keys(require.cache).find((p) => JUPYTER_MODULE.test(p));
  if (path === undefined) return undefined;
  const jupyter = require.cache[path]?.exports as { lastWriteDisplayData?: unknown } | undefined;
  const write = jupyter?.lastWriteDisplayData;
  return typeof write === "function" ? { path, write: write as WriteDisplayData } : undefined;
}

/** tslab's newDisplay() when this process is a tslab kernel running a cell, else undefined. */
export function tslabDisplay(): UpdatableDisplay | undefined {
  const kernel = tslabKernel();
  if (kernel === undefined) return undefined;
  try {
    const tslab = createRequire(kernel.path)("./public.js") as {
      newDisplay?: () => UpdatableDisplay;
    };
    return typeof tslab.newDisplay === "function" ? tslab.newDisplay() : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Shows one output with several representations (a MIME bundle, e.g. a Vega-Lite spec
 * plus its text/plain fallback) in the running tslab cell. tslab's own `display.raw`
 * sends one MIME type only; the kernel's writer takes a whole bundle. False outside a
 * tslab kernel.
 */
export function tslabShowBundle(data: Record<string, unknown>): boolean {
  const kernel = tslabKernel();
  if (kernel === undefined) return false;
  kernel.write({ data, metadata: {}, transient: {} }, false);
  return true;
}

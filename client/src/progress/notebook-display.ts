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

/** tslab's newDisplay() when this process is a tslab kernel running a cell, else undefined. */
export function tslabDisplay(): UpdatableDisplay | undefined {
  const require = createRequire(import.meta.url);
  const loaded = Object.keys(require.cache).find((path) => JUPYTER_MODULE.test(path));
  if (loaded === undefined) return undefined;
  try {
    const jupyter = require.cache[loaded]?.exports as { lastWriteDisplayData?: unknown };
    if (typeof jupyter?.lastWriteDisplayData !== "function") return undefined;
    const tslab = createRequire(loaded)("./public.js") as { newDisplay?: () => UpdatableDisplay };
    return typeof tslab.newDisplay === "function" ? tslab.newDisplay() : undefined;
  } catch {
    return undefined;
  }
}

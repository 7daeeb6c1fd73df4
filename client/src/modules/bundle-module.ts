/**
 * Bundles a TypeScript/JavaScript file and everything it imports into one ES module for
 * the workers (esbuild: platform node, format esm; Node built-ins stay imports). The
 * bundle is content-addressed by the sha256 of its code.
 */
import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { basename, resolve } from "node:path";
import { build, type Message } from "esbuild";
import { LaunchbayError } from "../errors.js";

export interface ModuleBundle {
  /** sha256 hex of `code`. */
  hash: string;
  /** File name, for the dashboard and error messages. */
  name: string;
  code: string;
  /** Names the module exports. */
  exports: string[];
}

// CommonJS dependencies bundled into ESM may call require() for Node built-ins.
const BANNER =
  'import { createRequire as __launchbayCreateRequire } from "node:module";\nconst require = __launchbayCreateRequire(import.meta.url);';

/**
 * The export that runs a collection step (a task function composed by the collections,
 * as source) against this module's exports: `$lb_module` in the step's source is the
 * module's own namespace (a module importing itself gets its evaluated namespace).
 * Evaluated steps are cached by source. See collections/module-steps.ts.
 */
export const STEP_RUNNER_EXPORT = "__launchbay_step";
const FOOTER = `const __launchbay_steps = new Map();
export async function ${STEP_RUNNER_EXPORT}(source, ...args) {
  let step = __launchbay_steps.get(source);
  if (step === undefined) {
    const self = await import(import.meta.url);
    step = new Function("$lb_module", "return (" + source + "\\n);")(self);
    if (__launchbay_steps.size >= 500) __launchbay_steps.delete(__launchbay_steps.keys().next().value);
    __launchbay_steps.set(source, step);
  }
  return step(...args);
}`;

export async function bundleModule(path: string, cwd = process.cwd()): Promise<ModuleBundle> {
  const entry = resolve(cwd, path);
  if (!existsSync(entry)) {
    throw new LaunchbayError(
      "module-bundle-failed",
      `cannot ship module ${path}: ${entry} does not exist (relative paths are resolved against ${cwd})`,
    );
  }
  let result: Awaited<ReturnType<typeof build>>;
  try {
    result = await build({
      entryPoints: [entry],
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      write: false,
      metafile: true,
      logLevel: "silent",
      banner: { js: BANNER },
      footer: { js: FOOTER },
      outfile: "module.mjs",
    });
  } catch (error) {
    const errors = (error as { errors?: Message[] }).errors ?? [];
    const detail = errors.length
      ? errors
          .slice(0, 5)
          .map(
            (m) =>
              `${m.location ? `${m.location.file}:${m.location.line}:${m.location.column}: ` : ""}${m.text}`,
          )
          .join("\n  ")
      : (error as Error).message;
    throw new LaunchbayError("module-bundle-failed", `cannot bundle ${path}:\n  ${detail}`, {
      cause: error,
    });
  }
  const output = result.outputFiles?.[0];
  if (!output)
    throw new LaunchbayError("module-bundle-failed", `bundling ${path} produced no output`);
  const code = output.text;
  const meta = Object.values(result.metafile?.outputs ?? {})[0];
  return {
    hash: createHash("sha256").update(code).digest("hex"),
    name: basename(entry),
    code,
    exports: (meta?.exports ?? []).filter((name) => name !== STEP_RUNNER_EXPORT),
  };
}

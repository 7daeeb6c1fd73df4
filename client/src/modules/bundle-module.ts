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
    exports: meta?.exports ?? [],
  };
}

/**
 * Builds the task functions collections submit: a named `function` whose body is
 * generated code, with the user functions and kernels it needs bound as constants at its
 * top. The function object comes from `new Function("return (" + source + ")")()`, so
 * `client.submit` ships exactly that source (free-variable check, content-addressed id:
 * the same pipeline twice is defined on the workers once).
 */
import type { ModuleRef } from "../shipping/shipped-function.js";
import { CollectionError } from "./errors.js";
import type { UserFunction } from "./user-function.js";

export interface TaskFunction {
  /** The function's name: the prefix of its task keys, shown on the dashboard. */
  readonly name: string;
  readonly source: string;
  readonly fn: (...args: unknown[]) => unknown;
  /**
   * The uploaded module whose exports the source reads from `$lb_module`: the task then
   * runs through that module (module-steps.ts) instead of being shipped as source.
   */
  readonly module?: ModuleRef;
}

/** `const <name> = (<source>);` at the top of a task function. */
export interface Binding {
  readonly name: string;
  readonly source: string;
  /** The uploaded module the source reads from (`$lb_module[...]`), if any. */
  readonly module?: ModuleRef;
}

export interface TaskSpec {
  /** Becomes an identifier: anything but word characters turns into `_`. */
  name: string;
  params: readonly string[];
  bindings: readonly Binding[];
  /** Statements; may `await` (the function is then async). */
  body: string;
}

const IDENTIFIER_CHARS = /[^\w$]+/g;
const MAX_CACHED = 500;
const cache = new Map<string, TaskFunction>();

export function taskName(...parts: string[]): string {
  const name = parts
    .filter((p) => p !== "")
    .join("_")
    .replace(IDENTIFIER_CHARS, "_")
    .slice(0, 60);
  return /^[A-Za-z_$]/.test(name) ? name : `lb_${name}`;
}

/** Composes (or returns the cached) task function for `spec`. */
export function composeTask(spec: TaskSpec): TaskFunction {
  const name = taskName(spec.name);
  const seen = new Set<string>();
  const lines: string[] = [];
  let module: ModuleRef | undefined;
  for (const binding of spec.bindings) {
    if (seen.has(binding.name)) continue;
    seen.add(binding.name);
    lines.push(`  const ${binding.name} = (${binding.source}\n  );`);
    if (binding.module && module && binding.module.hash !== module.hash) {
      throw new CollectionError(
        "invalid-argument",
        `one step of this collection uses functions of two uploaded modules (${module.name} and ` +
          `${binding.module.name}), but a step runs inside one module: export the functions it ` +
          'needs from one module (re-export them: export { f } from "./other.js"), or persist() ' +
          "between the steps",
      );
    }
    module ??= binding.module;
  }
  const asyncPrefix = /\bawait\b/.test(spec.body) ? "async " : "";
  const source = `${asyncPrefix}function ${name}(${spec.params.join(", ")}) {\n${lines.join("\n")}\n${spec.body}\n}`;
  // The same source reads other exports in another module: the module is part of the key.
  const cacheKey = module ? `${module.hash}\n${source}` : source;
  let task = cache.get(cacheKey);
  if (task === undefined) {
    // The source is ours plus user functions that passed the free-variable check.
    const fn = new Function(`return (${source}\n);`)() as (...args: unknown[]) => unknown;
    task = module ? { name, source, fn, module } : { name, source, fn };
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
    cache.set(cacheKey, task);
  }
  return task;
}

/**
 * Binds a user function under `name`, keeping its own name for stack traces: an
 * anonymous arrow `(x) => ...` assigned to `parse` in the notebook stays `parse`.
 */
export function userBinding(name: string, fn: UserFunction): Binding {
  const module = fn.module ? { module: fn.module } : {};
  if (fn.name === "" || fn.name === "task" || fn.module)
    return { name, source: fn.source, ...module };
  const key = JSON.stringify(fn.name);
  return { name, source: `{ ${key}: (${fn.source}\n) }[${key}]` };
}

/** Binds a kernel (a self-contained helper from kernels.ts) under its own name. */
export function kernelBinding(kernel: (...args: never[]) => unknown): Binding {
  return { name: kernel.name, source: Function.prototype.toString.call(kernel) };
}

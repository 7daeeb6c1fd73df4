/**
 * Builds the task functions collections submit: a named `function` whose body is
 * generated code, with the user functions and kernels it needs bound as constants at its
 * top. The function object comes from `new Function("return (" + source + ")")()`, so
 * `client.submit` ships exactly that source (free-variable check, content-addressed id:
 * the same pipeline twice is defined on the workers once).
 */
import type { UserFunction } from "./user-function.js";

export interface TaskFunction {
  /** The function's name: the prefix of its task keys, shown on the dashboard. */
  readonly name: string;
  readonly source: string;
  readonly fn: (...args: unknown[]) => unknown;
}

/** `const <name> = (<source>);` at the top of a task function. */
export interface Binding {
  readonly name: string;
  readonly source: string;
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
  for (const binding of spec.bindings) {
    if (seen.has(binding.name)) continue;
    seen.add(binding.name);
    lines.push(`  const ${binding.name} = (${binding.source}\n  );`);
  }
  const asyncPrefix = /\bawait\b/.test(spec.body) ? "async " : "";
  const source = `${asyncPrefix}function ${name}(${spec.params.join(", ")}) {\n${lines.join("\n")}\n${spec.body}\n}`;
  let task = cache.get(source);
  if (task === undefined) {
    // The source is ours plus user functions that passed the free-variable check.
    const fn = new Function(`return (${source}\n);`)() as (...args: unknown[]) => unknown;
    task = { name, source, fn };
    if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
    cache.set(source, task);
  }
  return task;
}

/**
 * Binds a user function under `name`, keeping its own name for stack traces: an
 * anonymous arrow `(x) => ...` assigned to `parse` in the notebook stays `parse`.
 */
export function userBinding(name: string, fn: UserFunction): Binding {
  if (fn.name === "" || fn.name === "task") return { name, source: fn.source };
  const key = JSON.stringify(fn.name);
  return { name, source: `{ ${key}: (${fn.source}\n) }[${key}]` };
}

/** Binds a kernel (a self-contained helper from kernels.ts) under its own name. */
export function kernelBinding(kernel: (...args: never[]) => unknown): Binding {
  return { name: kernel.name, source: Function.prototype.toString.call(kernel) };
}

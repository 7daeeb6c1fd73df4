/**
 * Collection steps that use functions of an uploaded module. A step's task function is
 * composed as source; an export of a module has no source, so such a step runs through the
 * module itself: every bundle exports a small runner (`STEP_RUNNER_EXPORT`, see
 * bundle-module.ts) that evaluates the step's source with `$lb_module` bound to the module's
 * namespace. The task runs `mod:<hash>#<runner>` with the step's source as first argument,
 * so the scheduler ships the module to the worker as for `client.submit(mod.fn(...))`.
 */
import { STEP_RUNNER_EXPORT } from "../modules/bundle-module.js";
import {
  keyPrefix,
  MODULE_FUNCTION,
  type ModuleRef,
  type ShippedFunction,
} from "../shipping/shipped-function.js";
import type { Binding, TaskFunction } from "./compose.js";
import type { UserFunction } from "./user-function.js";

const standIns = new WeakMap<TaskFunction, (...args: unknown[]) => unknown>();

/**
 * A function `client.submit` ships as the module's step runner, with task keys named after
 * the step; submit it with the step's source before the step's own arguments.
 */
export function moduleStepFunction(
  task: TaskFunction,
  module: ModuleRef,
): (...args: unknown[]) => unknown {
  let fn = standIns.get(task);
  if (fn === undefined) {
    const id = `mod:${module.hash}#${STEP_RUNNER_EXPORT}`;
    const shipped: ShippedFunction = {
      id,
      keyPrefix: keyPrefix(task.name),
      definition: {
        type: "define-function",
        id,
        name: `${module.name} step`,
        module: { hash: module.hash, export: STEP_RUNNER_EXPORT },
      },
      module,
    };
    fn = () => {
      throw new Error(`${task.name} runs on the workers, through module ${module.name}`);
    };
    Object.defineProperty(fn, "name", { value: task.name });
    Object.defineProperty(fn, MODULE_FUNCTION, { value: shipped });
    standIns.set(task, fn);
  }
  return fn;
}

/**
 * Whether a step using `next` must start a new task after the steps using `fns`: fused
 * steps run inside one module, so functions of two different modules need a boundary.
 */
export function needsModuleBoundary(
  fns: readonly (UserFunction | undefined)[],
  next: UserFunction | undefined,
): boolean {
  const module = next?.module;
  if (module === undefined) return false;
  return fns.some((fn) => fn?.module !== undefined && fn.module.hash !== module.hash);
}

/** The modules whose functions `bindings` read (at most one in a composable step). */
export function bindingModules(bindings: readonly Binding[]): string[] {
  return [...new Set(bindings.flatMap((b) => (b.module ? [b.module.hash] : [])))];
}

/**
 * A module uploaded to the cluster. Its exports are handed out as stand-in functions that
 * `submit`/`map` recognise: the task runs the export on the worker (`mod:<hash>#<name>`),
 * never the stand-in's own body.
 */
import { LaunchbayError } from "../errors.js";
import {
  keyPrefix,
  MODULE_FUNCTION,
  type ModuleRef,
  type ShippedFunction,
} from "../shipping/shipped-function.js";
import type { ModuleBundle } from "./bundle-module.js";

// biome-ignore lint/suspicious/noExplicitAny: matches any function signature, as `Parameters` does
type AnyFunction = (...args: any[]) => unknown;

/** The functions a module exports, typed from `typeof import("./module.js")`. */
export type ModuleFunctions<M> = {
  readonly [K in keyof M as M[K] extends AnyFunction ? K : never]: M[K];
};

export class RemoteModule<M = Record<string, AnyFunction>> {
  readonly hash: string;
  readonly name: string;
  /** Names the module exports. */
  readonly exportNames: readonly string[];
  /** @internal */
  readonly ref: ModuleRef;
  readonly #functions = new Map<string, AnyFunction>();

  /** @internal Created by `client.uploadModule()`. */
  constructor(bundle: ModuleBundle) {
    this.hash = bundle.hash;
    this.name = bundle.name;
    this.exportNames = bundle.exports;
    this.ref = { hash: bundle.hash, name: bundle.name, code: bundle.code };
  }

  /** A stand-in for the export `name`, to pass to `client.submit`/`client.map`. */
  fn<F extends AnyFunction = AnyFunction>(name: string): F {
    let fn = this.#functions.get(name);
    if (!fn) {
      if (!this.exportNames.includes(name)) {
        throw new LaunchbayError(
          "unknown-export",
          `module ${this.name} has no export named ${JSON.stringify(name)}; it exports: ${this.exportNames.join(", ") || "nothing"}`,
        );
      }
      fn = standIn(this.ref, name);
      this.#functions.set(name, fn);
    }
    return fn as F;
  }

  /** Every exported function by name: `mod.functions.slowAdd` (typed when uploadModule was given the module's type). */
  get functions(): ModuleFunctions<M> {
    const functions: Record<string, AnyFunction> = {};
    for (const name of this.exportNames) functions[name] = this.fn(name);
    return functions as ModuleFunctions<M>;
  }
}

function standIn(module: ModuleRef, exportName: string): AnyFunction {
  const id = `mod:${module.hash}#${exportName}`;
  const shipped: ShippedFunction = {
    id,
    keyPrefix: keyPrefix(exportName),
    definition: {
      type: "define-function",
      id,
      name: exportName,
      module: { hash: module.hash, export: exportName },
    },
    module,
  };
  const fn = () => {
    throw new LaunchbayError(
      "unsupported-function",
      `${exportName} from module ${module.name} runs on the workers: call it through client.submit() or client.map()`,
    );
  };
  Object.defineProperty(fn, "name", { value: exportName });
  Object.defineProperty(fn, MODULE_FUNCTION, { value: shipped });
  return fn;
}

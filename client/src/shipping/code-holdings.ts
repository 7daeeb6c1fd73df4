/**
 * The functions and modules this client holds at the scheduler. The scheduler keeps a
 * shipped function while a client holds it or a task uses it, within a byte budget; so the
 * client holds a function while it holds a key of a task that runs it, and a module while
 * one of its functions is held or its `RemoteModule` is reachable. When the last one
 * goes, the client sends `release-code` (batched with `release-keys`); using the function
 * again sends its definition again. Pure: no sockets or timers.
 */
import type { KeyState } from "../futures/key-state.js";
import type { ModuleRef, ShippedFunction } from "./shipped-function.js";

interface FunctionHold {
  readonly shipped: ShippedFunction;
  /** Keys of this client's tasks that run it. */
  keys: number;
  /** Its definition went to the scheduler in this session (and was not refused since). */
  sent: boolean;
}

interface ModuleHold {
  readonly ref: ModuleRef;
  /** Held functions that live in it. */
  functions: number;
  /** Reachable `RemoteModule` objects for it. */
  pins: number;
  sent: boolean;
}

export interface CodeMessages {
  defineFunction(shipped: ShippedFunction): void;
  putModule(module: ModuleRef): void;
  /** Something will be released: call `takeReleases()` soon. */
  onReleasePending(): void;
}

export class CodeHoldings {
  private readonly functions = new Map<string, FunctionHold>();
  private readonly modules = new Map<string, ModuleHold>();
  private readonly byKey = new Map<KeyState, FunctionHold>();
  private releasedFunctions: string[] = [];
  private releasedModules: string[] = [];

  constructor(private readonly out: CodeMessages) {}

  /** Functions held now (tests, diagnostics). */
  get heldFunctions(): number {
    return this.functions.size;
  }

  get heldModules(): number {
    return this.modules.size;
  }

  /** Right before `submit-task` for `state`: sends what the scheduler lacks, and holds it for the key. */
  use(state: KeyState, shipped: ShippedFunction): void {
    let hold = this.functions.get(shipped.id);
    if (!hold) {
      hold = { shipped, keys: 0, sent: false };
      this.functions.set(shipped.id, hold);
      if (shipped.module) this.moduleHold(shipped.module).functions++;
    }
    if (shipped.module) this.ensureModule(this.moduleHold(shipped.module));
    if (!hold.sent) {
      this.out.defineFunction(shipped);
      hold.sent = true;
    }
    hold.keys++;
    this.byKey.set(state, hold);
  }

  /** A `RemoteModule` was created: upload its module now and hold it while the object lives. */
  pinModule(module: ModuleRef): void {
    const hold = this.moduleHold(module);
    hold.pins++;
    this.ensureModule(hold);
  }

  /** A `RemoteModule` was garbage-collected. */
  unpinModule(hash: string): void {
    const hold = this.modules.get(hash);
    if (!hold || hold.pins === 0) return;
    hold.pins--;
    this.dropModuleIfUnheld(hash, hold);
  }

  /** The key is gone for this client (released, cancelled or lost). */
  forget(state: KeyState): void {
    const hold = this.byKey.get(state);
    if (!hold) return;
    this.byKey.delete(state);
    if (--hold.keys > 0 || this.functions.get(hold.shipped.id) !== hold) return;
    this.functions.delete(hold.shipped.id);
    if (hold.sent) this.queue(() => this.releasedFunctions.push(hold.shipped.id));
    const module = hold.shipped.module;
    if (module) {
      const m = this.modules.get(module.hash);
      if (m) {
        m.functions--;
        this.dropModuleIfUnheld(module.hash, m);
      }
    }
  }

  /**
   * The scheduler did not have the key's function (refused over its budget, or unknown):
   * the next use sends it, and its module, again.
   */
  resend(state: KeyState): void {
    const hold = this.byKey.get(state);
    if (!hold) return;
    hold.sent = false;
    const module = hold.shipped.module;
    const m = module && this.modules.get(module.hash);
    if (m) m.sent = false;
  }

  /** What to send as `release-code` now, if anything. */
  takeReleases(): { functions: string[]; modules: string[] } | undefined {
    if (this.releasedFunctions.length === 0 && this.releasedModules.length === 0) return undefined;
    const out = { functions: this.releasedFunctions, modules: this.releasedModules };
    this.releasedFunctions = [];
    this.releasedModules = [];
    return out;
  }

  /** The scheduler session ended: it holds nothing of ours any more (keys of that session are gone). */
  endSession(): void {
    this.byKey.clear();
    this.functions.clear();
    for (const [hash, hold] of this.modules) {
      if (hold.pins === 0) this.modules.delete(hash);
      else {
        hold.functions = 0;
        hold.sent = false;
      }
    }
    this.releasedFunctions = [];
    this.releasedModules = [];
  }

  // -------------------------------------------------------------------------------------

  private moduleHold(module: ModuleRef): ModuleHold {
    let hold = this.modules.get(module.hash);
    if (!hold) {
      hold = { ref: module, functions: 0, pins: 0, sent: false };
      this.modules.set(module.hash, hold);
    }
    return hold;
  }

  private ensureModule(hold: ModuleHold): void {
    if (hold.sent) return;
    this.out.putModule(hold.ref);
    hold.sent = true;
  }

  private dropModuleIfUnheld(hash: string, hold: ModuleHold): void {
    if (hold.functions > 0 || hold.pins > 0 || this.modules.get(hash) !== hold) return;
    this.modules.delete(hash);
    if (hold.sent) this.queue(() => this.releasedModules.push(hash));
  }

  private queue(push: () => void): void {
    if (this.releasedFunctions.length === 0 && this.releasedModules.length === 0)
      this.out.onReleasePending();
    push();
  }
}

/**
 * The shipped functions and modules the scheduler holds, reference-counted and within a
 * byte budget. Pure bookkeeping (part of the state machine): no I/O.
 *
 * A function or module is held while a client holds it (it sent `define-function` /
 * `put-module` and has not sent `release-code` for it, nor disconnected) or a known task
 * refers to it (lineage: a released task may be recomputed). When neither holds any more
 * it is dropped, and the caller tells the workers that have it to free it. A definition
 * that would take the total past the budget is refused; the client's tasks that use it
 * then err with `code-budget` (the refusal is remembered per client until the client
 * sends it again, releases it or leaves).
 */
import type { FunctionDefinition, PutModule } from "@launchbay/protocol";
import type { ClientId } from "./types.js";

export interface HeldFunction {
  readonly def: FunctionDefinition;
  readonly bytes: number;
  readonly clients: Set<ClientId>;
  /** Known tasks that run it. */
  tasks: number;
}

export interface HeldModule {
  readonly module: PutModule;
  readonly bytes: number;
  readonly clients: Set<ClientId>;
  /** Known tasks that run one of its exports. */
  tasks: number;
}

interface ClientCode {
  functions: Set<string>;
  modules: Set<string>;
  /** Refused definitions (function id, or `module:<hash>`) → why. */
  refused: Map<string, string>;
}

/** What the last release dropped: the workers that have these must free them. */
export interface Dropped {
  functions: string[];
  modules: string[];
}

/** Default budget for shipped functions and modules held at once. */
export const DEFAULT_MAX_CODE_BYTES = 256 * 2 ** 20;

/** Refusals remembered per client (oldest forgotten first); a client that keeps sending refused code learns from the first ones. */
const MAX_REFUSALS_PER_CLIENT = 1000;

export class CodeStore {
  readonly functions = new Map<string, HeldFunction>();
  readonly modules = new Map<string, HeldModule>();
  /** Bytes of source and module code held (characters: one byte each for ASCII). */
  bytes = 0;
  private readonly byClient = new Map<ClientId, ClientCode>();
  private dropped: Dropped = { functions: [], modules: [] };

  constructor(readonly maxBytes: number) {}

  defineFunction(client: ClientId, def: FunctionDefinition): void {
    const c = this.client(client);
    c.refused.delete(def.id);
    const held = this.functions.get(def.id);
    if (held) {
      held.clients.add(client);
      c.functions.add(def.id);
      return;
    }
    const bytes = def.id.length + def.name.length + (def.source?.length ?? 0);
    if (this.bytes + bytes > this.maxBytes) {
      this.refuse(c, def.id, `function ${def.name || def.id} (${formatBytes(bytes)})`);
      return;
    }
    this.functions.set(def.id, { def, bytes, clients: new Set([client]), tasks: 0 });
    this.bytes += bytes;
    c.functions.add(def.id);
  }

  putModule(client: ClientId, module: PutModule): void {
    const c = this.client(client);
    c.refused.delete(moduleRefusal(module.hash));
    const held = this.modules.get(module.hash);
    if (held) {
      held.clients.add(client);
      c.modules.add(module.hash);
      return;
    }
    const bytes = module.hash.length + module.name.length + module.code.length;
    if (this.bytes + bytes > this.maxBytes) {
      this.refuse(
        c,
        moduleRefusal(module.hash),
        `module ${module.name || module.hash} (${formatBytes(bytes)})`,
      );
      return;
    }
    this.modules.set(module.hash, { module, bytes, clients: new Set([client]), tasks: 0 });
    this.bytes += bytes;
    c.modules.add(module.hash);
  }

  /** Why this client's definition of the function (or of its module) was refused, if it was. */
  refusal(client: ClientId, fn: string, moduleHash?: string): string | undefined {
    const c = this.byClient.get(client);
    if (!c) return undefined;
    return moduleHash === undefined ? c.refused.get(fn) : c.refused.get(moduleRefusal(moduleHash));
  }

  /** The client no longer holds these (`release-code`). */
  release(client: ClientId, functions: readonly string[], modules: readonly string[]): void {
    const c = this.byClient.get(client);
    if (!c) return;
    for (const id of functions) {
      c.refused.delete(id);
      if (c.functions.delete(id)) this.unholdFunction(id, client);
    }
    for (const hash of modules) {
      c.refused.delete(moduleRefusal(hash));
      if (c.modules.delete(hash)) this.unholdModule(hash, client);
    }
  }

  clientLeft(client: ClientId): void {
    const c = this.byClient.get(client);
    if (!c) return;
    this.byClient.delete(client);
    for (const id of c.functions) this.unholdFunction(id, client);
    for (const hash of c.modules) this.unholdModule(hash, client);
  }

  /** A task running `fn` became known. The function (and its module) must be held. */
  retainForTask(fn: string): void {
    const held = this.functions.get(fn)!;
    held.tasks++;
    if (held.def.module) this.modules.get(held.def.module.hash)!.tasks++;
  }

  /** A task running `fn` was removed. */
  releaseForTask(fn: string): void {
    const held = this.functions.get(fn)!;
    held.tasks--;
    const hash = held.def.module?.hash;
    this.dropFunctionIfUnheld(fn, held);
    if (hash !== undefined) {
      const module = this.modules.get(hash)!;
      module.tasks--;
      this.dropModuleIfUnheld(hash, module);
    }
  }

  /** What was dropped since the last call (and forgets it). */
  takeDropped(): Dropped {
    const dropped = this.dropped;
    if (dropped.functions.length > 0 || dropped.modules.length > 0)
      this.dropped = { functions: [], modules: [] };
    return dropped;
  }

  /** Function ids and module hashes this client holds (invariant checks, tests). */
  heldBy(client: ClientId): { functions: ReadonlySet<string>; modules: ReadonlySet<string> } {
    const c = this.byClient.get(client);
    return { functions: c?.functions ?? new Set(), modules: c?.modules ?? new Set() };
  }

  // -------------------------------------------------------------------------------------

  private client(client: ClientId): ClientCode {
    let c = this.byClient.get(client);
    if (!c) {
      c = { functions: new Set(), modules: new Set(), refused: new Map() };
      this.byClient.set(client, c);
    }
    return c;
  }

  private refuse(c: ClientCode, id: string, what: string): void {
    if (c.refused.size >= MAX_REFUSALS_PER_CLIENT) {
      const oldest = c.refused.keys().next().value;
      if (oldest !== undefined) c.refused.delete(oldest);
    }
    c.refused.set(
      id,
      `${what} was refused: the scheduler holds ${formatBytes(this.bytes)} of shipped functions and modules, ` +
        `and this would take it over its budget of ${formatBytes(this.maxBytes)} (--max-code-bytes). ` +
        "Release futures you no longer need (a function or module is freed with the last task and client " +
        "that hold it) or restart the client; or start the scheduler with a larger --max-code-bytes",
    );
  }

  private unholdFunction(id: string, client: ClientId): void {
    const held = this.functions.get(id);
    if (!held) return;
    held.clients.delete(client);
    this.dropFunctionIfUnheld(id, held);
  }

  private unholdModule(hash: string, client: ClientId): void {
    const held = this.modules.get(hash);
    if (!held) return;
    held.clients.delete(client);
    this.dropModuleIfUnheld(hash, held);
  }

  private dropFunctionIfUnheld(id: string, held: HeldFunction): void {
    if (held.clients.size > 0 || held.tasks > 0) return;
    this.functions.delete(id);
    this.bytes -= held.bytes;
    this.dropped.functions.push(id);
  }

  private dropModuleIfUnheld(hash: string, held: HeldModule): void {
    if (held.clients.size > 0 || held.tasks > 0) return;
    this.modules.delete(hash);
    this.bytes -= held.bytes;
    this.dropped.modules.push(hash);
  }
}

function moduleRefusal(hash: string): string {
  return `module:${hash}`;
}

/** `1.5 MiB`, `4.0 KiB` */
export function formatBytes(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(1)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
}

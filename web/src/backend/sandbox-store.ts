import type { BackendCapacity, SandboxEvent, SandboxListener, SandboxState } from "./backend.js";

/**
 * The in-memory view of every sandbox a backend knows, with change notification.
 * Both backends keep their state here so listing, watching and capacity behave the same.
 */
export class SandboxStore {
  private readonly sandboxes = new Map<string, SandboxState>();
  private readonly listeners = new Set<SandboxListener>();
  private readonly watchers = new Map<string, Set<SandboxListener>>();

  get(id: string): SandboxState | undefined {
    return this.sandboxes.get(id);
  }

  list(): SandboxState[] {
    return [...this.sandboxes.values()];
  }

  /** Stores a new version; notifies only when something a reader can see changed. */
  put(state: SandboxState): void {
    const before = this.sandboxes.get(state.id);
    this.sandboxes.set(state.id, state);
    if (before && sameState(before, state)) return;
    this.emit({ type: "updated", state });
  }

  remove(id: string): void {
    const state = this.sandboxes.get(id);
    if (!state) return;
    this.sandboxes.delete(id);
    this.emit({ type: "deleted", state });
  }

  subscribe(listener: SandboxListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  watch(id: string, listener: SandboxListener): () => void {
    let set = this.watchers.get(id);
    if (!set) {
      set = new Set();
      this.watchers.set(id, set);
    }
    set.add(listener);
    return () => {
      const current = this.watchers.get(id);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.watchers.delete(id);
    };
  }

  capacity(): BackendCapacity {
    let owned = 0;
    let warm = 0;
    let warmReady = 0;
    for (const s of this.sandboxes.values()) {
      if (s.warm) {
        warm += 1;
        if (s.phase === "Ready") warmReady += 1;
      } else if (s.phase !== "Expiring") {
        owned += 1;
      }
    }
    return { owned, warm, warmReady };
  }

  private emit(event: SandboxEvent): void {
    for (const listener of [...this.listeners]) listener(event);
    const set = this.watchers.get(event.state.id);
    if (set) for (const listener of [...set]) listener(event);
  }
}

/** Whether two versions of a sandbox look the same to every reader. */
function sameState(a: SandboxState, b: SandboxState): boolean {
  return (
    a.phase === b.phase &&
    a.owner === b.owner &&
    a.message === b.message &&
    a.expiresAt === b.expiresAt &&
    a.readyAt === b.readyAt &&
    a.createdAt === b.createdAt &&
    a.warm === b.warm &&
    a.workers.ready === b.workers.ready &&
    a.workers.desired === b.workers.desired &&
    a.conditions.length === b.conditions.length &&
    a.conditions.every((c, i) => {
      const d = b.conditions[i]!;
      return (
        c.type === d.type &&
        c.status === d.status &&
        c.reason === d.reason &&
        c.message === d.message
      );
    })
  );
}

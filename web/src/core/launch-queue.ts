/**
 * A first-come-first-served queue of launches waiting for a start slot. Pure: the
 * caller says when a slot frees up and gets back the launches to start.
 */
export interface QueueEntry {
  id: string;
  owner: string;
  requestedAt: number;
  expiresAt: number;
}

export class LaunchQueue {
  private readonly waiting: QueueEntry[] = [];
  private readonly starting = new Set<string>();

  constructor(private readonly maxConcurrentStarts: number) {
    if (!Number.isInteger(maxConcurrentStarts) || maxConcurrentStarts < 1) {
      throw new RangeError("maxConcurrentStarts must be a positive integer");
    }
  }

  /** Adds a launch at the back; returns the launches that may start now. */
  enqueue(entry: QueueEntry): QueueEntry[] {
    this.waiting.push(entry);
    return this.drain();
  }

  /** A launch finished starting (successfully or not); returns the launches that may start now. */
  finished(id: string): QueueEntry[] {
    this.starting.delete(id);
    return this.drain();
  }

  /** Drops a waiting launch (the attendee gave up or the organiser removed it). */
  cancel(id: string): boolean {
    const index = this.waiting.findIndex((e) => e.id === id);
    if (index < 0) return false;
    this.waiting.splice(index, 1);
    return true;
  }

  /** 1-based position of a waiting launch, or undefined if it is not waiting. */
  position(id: string): number | undefined {
    const index = this.waiting.findIndex((e) => e.id === id);
    return index < 0 ? undefined : index + 1;
  }

  get(id: string): QueueEntry | undefined {
    return this.waiting.find((e) => e.id === id);
  }

  byOwner(owner: string): QueueEntry | undefined {
    return this.waiting.find((e) => e.owner === owner);
  }

  list(): QueueEntry[] {
    return [...this.waiting];
  }

  get length(): number {
    return this.waiting.length;
  }

  get inFlight(): number {
    return this.starting.size;
  }

  isStarting(id: string): boolean {
    return this.starting.has(id);
  }

  private drain(): QueueEntry[] {
    const out: QueueEntry[] = [];
    while (this.starting.size < this.maxConcurrentStarts && this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      this.starting.add(next.id);
      out.push(next);
    }
    return out;
  }
}

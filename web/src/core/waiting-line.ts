/**
 * The waiting line for a full workshop: attendees who pressed Launch while every seat was
 * taken, first come first served. Pure: time comes in as an argument, nothing is stored
 * here (the launch service writes each change through a `WaitingLineStore`).
 *
 * Presence: an attendee whose page is open (a live event socket) is present; one who left
 * keeps their place for `graceMs` after they were last seen, then loses it. A seat that
 * frees while the head of the line is away is held for them until they return or their
 * grace runs out, so nobody behind them overtakes (strict FIFO).
 */
export interface WaitingEntry {
  /** The sandbox id the attendee will get (their page follows it from the start). */
  id: string;
  owner: string;
  joinedAt: number;
  /** When the attendee was last seen (joined, asked, or closed their page). */
  lastSeenAt: number;
}

/** Where the line is kept between launcher runs (SQLite locally, memory otherwise). */
export interface WaitingLineStore {
  loadWaiting(): WaitingEntry[];
  saveWaiting(entry: WaitingEntry): void;
  removeWaiting(id: string): void;
}

/** A store that keeps nothing (the line lives and dies with the process). */
export const memoryWaitingLineStore: WaitingLineStore = {
  loadWaiting: () => [],
  saveWaiting: () => {},
  removeWaiting: () => {},
};

export class WaitingLine {
  private readonly entries: WaitingEntry[] = [];
  /** Open pages per entry id. */
  private readonly present = new Map<string, number>();

  constructor(readonly graceMs: number) {
    if (!Number.isFinite(graceMs) || graceMs < 0) throw new RangeError("graceMs must be ≥ 0");
  }

  /**
   * Puts back a line read from the store, in join order. Everyone counts as seen just
   * before `now` at the latest: their pages lost their sockets when the previous launcher
   * stopped and get a grace period to reconnect (a seat is given once they do).
   */
  restore(entries: WaitingEntry[], now: number): void {
    const sorted = [...entries].sort((a, b) => a.joinedAt - b.joinedAt || a.id.localeCompare(b.id));
    for (const e of sorted)
      this.entries.push({ ...e, lastSeenAt: Math.max(e.lastSeenAt, now - 1) });
  }

  /**
   * Replaces the line with `entries`, in the order given (a line kept elsewhere, e.g. in
   * the Kubernetes API, mirrored here). Pages open here stay present.
   */
  sync(entries: readonly WaitingEntry[]): void {
    this.entries.splice(0, this.entries.length, ...entries.map((e) => ({ ...e })));
    for (const id of [...this.present.keys()]) if (!this.get(id)) this.present.delete(id);
  }

  join(id: string, owner: string, now: number): WaitingEntry {
    if (this.get(id) || this.byOwner(owner)) throw new Error(`${owner} is already in line`);
    const entry = { id, owner, joinedAt: now, lastSeenAt: now };
    this.entries.push(entry);
    return entry;
  }

  get(id: string): WaitingEntry | undefined {
    return this.entries.find((e) => e.id === id);
  }

  byOwner(owner: string): WaitingEntry | undefined {
    return this.entries.find((e) => e.owner === owner);
  }

  /** 1-based place in line, or undefined. */
  position(id: string): number | undefined {
    const index = this.entries.findIndex((e) => e.id === id);
    return index < 0 ? undefined : index + 1;
  }

  get length(): number {
    return this.entries.length;
  }

  list(): WaitingEntry[] {
    return this.entries.map((e) => ({ ...e }));
  }

  /** The attendee's page asked about their place (an HTTP request). */
  seen(id: string, now: number): WaitingEntry | undefined {
    const entry = this.get(id);
    if (entry) entry.lastSeenAt = Math.max(entry.lastSeenAt, now);
    return entry;
  }

  /** A page opened its event socket; it stays present until `left`. */
  arrived(id: string, now: number): void {
    if (!this.seen(id, now)) return;
    this.present.set(id, (this.present.get(id) ?? 0) + 1);
  }

  /** A page closed its event socket; returns the entry when nobody is left watching it. */
  left(id: string, now: number): WaitingEntry | undefined {
    const count = (this.present.get(id) ?? 0) - 1;
    if (count > 0) {
      this.present.set(id, count);
      return undefined;
    }
    this.present.delete(id);
    return this.seen(id, now);
  }

  isPresent(id: string): boolean {
    return (this.present.get(id) ?? 0) > 0;
  }

  remove(id: string): boolean {
    const index = this.entries.findIndex((e) => e.id === id);
    if (index < 0) return false;
    this.entries.splice(index, 1);
    this.present.delete(id);
    return true;
  }

  /** Entries whose attendee has been away longer than the grace period, removed. */
  dropAway(now: number): WaitingEntry[] {
    const gone = this.entries.filter(
      (e) => !this.isPresent(e.id) && now - e.lastSeenAt > this.graceMs,
    );
    for (const e of gone) this.remove(e.id);
    return gone;
  }

  /** When the next away attendee loses their place (for a timer), or undefined. */
  nextDropAt(): number | undefined {
    let next: number | undefined;
    for (const e of this.entries) {
      if (this.isPresent(e.id)) continue;
      const at = e.lastSeenAt + this.graceMs + 1;
      if (next === undefined || at < next) next = at;
    }
    return next;
  }

  /**
   * Takes up to `seats` attendees from the front, in order. Those away past their grace
   * are dropped first (returned in `dropped`); an away head within its grace holds the
   * line (nobody behind overtakes).
   */
  admit(seats: number, now: number): { admitted: WaitingEntry[]; dropped: WaitingEntry[] } {
    const dropped = this.dropAway(now);
    const admitted: WaitingEntry[] = [];
    while (admitted.length < seats && this.entries.length > 0) {
      const head = this.entries[0]!;
      // Away (page closed) but within grace: the seat waits for them.
      if (!this.isPresent(head.id) && head.lastSeenAt < now) break;
      this.entries.shift();
      this.present.delete(head.id);
      admitted.push(head);
    }
    return { admitted, dropped };
  }
}

/**
 * Estimated milliseconds until the attendee at `position` gets a seat: seats free when the
 * running sandboxes end (each at its expiry, or sooner when recent sandboxes ended sooner),
 * and each seat taken again frees one start plus one lifetime later, in the same order.
 * O(seats log seats), whatever the position: every waiting page gets one on every change.
 */
export function estimateWaitMs(input: {
  position: number;
  now: number;
  /** When each seat-holding sandbox is expected to end. */
  seatEnds: number[];
  /** How long a sandbox is expected to live once started. */
  lifetimeMs: number;
  typicalStartMs: number;
}): number | undefined {
  const { position, now, lifetimeMs, typicalStartMs } = input;
  const seats = input.seatEnds.length;
  if (seats === 0 || position < 1) return undefined;
  const ends = input.seatEnds.map((t) => Math.max(t, now)).sort((a, b) => a - b);
  const turn = position - 1;
  const freeAt = ends[turn % seats]! + Math.floor(turn / seats) * (typicalStartMs + lifetimeMs);
  return freeAt - now + typicalStartMs;
}

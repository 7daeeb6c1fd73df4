/**
 * A fixed-size ring of recent transitions, shared by all tasks. A task's "story" (the
 * transitions that led to its current state, used in error messages) is read back
 * from it by key, so keeping it costs nothing per task. Entries are stored in columns
 * (no object per transition: recording one allocates nothing).
 */
import type { StoryEntry } from "./types.js";

export class TransitionLog {
  private keys: (string | undefined)[];
  private times: Float64Array;
  private froms: StoryEntry[1][];
  private tos: StoryEntry[2][];
  private causes: string[];
  private next = 0;

  constructor(readonly capacity = 10_000) {
    this.keys = new Array(capacity).fill(undefined);
    this.times = new Float64Array(capacity);
    this.froms = new Array(capacity).fill("new");
    this.tos = new Array(capacity).fill("released");
    this.causes = new Array(capacity).fill("");
  }

  record(key: string, now: number, from: StoryEntry[1], to: StoryEntry[2], cause: string): void {
    const i = this.next;
    this.keys[i] = key;
    this.times[i] = now;
    this.froms[i] = from;
    this.tos[i] = to;
    this.causes[i] = cause;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
  }

  /** The most recent `limit` transitions of `key`, oldest first. */
  story(key: string, limit = 20): StoryEntry[] {
    const out: StoryEntry[] = [];
    for (let i = 1; i <= this.capacity && out.length < limit; i++) {
      const index = (this.next - i + this.capacity) % this.capacity;
      const k = this.keys[index];
      if (k === undefined) break;
      if (k === key)
        out.push([this.times[index]!, this.froms[index]!, this.tos[index]!, this.causes[index]!]);
    }
    return out.reverse();
  }
}

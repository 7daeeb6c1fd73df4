/**
 * A fixed-size ring of recent transitions, shared by all tasks. A task's "story" (the
 * transitions that led to its current state, used in error messages) is read back
 * from it by key, so keeping it costs nothing per task.
 */
import type { StoryEntry } from "./types.js";

export class TransitionLog {
  private keys: (string | undefined)[];
  private entries: (StoryEntry | undefined)[];
  private next = 0;

  constructor(readonly capacity = 10_000) {
    this.keys = new Array(capacity);
    this.entries = new Array(capacity);
  }

  record(key: string, entry: StoryEntry): void {
    this.keys[this.next] = key;
    this.entries[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
  }

  /** The most recent `limit` transitions of `key`, oldest first. */
  story(key: string, limit = 20): StoryEntry[] {
    const out: StoryEntry[] = [];
    for (let i = 1; i <= this.capacity && out.length < limit; i++) {
      const index = (this.next - i + this.capacity) % this.capacity;
      const k = this.keys[index];
      if (k === undefined) break;
      if (k === key) out.push(this.entries[index]!);
    }
    return out.reverse();
  }
}

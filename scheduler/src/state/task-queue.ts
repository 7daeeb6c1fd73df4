/**
 * Ready tasks waiting for a worker slot: a binary heap ordered by priority (higher
 * first), then submission order. Removal is lazy: an entry whose task has left the
 * queue (or was queued again since) is dropped when it reaches the top.
 */
import type { Task } from "./types.js";

interface Entry {
  task: Task;
  token: number;
}

export class TaskQueue {
  private heap: Entry[] = [];
  private tokens = new WeakMap<Task, number>();
  private nextToken = 1;
  private live = 0;

  /** Number of tasks in the queue. */
  get size(): number {
    return this.live;
  }

  has(task: Task): boolean {
    return this.tokens.has(task);
  }

  push(task: Task): void {
    if (this.tokens.has(task)) return;
    const token = this.nextToken++;
    this.tokens.set(task, token);
    this.live++;
    this.heap.push({ task, token });
    this.up(this.heap.length - 1);
  }

  delete(task: Task): void {
    if (this.tokens.delete(task)) this.live--;
  }

  /** The highest-priority task, without removing it. */
  peek(): Task | undefined {
    this.dropStale();
    return this.heap[0]?.task;
  }

  pop(): Task | undefined {
    this.dropStale();
    const top = this.heap[0];
    if (!top) return undefined;
    this.removeTop();
    this.tokens.delete(top.task);
    this.live--;
    return top.task;
  }

  /** Live tasks in priority order (a copy; O(n log n)). */
  ordered(): Task[] {
    return this.heap
      .filter((e) => this.tokens.get(e.task) === e.token)
      .sort((a, b) => compare(a, b))
      .map((e) => e.task);
  }

  private dropStale(): void {
    while (this.heap.length > 0) {
      const top = this.heap[0]!;
      if (this.tokens.get(top.task) === top.token) return;
      this.removeTop();
    }
  }

  private removeTop(): void {
    const last = this.heap.pop()!;
    if (this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
  }

  private up(i: number): void {
    const heap = this.heap;
    const entry = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (compare(entry, heap[parent]!) >= 0) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = entry;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const entry = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && compare(heap[child + 1]!, heap[child]!) < 0) child++;
      if (compare(heap[child]!, entry) >= 0) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = entry;
  }
}

function compare(a: Entry, b: Entry): number {
  return b.task.priority - a.task.priority || a.task.seq - b.task.seq;
}

/**
 * Which sandboxes hold one of a workshop's `maxSandboxes` slots. Admission is a
 * synchronous check-and-set, so two sandboxes reconciled concurrently cannot both take
 * the last slot. Pure bookkeeping: the controller feeds it what the cache shows.
 */
export class CapacityLedger {
  private readonly admitted = new Map<string, Set<string>>();
  private readonly rejected = new Set<string>();

  /** Records a sandbox the cluster already shows as admitted (e.g. after a restart). */
  restore(workshopKey: string, sandboxKey: string): void {
    this.slots(workshopKey).add(sandboxKey);
  }

  /** Records a sandbox that already failed admission; it stays rejected. */
  restoreRejected(sandboxKey: string): void {
    this.rejected.add(sandboxKey);
  }

  /** Admits the sandbox if it already holds a slot or one is free. */
  admit(workshopKey: string, sandboxKey: string, maxSandboxes: number | undefined): boolean {
    const slots = this.slots(workshopKey);
    if (slots.has(sandboxKey)) return true;
    if (this.rejected.has(sandboxKey)) return false;
    if (maxSandboxes !== undefined && slots.size >= maxSandboxes) {
      this.rejected.add(sandboxKey);
      return false;
    }
    slots.add(sandboxKey);
    return true;
  }

  /** Frees the slot of a sandbox that is gone. */
  release(sandboxKey: string): void {
    this.rejected.delete(sandboxKey);
    for (const slots of this.admitted.values()) slots.delete(sandboxKey);
  }

  used(workshopKey: string): number {
    return this.admitted.get(workshopKey)?.size ?? 0;
  }

  private slots(workshopKey: string): Set<string> {
    let slots = this.admitted.get(workshopKey);
    if (!slots) {
      slots = new Set();
      this.admitted.set(workshopKey, slots);
    }
    return slots;
  }
}

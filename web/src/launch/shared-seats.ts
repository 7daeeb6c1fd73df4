/**
 * The workshop's seats as every launcher replica sees them: which attendee holds one
 * (under which sandbox id) and how many are taken. A reservation is decided by one
 * atomic write, so two replicas clicked at the same moment cannot both give the same
 * attendee a sandbox, nor both take the last seat. Kubernetes keeps it in the API
 * (`KubernetesSeatLedger`); the local backend has one process and needs none.
 */
export interface SharedSeats {
  /**
   * Takes a seat for `owner` under `id`, unless they hold one already (its id is
   * answered) or every seat is taken.
   */
  reserve(request: SeatRequest): Promise<SeatAnswer>;
  /** The seat of `owner` now stands for sandbox `to` (a warm sandbox was claimed for it). */
  rename(owner: string, from: string, to: string): Promise<void>;
  /** Frees the seat held under sandbox `id` (it ended, failed to start or was cancelled). */
  release(id: string): Promise<void>;
  /** Seats taken, from the last copy seen (for display). */
  taken(view: SeatView): number;
  /** Stops watching. */
  close(): Promise<void>;
}

/** What the replica knows of the sandboxes, to tell stale seats from live ones. */
export interface SeatView {
  now: number;
  /** Ids of sandboxes that exist with an owner, in any phase (they hold a seat). */
  owned: readonly string[];
  /**
   * "live": the sandbox exists (or this replica is starting it); "ending": it is being
   * deleted; "unknown": not seen here (being created elsewhere, or gone).
   */
  state(id: string): "live" | "ending" | "unknown";
}

export interface SeatRequest extends SeatView {
  owner: string;
  id: string;
  max: number;
}

export type SeatAnswer =
  | { kind: "reserved" }
  | { kind: "existing"; id: string }
  | { kind: "full"; taken: number };

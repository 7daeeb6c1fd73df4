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

/** A place in the shared waiting line (times epoch ms). */
export interface LinePlace {
  id: string;
  owner: string;
  joinedAt: number;
  /** Last time a replica saw the attendee's page (a socket open, a request). */
  seenAt: number;
}

export type LineAnswer =
  | SeatAnswer
  | { kind: "waiting"; id: string }
  | { kind: "line-full"; waiting: number };

/**
 * The waiting line of a full workshop, shared by the replicas in the same record as the
 * seats: positions are the same whichever replica answers, and moving the head of the
 * line to a seat is one guarded write, so exactly one replica launches it.
 */
export interface SharedLine extends SharedSeats {
  /** The line as last seen, in order. */
  line(): LinePlace[];
  /** Calls `listener` whenever the line or the seats change (any replica). */
  onChange(listener: () => void): void;
  /**
   * A seat for `owner` when one is free and nobody waits; else their place in line (a new
   * one at the back under `id`), or line-full past `maxWaiting`.
   */
  reserveOrJoin(request: SeatRequest & { maxWaiting: number }): Promise<LineAnswer>;
  /**
   * Drops places not seen for `graceMs`, then gives free seats to the front of the line
   * in order while its head's page is present (seen within `presentMs`; an away head
   * within its grace holds the line). Returns the places this call seated: the caller,
   * and only it, launches them.
   */
  admit(view: SeatView & { max: number; graceMs: number; presentMs: number }): Promise<{
    seated: LinePlace[];
    dropped: LinePlace[];
  }>;
  /** The attendees' pages behind `ids` were seen at `now`. */
  touch(ids: readonly string[], now: number): Promise<void>;
  /** Removes a place (the attendee left the line). */
  leave(id: string): Promise<void>;
}

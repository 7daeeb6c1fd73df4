import { Informer, isAlreadyExists, isConflict, type KubeClient } from "@launchbay/kube";
import type { FastifyBaseLogger } from "fastify";
import { LauncherError } from "../../errors.js";
import type {
  LineAnswer,
  LinePlace,
  SeatAnswer,
  SeatRequest,
  SeatView,
  SharedLine,
} from "../../launch/shared-seats.js";

const KIND_LABEL = "launchbay.dev/record";
const WORKSHOP_LABEL = "launchbay.dev/workshop";
const SEATS = "launchbay.dev/seats";
const LINE = "launchbay.dev/line";
/** Writes lost to another replica in a row before a launch gives up (each is one round trip). */
const MAX_ATTEMPTS = 50;

/** Who holds a seat: the sandbox id and when the seat was taken (epoch ms). */
export interface Seat {
  id: string;
  at: number;
}

interface Lease {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string> };
}

/** Seats by owner and the waiting line, in order. */
export interface Ledger {
  seats: Record<string, Seat>;
  line: LinePlace[];
}

/** The waiting line recorded on a ledger Lease, in order. */
export function lineOf(lease: Lease | undefined): LinePlace[] {
  const raw = lease?.metadata.annotations?.[LINE];
  if (!raw) return [];
  const parsed: unknown = JSON.parse(raw);
  if (!Array.isArray(parsed)) return [];
  return parsed.filter(
    (p): p is LinePlace =>
      p &&
      typeof p.id === "string" &&
      typeof p.owner === "string" &&
      typeof p.joinedAt === "number" &&
      typeof p.seenAt === "number",
  );
}

function ledgerOf(lease: Lease | undefined): Ledger {
  return { seats: seatsOf(lease), line: lineOf(lease) };
}

/** The seats recorded on a ledger Lease, by owner; bad JSON reads as none (and is logged). */
export function seatsOf(lease: Lease | undefined): Record<string, Seat> {
  const raw = lease?.metadata.annotations?.[SEATS];
  if (!raw) return {};
  const parsed: unknown = JSON.parse(raw);
  if (!parsed || typeof parsed !== "object") return {};
  const out: Record<string, Seat> = {};
  for (const [owner, seat] of Object.entries(parsed as Record<string, unknown>)) {
    const s = seat as Partial<Seat> | null;
    if (s && typeof s.id === "string" && typeof s.at === "number")
      out[owner] = { id: s.id, at: s.at };
  }
  return out;
}

/**
 * The workshop's seats in one coordination.k8s.io Lease (`launchbay-seats-<workshop>`),
 * as a JSON annotation owner → {sandbox id, taken at}. Every change is a merge patch that
 * carries the resourceVersion it was computed from, so of two replicas writing at once
 * the API server accepts one and answers 409 to the other, which reads again and decides
 * anew: one seat per attendee and never more than `max`, whichever replica is asked.
 *
 * A seat whose sandbox is being deleted is dropped; one whose sandbox no replica has seen
 * for `graceMs` (a replica died between the reservation and the create) too. Sandboxes
 * with an owner but no seat (claimed before an upgrade) still count.
 */
export class KubernetesSeatLedger implements SharedLine {
  private readonly base: string;
  private readonly name: string;
  private readonly informer: Informer<Ledger>;

  constructor(
    private readonly client: KubeClient,
    namespace: string,
    private readonly workshop: string,
    log: FastifyBaseLogger,
    private readonly graceMs = 120_000,
  ) {
    this.base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
    this.name = `launchbay-seats-${workshop}`;
    this.informer = new Informer(client, {
      name: "seats",
      path: this.base,
      labelSelector: `${KIND_LABEL}=seats,${WORKSHOP_LABEL}=${workshop}`,
      transform: (raw) => {
        try {
          return ledgerOf(raw as Lease);
        } catch (err) {
          log.warn({ err }, "The seat ledger holds unreadable JSON; counting no seats");
          return { seats: {}, line: [] };
        }
      },
      log,
    });
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  async close(): Promise<void> {
    await this.informer.stop();
  }

  /** The seats and the line as last seen through the watch. */
  cached(): Ledger {
    for (const ledger of this.informer.values()) return ledger;
    return { seats: {}, line: [] };
  }

  taken(view: SeatView): number {
    return count(this.live(this.cached().seats, view), view);
  }

  line(): LinePlace[] {
    return this.cached().line.map((p) => ({ ...p }));
  }

  onChange(listener: () => void): void {
    this.informer.on(() => listener());
  }

  async reserveOrJoin(request: SeatRequest & { maxWaiting: number }): Promise<LineAnswer> {
    let answer: LineAnswer | undefined;
    await this.update((ledger) => {
      const live = this.live(ledger.seats, request);
      const held = live[request.owner];
      if (held) {
        answer = { kind: "existing", id: held.id };
        return undefined;
      }
      const place = ledger.line.find((p) => p.owner === request.owner);
      if (place) {
        answer = { kind: "waiting", id: place.id };
        return undefined;
      }
      // Nobody overtakes those already waiting.
      if (ledger.line.length === 0 && count(live, request) < request.max) {
        answer = { kind: "reserved" };
        return {
          seats: { ...live, [request.owner]: { id: request.id, at: request.now } },
          line: ledger.line,
        };
      }
      if (ledger.line.length >= request.maxWaiting) {
        answer = { kind: "line-full", waiting: ledger.line.length };
        return undefined;
      }
      answer = { kind: "waiting", id: request.id };
      const joined = {
        id: request.id,
        owner: request.owner,
        joinedAt: request.now,
        seenAt: request.now,
      };
      return { seats: live, line: [...ledger.line, joined] };
    });
    return answer!;
  }

  async admit(
    view: SeatView & { max: number; graceMs: number; presentMs: number },
  ): Promise<{ seated: LinePlace[]; dropped: LinePlace[] }> {
    let result = { seated: [] as LinePlace[], dropped: [] as LinePlace[] };
    await this.update((ledger) => {
      result = { seated: [], dropped: [] };
      const live = this.live(ledger.seats, view);
      const line = ledger.line.filter((p) => {
        const away = view.now - p.seenAt > view.graceMs;
        if (away) result.dropped.push(p);
        return !away;
      });
      const seats = { ...live };
      let free = view.max - count(seats, view);
      while (free > 0 && line.length > 0) {
        const head = line[0]!;
        // Away (no page seen lately) but within grace: the seat waits for them.
        if (view.now - head.seenAt > view.presentMs) break;
        line.shift();
        if (!seats[head.owner]) {
          seats[head.owner] = { id: head.id, at: view.now };
          free -= 1;
          result.seated.push(head);
        }
      }
      if (result.seated.length === 0 && result.dropped.length === 0) return undefined;
      return { seats, line };
    });
    return result;
  }

  async touch(ids: readonly string[], now: number): Promise<void> {
    if (ids.length === 0) return;
    await this.update((ledger) => {
      let changed = false;
      const line = ledger.line.map((p) => {
        if (!ids.includes(p.id) || p.seenAt >= now) return p;
        changed = true;
        return { ...p, seenAt: now };
      });
      return changed ? { seats: ledger.seats, line } : undefined;
    });
  }

  async leave(id: string): Promise<void> {
    await this.update((ledger) => {
      const line = ledger.line.filter((p) => p.id !== id);
      return line.length === ledger.line.length ? undefined : { seats: ledger.seats, line };
    });
  }

  private live(seats: Record<string, Seat>, view: SeatView): Record<string, Seat> {
    const out: Record<string, Seat> = {};
    for (const [owner, seat] of Object.entries(seats)) {
      const state = view.state(seat.id);
      if (state === "ending") continue;
      if (state === "unknown" && view.now - seat.at > this.graceMs) continue;
      out[owner] = seat;
    }
    return out;
  }

  async reserve(request: SeatRequest): Promise<SeatAnswer> {
    let answer: SeatAnswer | undefined;
    await this.update(({ seats, line }) => {
      const live = this.live(seats, request);
      const held = live[request.owner];
      if (held) {
        answer = { kind: "existing", id: held.id };
        return undefined;
      }
      const taken = count(live, request);
      if (taken >= request.max) {
        answer = { kind: "full", taken };
        return undefined;
      }
      answer = { kind: "reserved" };
      return { seats: { ...live, [request.owner]: { id: request.id, at: request.now } }, line };
    });
    return answer!;
  }

  async rename(owner: string, from: string, to: string): Promise<void> {
    await this.update(({ seats, line }) => {
      const seat = seats[owner];
      if (!seat || seat.id !== from) return undefined;
      return { seats: { ...seats, [owner]: { ...seat, id: to } }, line };
    });
  }

  async release(id: string): Promise<void> {
    await this.update(({ seats, line }) => {
      const owner = Object.keys(seats).find((o) => seats[o]!.id === id);
      if (owner === undefined) return undefined;
      const next = { ...seats };
      delete next[owner];
      return { seats: next, line };
    });
  }

  /**
   * Reads the ledger, applies `change` (undefined: nothing to write) and writes it back
   * guarded by the resourceVersion read; a 409 (another replica wrote first) starts over.
   */
  private async update(change: (ledger: Ledger) => Ledger | undefined): Promise<void> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      let lease: Lease | undefined;
      try {
        lease = await this.client.getOptional<Lease>(`${this.base}/${this.name}`);
      } catch (err) {
        throw unavailable(err);
      }
      const next = change(ledgerOf(lease));
      if (next === undefined) return;
      const annotations = {
        [SEATS]: JSON.stringify(next.seats),
        [LINE]: JSON.stringify(next.line),
      };
      try {
        if (!lease) {
          await this.client.create(this.base, {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: {
              name: this.name,
              labels: {
                "app.kubernetes.io/managed-by": "launchbay-web",
                [KIND_LABEL]: "seats",
                [WORKSHOP_LABEL]: this.workshop,
              },
              annotations,
            },
            spec: { holderIdentity: "launchbay-web" },
          });
        } else {
          await this.client.mergePatch(`${this.base}/${this.name}`, {
            metadata: { resourceVersion: lease.metadata.resourceVersion, annotations },
          });
        }
        return;
      } catch (err) {
        if (isConflict(err) || isAlreadyExists(err)) continue;
        throw unavailable(err);
      }
    }
    throw new LauncherError(
      "backend-failed",
      "too many launches at once: the seat ledger kept changing; try again in a moment",
    );
  }
}

/** Seats held plus sandboxes with an owner that hold none. */
function count(seats: Record<string, Seat>, view: SeatView): number {
  const ids = new Set(Object.values(seats).map((s) => s.id));
  let n = ids.size;
  for (const id of view.owned) if (!ids.has(id)) n += 1;
  return n;
}

function unavailable(err: unknown): LauncherError {
  return new LauncherError(
    "backend-failed",
    `the Kubernetes API did not answer (${(err as Error).message}); try again in a moment`,
    { cause: err },
  );
}

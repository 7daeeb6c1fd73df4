import { createHash } from "node:crypto";
import { isAlreadyExists, type KubeClient } from "@launchbay/kube";
import { LauncherError } from "../../errors.js";
import type { NonceLedger, OrganiserSessionStore } from "../../http/organiser-sessions.js";
import { newSessionId } from "../../http/organiser-sessions.js";

/** What a record stands for (its label value and name prefix). */
export type RecordKind = "organiser-session" | "handover-nonce";

const PREFIX: Record<RecordKind, string> = {
  "organiser-session": "launchbay-session-",
  "handover-nonce": "launchbay-handover-",
};
const KIND_LABEL = "launchbay.dev/record";
const EXPIRES = "launchbay.dev/expires-at";

interface Lease {
  metadata: { name: string; annotations?: Record<string, string> };
}

/**
 * Small facts every launcher replica must agree on (an organiser session exists; a
 * handover token was used), kept as coordination.k8s.io Leases in the launcher's
 * namespace. Names are a hash of the secret value, so reading the Leases does not reveal
 * a session cookie. A create answers 409 to every replica but the first: single use
 * across replicas, decided by the API server. Expired records are swept by `sweep()`.
 */
export class LeaseRecords {
  private readonly base: string;

  constructor(
    private readonly client: KubeClient,
    namespace: string,
    private readonly kind: RecordKind,
  ) {
    this.base = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  }

  private name(key: string): string {
    return PREFIX[this.kind] + createHash("sha256").update(key).digest("hex").slice(0, 40);
  }

  /** Records `key` until `expiresAt`; false when it is recorded already. */
  async create(key: string, expiresAt: number, now: number): Promise<boolean> {
    const body = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: this.name(key),
        labels: { "app.kubernetes.io/managed-by": "launchbay-web", [KIND_LABEL]: this.kind },
        annotations: { [EXPIRES]: String(expiresAt) },
      },
      spec: {
        holderIdentity: this.kind,
        leaseDurationSeconds: Math.max(1, Math.ceil((expiresAt - now) / 1000)),
      },
    };
    try {
      await this.client.create(this.base, body);
      return true;
    } catch (err) {
      if (isAlreadyExists(err)) return false;
      throw unavailable(err);
    }
  }

  /** When the record of `key` expires, or undefined when there is none. */
  async expiresAt(key: string): Promise<number | undefined> {
    let lease: Lease | undefined;
    try {
      lease = await this.client.getOptional<Lease>(`${this.base}/${this.name(key)}`);
    } catch (err) {
      throw unavailable(err);
    }
    const value = Number(lease?.metadata.annotations?.[EXPIRES]);
    return Number.isFinite(value) ? value : undefined;
  }

  async remove(key: string): Promise<void> {
    try {
      await this.client.delete(`${this.base}/${this.name(key)}`);
    } catch (err) {
      throw unavailable(err);
    }
  }

  /** Deletes this kind's expired records; returns how many. */
  async sweep(now: number): Promise<number> {
    const list = await this.client.get<{ items: Lease[] }>(this.base, {
      query: { labelSelector: `${KIND_LABEL}=${this.kind}` },
    });
    let removed = 0;
    for (const lease of list.items) {
      const expiresAt = Number(lease.metadata.annotations?.[EXPIRES]);
      if (Number.isFinite(expiresAt) && expiresAt > now) continue;
      await this.client.delete(`${this.base}/${lease.metadata.name}`);
      removed += 1;
    }
    return removed;
  }
}

function unavailable(err: unknown): LauncherError {
  return new LauncherError(
    "backend-failed",
    `the Kubernetes API did not answer (${(err as Error).message}); try again in a moment`,
    { cause: err },
  );
}

/** Organiser sessions in the API: a sign-in or sign-out on one replica holds on all. */
export class KubernetesOrganiserSessions implements OrganiserSessionStore {
  constructor(
    private readonly records: LeaseRecords,
    private readonly ttlMs: number,
  ) {}

  async create(now: number): Promise<string> {
    const id = newSessionId();
    await this.records.create(id, now + this.ttlMs, now);
    return id;
  }

  async isValid(id: string, now: number): Promise<boolean> {
    const expiresAt = await this.records.expiresAt(id);
    return expiresAt !== undefined && expiresAt > now;
  }

  async revoke(id: string): Promise<void> {
    await this.records.remove(id);
  }
}

/** Handover nonces in the API: a token redeemed on one replica is refused on every other. */
export class KubernetesNonceLedger implements NonceLedger {
  constructor(private readonly records: LeaseRecords) {}

  claim(nonce: string, expiresAt: number, now: number): Promise<boolean> {
    return this.records.create(nonce, expiresAt, now);
  }
}

/** The shared records of one launcher, with a periodic sweep of expired ones. */
export function kubernetesSharedRecords(
  client: KubeClient,
  namespace: string,
  sessionTtlMs: number,
  options: { now: () => number; sweepEveryMs?: number; onSweepError?: (err: unknown) => void },
): {
  organiserSessions: KubernetesOrganiserSessions;
  handoverNonces: KubernetesNonceLedger;
  stop: () => void;
} {
  const sessions = new LeaseRecords(client, namespace, "organiser-session");
  const nonces = new LeaseRecords(client, namespace, "handover-nonce");
  const timer = setInterval(
    () => {
      const now = options.now();
      Promise.all([sessions.sweep(now), nonces.sweep(now)]).catch((err) =>
        options.onSweepError?.(err),
      );
    },
    options.sweepEveryMs ?? 10 * 60_000,
  );
  timer.unref();
  return {
    organiserSessions: new KubernetesOrganiserSessions(sessions, sessionTtlMs),
    handoverNonces: new KubernetesNonceLedger(nonces),
    stop: () => clearInterval(timer),
  };
}

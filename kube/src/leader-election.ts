import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { isConflict } from "./errors.js";
import type { KubeClient } from "./kube-client.js";
import type { KubeLogger } from "./logger.js";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
  identity?: string;
}

interface Lease {
  metadata: { resourceVersion?: string };
  spec?: {
    holderIdentity?: string | null;
    leaseDurationSeconds?: number;
    renewTime?: string;
    acquireTime?: string;
    leaseTransitions?: number;
  };
}

/**
 * Lease-based leader election (coordination.k8s.io/v1), like client-go's: acquire a free
 * or expired Lease with an optimistic-concurrency update, renew every retry period, and
 * report loss when renewal fails for renewDeadline. Expiry is judged by the local clock
 * from when this process last saw the record change, so clock skew cannot steal a lease.
 */
export class LeaderElector {
  readonly identity: string;
  private stopped = false;
  private leading = false;
  private observed: { record: string; at: number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly client: KubeClient,
    private readonly options: LeaderElectionOptions,
    private readonly log: KubeLogger,
  ) {
    this.identity = options.identity ?? `${hostname()}_${randomBytes(4).toString("hex")}`;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** Resolves once this process holds the lease (or never, if stop() is called first). */
  async acquire(): Promise<boolean> {
    while (!this.stopped) {
      if (await this.tryAcquireOrRenew()) {
        this.leading = true;
        this.log.info({ identity: this.identity, lease: this.options.name }, "Became leader");
        return true;
      }
      await this.sleep(this.options.retryPeriodSeconds * 1000);
    }
    return false;
  }

  /** Renews until stop() or until renewal fails for renewDeadline; then calls onLost. */
  keepRenewing(onLost: () => void): void {
    let lastRenew = Date.now();
    const tick = async () => {
      if (this.stopped) return;
      let ok = false;
      try {
        ok = await this.tryAcquireOrRenew();
      } catch (error) {
        this.log.warn({ err: (error as Error).message }, "Lease renewal failed");
      }
      if (ok) lastRenew = Date.now();
      else if (Date.now() - lastRenew > this.options.renewDeadlineSeconds * 1000) {
        this.leading = false;
        this.log.error({ identity: this.identity }, "Lost leadership");
        onLost();
        return;
      }
      this.timer = setTimeout(tick, this.options.retryPeriodSeconds * 1000);
    };
    this.timer = setTimeout(tick, this.options.retryPeriodSeconds * 1000);
  }

  /** Stops renewing and, if leading, releases the lease so a successor starts at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
    if (!this.leading) return;
    this.leading = false;
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const lease = await this.client.get<Lease>(this.path());
        if (lease.spec?.holderIdentity !== this.identity) return;
        await this.client.request("PUT", this.path(), {
          body: {
            ...lease,
            spec: {
              ...lease.spec,
              holderIdentity: null,
              leaseDurationSeconds: 1,
              renewTime: microTime(new Date()),
            },
          },
        });
        this.log.info({ identity: this.identity }, "Released leadership");
        return;
      } catch (error) {
        // 409: a renewal in flight changed the Lease; read it again.
        if (!isConflict(error) || attempt === 2) {
          this.log.warn({ err: (error as Error).message }, "Could not release the lease");
          return;
        }
      }
    }
  }

  private collection() {
    return `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(this.options.namespace)}/leases`;
  }

  private path() {
    return `${this.collection()}/${encodeURIComponent(this.options.name)}`;
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = microTime(new Date());
    const lease = await this.client.getOptional<Lease>(this.path());
    const mine = {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.options.leaseDurationSeconds,
      renewTime: now,
    };
    if (!lease) {
      try {
        await this.client.create(this.collection(), {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: { name: this.options.name, namespace: this.options.namespace },
          spec: { ...mine, acquireTime: now, leaseTransitions: 0 },
        });
        return true;
      } catch (error) {
        if (isConflict(error)) return false;
        throw error;
      }
    }
    const spec = lease.spec ?? {};
    const record = `${spec.holderIdentity}|${spec.renewTime}`;
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const holder = spec.holderIdentity;
    const duration = (spec.leaseDurationSeconds ?? this.options.leaseDurationSeconds) * 1000;
    const expired = Date.now() - this.observed.at >= duration;
    if (holder && holder !== this.identity && !expired) return false;
    const takeover = holder !== this.identity;
    try {
      await this.client.request("PUT", this.path(), {
        body: {
          apiVersion: "coordination.k8s.io/v1",
          kind: "Lease",
          metadata: {
            ...lease.metadata,
            name: this.options.name,
            namespace: this.options.namespace,
          },
          spec: {
            ...spec,
            ...mine,
            acquireTime: takeover ? now : spec.acquireTime,
            leaseTransitions: (spec.leaseTransitions ?? 0) + (takeover ? 1 : 0),
          },
        },
      });
      return true;
    } catch (error) {
      if (isConflict(error)) return false;
      throw error;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }
}

/** metav1.MicroTime wants exactly six fractional digits. */
function microTime(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

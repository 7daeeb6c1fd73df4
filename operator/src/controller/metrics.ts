import { KubeRequestMetrics } from "@launchbay/kube";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { SANDBOX_PHASES } from "../api/workshop.js";

/** The operator's Prometheus metrics, on their own registry. */
export class OperatorMetrics {
  readonly registry = new Registry();

  readonly reconcileDuration = new Histogram({
    name: "launchbay_operator_reconcile_duration_seconds",
    help: "Time one reconcile took",
    labelNames: ["controller", "result"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly timeToReady = new Histogram({
    name: "launchbay_operator_sandbox_time_to_ready_seconds",
    help: "From creation (or claim) to Ready",
    buckets: [1, 2, 5, 10, 20, 30, 45, 60, 90, 120, 300, 600],
    registers: [this.registry],
  });

  /** launchbay_operator_kube_requests_total and _kube_request_duration_seconds. */
  readonly kube = new KubeRequestMetrics(this.registry, "launchbay_operator_");

  readonly retries = new Counter({
    name: "launchbay_operator_reconcile_errors_total",
    help: "Reconciles that failed and were retried",
    labelNames: ["controller"] as const,
    registers: [this.registry],
  });

  readonly terminalErrors = new Counter({
    name: "launchbay_operator_reconcile_terminal_errors_total",
    help: "Reconciles that failed in a way retrying cannot fix (an invalid object); not retried",
    labelNames: ["controller"] as const,
    registers: [this.registry],
  });

  readonly sandboxesByPhase = new Gauge({
    name: "launchbay_operator_sandboxes",
    help: "Sandboxes by phase",
    labelNames: ["phase"] as const,
    registers: [this.registry],
  });

  readonly queueDepth = new Gauge({
    name: "launchbay_operator_workqueue_depth",
    help: "Keys waiting in the work queue",
    labelNames: ["controller"] as const,
    registers: [this.registry],
  });

  readonly isLeader = new Gauge({
    name: "launchbay_operator_leader",
    help: "1 while this replica holds the leader Lease",
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: "launchbay_operator_" });
  }

  /** Sets the phase gauge from counts (every phase present, zeros included). */
  setPhases(counts: Partial<Record<(typeof SANDBOX_PHASES)[number], number>>): void {
    for (const phase of SANDBOX_PHASES) this.sandboxesByPhase.set({ phase }, counts[phase] ?? 0);
  }

  /** Total API requests so far (the benchmark divides this by sandboxes). */
  totalRequests(): Promise<number> {
    return this.kube.total();
  }
}

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** The launcher's Prometheus metrics, on a registry of its own (one per app). */
export class LauncherMetrics {
  readonly registry = new Registry();

  readonly launches = new Counter({
    name: "launchbay_launch_requests_total",
    help: "Launch requests by outcome (existing, queued, claimed, waiting, full, rejected, failed)",
    labelNames: ["outcome"] as const,
    registers: [this.registry],
  });

  readonly launchSeconds = new Histogram({
    name: "launchbay_launch_duration_seconds",
    help: "Time from the launch request to the sandbox being Ready",
    buckets: [0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300],
    registers: [this.registry],
  });

  readonly httpSeconds = new Histogram({
    name: "launchbay_http_request_duration_seconds",
    help: "Launcher HTTP request latency by route and status code",
    labelNames: ["route", "method", "status"] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly proxyRequests = new Counter({
    name: "launchbay_proxy_requests_total",
    help: "Requests proxied to sandboxes by service and result",
    labelNames: ["service", "result"] as const,
    registers: [this.registry],
  });

  private countSandboxes: () => Record<string, number> = () => ({});

  readonly sandboxes = new Gauge({
    name: "launchbay_sandboxes",
    help: "Sandboxes by phase (Queued for launches waiting in the launcher)",
    labelNames: ["phase"] as const,
    registers: [this.registry],
    collect: () => {
      for (const [phase, n] of Object.entries(this.countSandboxes()))
        this.sandboxes.set({ phase }, n);
    },
  });

  /** Where the sandboxes gauge gets its numbers when Prometheus scrapes. */
  onCollectSandboxes(count: () => Record<string, number>): void {
    this.countSandboxes = count;
  }

  readonly rateLimited = new Counter({
    name: "launchbay_rate_limited_total",
    help: "Requests refused by a rate limit, by key kind",
    labelNames: ["kind"] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }
}

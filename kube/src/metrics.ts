import { Counter, Histogram, type Registry } from "prom-client";
import type { RequestObserver } from "./kube-client.js";

/**
 * Prometheus metrics of a KubeClient's requests, registered on the caller's registry with
 * its prefix: `<prefix>kube_requests_total{verb,resource,code}` and
 * `<prefix>kube_request_duration_seconds{verb,resource}`. Pass `observe` to the client.
 */
export class KubeRequestMetrics {
  readonly requests: Counter<"verb" | "resource" | "code">;
  readonly duration: Histogram<"verb" | "resource">;

  constructor(registry: Registry, prefix: string) {
    this.requests = new Counter({
      name: `${prefix}kube_requests_total`,
      help: "Kubernetes API requests by verb, resource and status code (0: no answer)",
      labelNames: ["verb", "resource", "code"] as const,
      registers: [registry],
    });
    this.duration = new Histogram({
      name: `${prefix}kube_request_duration_seconds`,
      help: "Time a Kubernetes API request took (watches excluded)",
      labelNames: ["verb", "resource"] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
  }

  readonly observe: RequestObserver = (verb, status, seconds, resource) => {
    this.requests.inc({ verb, resource, code: String(status) });
    if (verb !== "WATCH") this.duration.observe({ verb, resource }, seconds);
  };

  /** Requests so far (benchmarks divide this by sandboxes). */
  async total(): Promise<number> {
    const metric = await this.requests.get();
    return metric.values.reduce((sum, v) => sum + v.value, 0);
  }
}

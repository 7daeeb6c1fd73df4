import { Agent as HttpAgent, type IncomingMessage, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from "node:https";
import { createInterface } from "node:readline";
import type { KubeConfig } from "@kubernetes/client-node";
import { LauncherError } from "../../errors.js";

/** An error answer from the Kubernetes API, with its HTTP status and Status reason. */
export class KubeStatusError extends Error {
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "KubeStatusError";
  }
}

export type WatchEvent = {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: unknown;
};

/**
 * A small JSON client for the Kubernetes API over keep-alive HTTP(S). Credentials come
 * from a KubeConfig (client certificates or tokens; refreshed each minute so exec/
 * in-cluster tokens rotate).
 */
export class KubeRest {
  private headers: Record<string, string> = {};
  private refreshedAt = 0;

  private constructor(
    private readonly kc: KubeConfig,
    private readonly server: URL,
    private readonly tls: RequestOptions,
    private readonly agent: HttpAgent | HttpsAgent,
  ) {}

  static async create(kc: KubeConfig): Promise<KubeRest> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) {
      throw new LauncherError(
        "invalid-config",
        "the kubeconfig has no current cluster: set LAUNCHBAY_KUBECONFIG or run in a cluster",
      );
    }
    const server = new URL(cluster.server);
    const opts: RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    const tls: RequestOptions = {
      ca: opts.ca,
      cert: opts.cert,
      key: opts.key,
      servername: opts.servername,
    };
    if (opts.rejectUnauthorized !== undefined) tls.rejectUnauthorized = opts.rejectUnauthorized;
    const agentOptions = { keepAlive: true, maxSockets: 64 };
    const agent =
      server.protocol === "https:"
        ? new HttpsAgent({ ...agentOptions, ...tls } as ConstructorParameters<typeof HttpsAgent>[0])
        : new HttpAgent(agentOptions);
    return new KubeRest(kc, server, tls, agent);
  }

  private async authHeaders(): Promise<Record<string, string>> {
    if (Date.now() - this.refreshedAt > 60_000) {
      const opts: { headers?: Record<string, unknown> } = { headers: {} };
      await this.kc.applyToHTTPSOptions(opts as RequestOptions);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(opts.headers ?? {}))
        if (typeof v === "string") headers[k] = v;
      this.headers = headers;
      this.refreshedAt = Date.now();
    }
    return this.headers;
  }

  private async open(
    method: string,
    path: string,
    body: unknown,
    contentType: string | undefined,
    signal?: AbortSignal,
  ): Promise<IncomingMessage> {
    const url = new URL(path, this.server);
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers: Record<string, string | number> = {
      accept: "application/json",
      ...(await this.authHeaders()),
    };
    if (payload) {
      headers["content-type"] = contentType ?? "application/json";
      headers["content-length"] = payload.length;
    }
    const requester = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = requester(
        url,
        { method, headers, agent: this.agent, ...this.tls, signal },
        resolve,
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  async request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await this.open(method, path, body, contentType);
    const chunks: Buffer[] = [];
    for await (const chunk of res) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const status = res.statusCode ?? 0;
    if (status >= 400) {
      let reason = "Unknown";
      let message = text.slice(0, 500);
      try {
        const parsed = JSON.parse(text) as { reason?: string; message?: string };
        reason = parsed.reason ?? reason;
        message = parsed.message ?? message;
      } catch {
        // Not a Status object.
      }
      throw new KubeStatusError(status, reason, `${method} ${path}: ${status} ${message}`);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /**
   * Streams a watch until the server ends it, the signal aborts, or the stream fails.
   * Resolves normally when the server closes the stream (the caller re-watches).
   */
  async watch(
    path: string,
    onEvent: (event: WatchEvent) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await this.open("GET", path, undefined, undefined, signal);
    if ((res.statusCode ?? 0) >= 400) {
      res.resume();
      throw new KubeStatusError(
        res.statusCode ?? 0,
        "WatchFailed",
        `watch ${path}: HTTP ${res.statusCode}`,
      );
    }
    const lines = createInterface({ input: res });
    try {
      for await (const line of lines) {
        if (line.trim() === "") continue;
        onEvent(JSON.parse(line) as WatchEvent);
      }
    } catch (err) {
      if (!signal.aborted) throw err;
    }
  }

  close(): void {
    this.agent.destroy();
  }
}

import fastifyRateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { LauncherConfig, LimitRule } from "../config.js";
import { memoryRateLimitStore, type RateLimitStoreOptions } from "../core/rate-limit.js";
import { LauncherError } from "../errors.js";
import type { LauncherMetrics } from "./metrics.js";

/** What each limit counts (also the `kind` label of launchbay_rate_limited_total). */
export type LimitKind =
  | "ip"
  | "attendee"
  | "new-identity"
  | "launch"
  | "access-code-ip"
  | "access-code-workshop"
  | "organiser-sign-in";

/** A store class @fastify/rate-limit can construct; a shared one works across replicas. */
export type RateLimitStoreClass = new (
  options: RateLimitStoreOptions,
) => {
  incr: unknown;
  read: unknown;
  child: unknown;
};

const KEY = Symbol("launchbay.limitKey");
type Keyed = FastifyRequest & { [KEY]?: string };

const WHAT: Record<LimitKind, string> = {
  ip: "too many requests from this network address",
  attendee: "too many requests from this browser",
  "new-identity": "too many new visitors from this network address",
  launch: "too many sandboxes launched from this network address",
  "access-code-ip": "too many access-code attempts from this network address",
  "access-code-workshop": "too many access-code attempts for this workshop (from everyone)",
  "organiser-sign-in": "too many organiser sign-in attempts from this network address",
};

type Check = ReturnType<FastifyInstance["createRateLimit"]>;

/**
 * Every abuse limit of the launcher, on @fastify/rate-limit. Keys are the client address as
 * Fastify derives it with the configured proxy trust (IPv6 grouped by /64), an attendee id,
 * or the workshop as a whole.
 */
export class AbuseLimits {
  private constructor(
    private readonly checks: Record<LimitKind, Check>,
    private readonly metrics: LauncherMetrics,
  ) {}

  static async register(
    app: FastifyInstance,
    config: LauncherConfig,
    metrics: LauncherMetrics,
    options: { now: () => number; store?: RateLimitStoreClass },
  ): Promise<AbuseLimits> {
    await app.register(fastifyRateLimit, {
      global: false,
      store: (options.store ?? memoryRateLimitStore(options.now)) as never,
    });
    const bucket = (rule: { burst: number; perMinute: number }): LimitRule => ({
      max: rule.burst,
      windowSeconds: Math.max(1, Math.round((rule.burst / rule.perMinute) * 60)),
    });
    // With several replicas each one allows its share, so N replicas together never allow
    // more than the limit (web/README.md#abuse-limits).
    const replicas = config.backend === "kubernetes" ? config.kubernetes.replicas : 1;
    const share = (max: number) => Math.max(1, Math.floor(max / replicas));
    const byIp = (rule: LimitRule, backoff = false) =>
      app.createRateLimit({
        max: share(rule.max),
        timeWindow: rule.windowSeconds * 1000,
        ...(backoff ? { exponentialBackoff: true } : {}),
      } as never);
    const byKey = (rule: LimitRule) =>
      app.createRateLimit({
        max: share(rule.max),
        timeWindow: rule.windowSeconds * 1000,
        keyGenerator: (request) => (request as Keyed)[KEY] ?? "-",
      });
    const l = config.limits;
    return new AbuseLimits(
      {
        ip: byIp(bucket(config.rateLimitIp)),
        attendee: byKey(bucket(config.rateLimitAttendee)),
        "new-identity": byIp(l.newIdentitiesPerIp),
        launch: byIp(l.launchesPerIp),
        "access-code-ip": byIp(l.accessCodePerIp),
        "access-code-workshop": byKey(l.accessCodePerWorkshop),
        "organiser-sign-in": byIp(l.organiserSignInPerIp, true),
      },
      metrics,
    );
  }

  /**
   * Counts one event; over the limit it sets Retry-After and throws `rate-limited`.
   * `key` is the attendee id (attendee) or the workshop (access-code-workshop).
   */
  async take(
    kind: LimitKind,
    request: FastifyRequest,
    reply: FastifyReply,
    key?: string,
  ): Promise<void> {
    await this.apply(kind, request, reply, key, true);
  }

  /** Like take, without counting: throws when the limit is already reached. */
  async check(
    kind: LimitKind,
    request: FastifyRequest,
    reply: FastifyReply,
    key?: string,
  ): Promise<void> {
    await this.apply(kind, request, reply, key, false);
  }

  private async apply(
    kind: LimitKind,
    request: FastifyRequest,
    reply: FastifyReply,
    key: string | undefined,
    increment: boolean,
  ): Promise<void> {
    (request as Keyed)[KEY] = key;
    const result = await this.checks[kind](request, { increment });
    if (result.isAllowed) return;
    const reached = increment ? result.isExceeded : result.remaining <= 0 && result.ttl > 0;
    if (!reached) return;
    this.metrics.rateLimited.inc({ kind });
    const seconds = Math.max(1, result.ttlInSeconds);
    reply.header("retry-after", String(seconds));
    throw new LauncherError("rate-limited", `${WHAT[kind]}; try again in ${seconds} s`, {
      details: { retryAfterSeconds: seconds, limit: kind },
    });
  }
}

import { SANDBOX_ID_PATTERN } from "../core/ids.js";

/** What a request's Host names: the launcher, one sandbox's origin, or nothing of ours. */
export type HostKind =
  | { kind: "launcher" }
  | { kind: "sandbox"; id: string }
  | { kind: "unknown"; reason: string };

interface HostName {
  name: string;
  port: number | undefined;
}

const LOOPBACK_NAMES = ["localhost", "127.0.0.1", "[::1]"];
const DEFAULT_PORTS = new Set([80, 443]);

/** Splits `name[:port]` (IPv6 in brackets); undefined when it is not a host. */
export function parseHost(value: string | undefined): HostName | undefined {
  if (!value) return undefined;
  const match = /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::([0-9]{1,5}))?$/.exec(
    value.trim().toLowerCase(),
  );
  if (!match) return undefined;
  const port = match[2] === undefined ? undefined : Number(match[2]);
  if (port !== undefined && (port < 1 || port > 65535)) return undefined;
  return { name: match[1]!.replace(/\.$/, ""), port };
}

/**
 * The launcher's Host allow-list (DNS-rebinding defence) and the origins derived from it.
 * Nothing here ever trusts the request's own Host to say what the launcher's origin is.
 */
export class HostPolicy {
  private readonly configured: HostName[];

  constructor(
    publicHosts: readonly string[],
    private readonly sandboxDomain: string,
  ) {
    this.configured = publicHosts.map((h) => {
      const parsed = parseHost(h);
      if (!parsed) throw new Error(`public host ${h} is not a host name`);
      return parsed;
    });
  }

  /**
   * The launcher's own host names. `localPort` is the port the request arrived on; without
   * configured public hosts the loopback names with that port are the launcher (a request
   * injected without a socket has no port: any port then).
   */
  private launcherHosts(localPort: number | undefined): HostName[] {
    if (this.configured.length > 0) return this.configured;
    return LOOPBACK_NAMES.map((name) => ({ name, port: localPort }));
  }

  private isLauncher(host: HostName, localPort: number | undefined): boolean {
    return this.launcherHosts(localPort).some((allowed) => {
      if (allowed.name !== host.name) return false;
      if (allowed.port === undefined) {
        if (this.configured.length === 0) return true; // injected request: no socket port
        return host.port === undefined || DEFAULT_PORTS.has(host.port);
      }
      return allowed.port === host.port;
    });
  }

  /** The ports a sandbox origin may carry: none, the listening port, or a public host's. */
  private sandboxPortAllowed(port: number | undefined, localPort: number | undefined): boolean {
    if (port === undefined || DEFAULT_PORTS.has(port)) return true;
    if (localPort === undefined || port === localPort) return true;
    return this.configured.some((h) => h.port === port);
  }

  classify(hostHeader: string | undefined, localPort: number | undefined): HostKind {
    const host = parseHost(hostHeader);
    if (!host) return { kind: "unknown", reason: "the request has no valid Host header" };
    if (this.isLauncher(host, localPort)) return { kind: "launcher" };
    const suffix = `.${this.sandboxDomain}`;
    if (host.name.endsWith(suffix)) {
      const id = host.name.slice(0, -suffix.length);
      if (
        !id.includes(".") &&
        SANDBOX_ID_PATTERN.test(id) &&
        this.sandboxPortAllowed(host.port, localPort)
      ) {
        return { kind: "sandbox", id };
      }
    }
    return {
      kind: "unknown",
      reason: `this launcher does not answer for the host ${hostHeader}; configure it with --public-host`,
    };
  }

  /** Origins allowed to change things on the launcher: its own public hosts, never the Host. */
  launcherOrigins(
    protocol: string,
    localPort: number | undefined,
    extra: readonly string[],
  ): string[] {
    const origins = extra.map((o) => o.toLowerCase().replace(/\/$/, ""));
    for (const h of this.launcherHosts(localPort)) {
      if (h.port === undefined && this.configured.length === 0) continue; // no socket, no origin
      origins.push(`${protocol}://${h.name}${h.port === undefined ? "" : `:${h.port}`}`);
    }
    return origins;
  }

  /**
   * The origin of a sandbox for a browser that reached the launcher at `launcherHost`: same
   * scheme, same port, host `<id>.<sandboxDomain>`.
   */
  sandboxOrigin(id: string, protocol: string, launcherHost: string | undefined): string {
    const port = parseHost(launcherHost)?.port;
    const defaultPort = protocol === "https" ? 443 : 80;
    const suffix = port === undefined || port === defaultPort ? "" : `:${port}`;
    return `${protocol}://${id}.${this.sandboxDomain}${suffix}`;
  }
}

declare module "fastify" {
  interface FastifyContextConfig {
    /** A route that answers on any Host (probes and scrapers address pods by IP). */
    anyHost?: boolean;
    /** A route served on sandbox origins (the proxy and the handover), not the launcher's. */
    origin?: "sandbox";
  }
  interface FastifyRequest {
    /** What the Host names; set by the host check before routing. */
    hostKind?: HostKind;
  }
}

import { SECRET_KEYS, SECRET_NAME } from "../api/constants.js";
import { notebookBasePath } from "../core/names.js";
import type { Logger } from "../logger.js";
import type { KubeClient } from "@launchbay/kube";
import { resourcePath } from "./resources.js";

/**
 * Asks a sandbox's notebook server when it was last active: Jupyter's `/api/status`
 * answers `{ last_activity }` to a request carrying the notebook token (read from the
 * sandbox Secret). The URL comes from a template so an out-of-cluster operator (or a
 * test) can point it elsewhere.
 */
export class IdleProbe {
  private readonly tokens = new Map<string, string>();

  constructor(
    private readonly client: KubeClient,
    private readonly urlTemplate: string,
    private readonly log: Logger,
  ) {}

  /** Last activity in epoch ms, or undefined if the notebook did not answer usefully. */
  async lastActivity(sandbox: { name: string; namespace: string }): Promise<number | undefined> {
    const token = await this.token(sandbox.namespace);
    if (!token) return undefined;
    const base = this.urlTemplate
      .replaceAll("{namespace}", sandbox.namespace)
      .replaceAll("{name}", sandbox.name)
      .replaceAll("{basePath}", notebookBasePath(sandbox.name));
    const url = `${base.replace(/\/$/, "")}/api/status`;
    try {
      const response = await fetch(url, {
        headers: { Authorization: `token ${token}` },
        signal: AbortSignal.timeout(5000),
      });
      if (!response.ok) {
        this.log.debug({ url, status: response.status }, "Notebook status probe failed");
        return undefined;
      }
      const body = (await response.json()) as { last_activity?: string };
      const at = body.last_activity ? Date.parse(body.last_activity) : Number.NaN;
      return Number.isNaN(at) ? undefined : at;
    } catch (error) {
      this.log.debug({ url, err: (error as Error).message }, "Notebook status probe failed");
      return undefined;
    }
  }

  forget(namespace: string): void {
    this.tokens.delete(namespace);
  }

  private async token(namespace: string): Promise<string | undefined> {
    const cached = this.tokens.get(namespace);
    if (cached) return cached;
    const secret = await this.client.getOptional<{ data?: Record<string, string> }>(
      resourcePath("Secret", { namespace, name: SECRET_NAME }),
    );
    const encoded = secret?.data?.[SECRET_KEYS.notebookToken];
    if (!encoded) return undefined;
    const token = Buffer.from(encoded, "base64").toString("utf8");
    this.tokens.set(namespace, token);
    return token;
  }
}

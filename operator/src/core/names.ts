import { createHash } from "node:crypto";
import { PORTS, SERVICE_NAMES } from "../api/constants.js";
import type { SandboxEndpoints } from "../api/sandbox.js";

/** Identity of a Sandbox as the naming functions need it. */
export interface SandboxIdentity {
  namespace: string;
  name: string;
  uid: string;
}

/**
 * The namespace holding a sandbox's workloads: `sbx-<name>-<hash>`, at most 63 characters.
 * The hash covers the uid, so a Sandbox recreated under the same name while its old
 * namespace is still terminating gets a fresh namespace.
 */
export function sandboxNamespaceName(id: SandboxIdentity): string {
  const hash = createHash("sha256")
    .update(`${id.namespace}/${id.name}/${id.uid}`)
    .digest("hex")
    .slice(0, 8);
  const stem = id.name
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .slice(0, 40)
    .replace(/-+$/, "");
  return `sbx-${stem}-${hash}`;
}

/** The notebook's base URL path (Jupyter's `ServerApp.base_url`). */
export function notebookBasePath(sandboxName: string): string {
  return `/s/${sandboxName}/notebook/`;
}

/**
 * The dashboard's path on the sandbox's origin (the launcher serves it there, beside the
 * notebook), which the client links to when it connects (`LAUNCHBAY_DASHBOARD_URL`).
 */
export function dashboardPath(sandboxName: string): string {
  return `/s/${sandboxName}/dashboard/`;
}

/** In-cluster addresses of a sandbox's services. */
export function sandboxEndpoints(namespace: string, sandboxName: string): SandboxEndpoints {
  const scheduler = `${SERVICE_NAMES.scheduler}.${namespace}.svc`;
  return {
    scheduler: `ws://${scheduler}:${PORTS.scheduler}`,
    dashboard: `http://${scheduler}:${PORTS.scheduler}/dashboard/`,
    notebook: `http://${SERVICE_NAMES.notebook}.${namespace}.svc:${PORTS.notebook}${notebookBasePath(sandboxName)}`,
  };
}

/** `namespace/name`, the work-queue key of a namespaced resource. */
export function resourceKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

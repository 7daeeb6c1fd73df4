import { writeFile } from "node:fs/promises";
import { base64File, type CertificatePaths } from "./certificates.js";

/** A kubeconfig with one cluster, one client-certificate user and one context, certificates inline. */
export async function writeKubeconfig(
  path: string,
  options: {
    server: string;
    caFile: string;
    client: CertificatePaths;
    user: string;
    clusterName?: string;
  },
): Promise<void> {
  const cluster = options.clusterName ?? "launchbay-test";
  const config = {
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: cluster,
        cluster: {
          server: options.server,
          "certificate-authority-data": await base64File(options.caFile),
        },
      },
    ],
    users: [
      {
        name: options.user,
        user: {
          "client-certificate-data": await base64File(options.client.cert),
          "client-key-data": await base64File(options.client.key),
        },
      },
    ],
    contexts: [{ name: cluster, context: { cluster, user: options.user } }],
    "current-context": cluster,
    preferences: {},
  };
  // JSON is YAML; kubectl, helm and client libraries all read it.
  await writeFile(path, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

import { randomBytes } from "node:crypto";
import { KubeClient, loadKubeConfig, watchUntil } from "@launchbay/kube";

/** A KubeClient for a kubeconfig file (e.g. inject("k8s").kubeconfig). */
export function kubeClientFrom(path: string): Promise<KubeClient> {
  return KubeClient.create(loadKubeConfig(path, "default", "start the test control plane"));
}

/** Creates a namespace with a unique name and waits for its `default` ServiceAccount (pods need it). */
export async function createTestNamespace(
  client: KubeClient,
  prefix: string,
  labels: Record<string, string> = {},
): Promise<string> {
  const name = `${prefix}-${randomBytes(4).toString("hex")}`;
  await client.create("/api/v1/namespaces", { metadata: { name, labels } });
  await watchUntil(
    client,
    `/api/v1/namespaces/${name}/serviceaccounts`,
    { name: "default", what: `the default ServiceAccount in ${name}` },
    (items) => items.length > 0,
  );
  return name;
}

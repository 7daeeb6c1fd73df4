import { KubeClient, loadKubeConfig, watchUntil } from "@launchbay/kube";
import { customResourceDefinitions } from "@launchbay/operator";

/** A KubeClient for the admin kubeconfig of the test control plane. */
export function connect(kubeconfig: string): Promise<KubeClient> {
  return KubeClient.create(loadKubeConfig(kubeconfig, "default", "start the test control plane"), {
    maxInflight: 64,
  });
}

const CRD_PATH = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions";

/** Applies the generated CRDs and waits until the API server serves them. */
export async function installCrds(client: KubeClient): Promise<void> {
  for (const crd of customResourceDefinitions()) {
    await client.apply(`${CRD_PATH}/${crd.metadata.name}`, crd, "launchbay-tests");
    await watchUntil<{ status?: { conditions?: { type: string; status: string }[] } }>(
      client,
      CRD_PATH,
      {
        name: crd.metadata.name,
        timeoutMs: 30_000,
        what: `CRD ${crd.metadata.name} to be Established`,
      },
      ([o]) =>
        o?.status?.conditions?.some((c) => c.type === "Established" && c.status === "True") ??
        false,
    );
  }
}

export async function createNamespace(
  client: KubeClient,
  name: string,
  labels: Record<string, string> = {},
) {
  await client.create("/api/v1/namespaces", {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: { name, labels },
  });
}

import type {} from "vitest";

/** What the k8s vitest project's global setup hands to tests (`inject("k8s")`). */
export interface ProvidedK8s {
  /** Admin kubeconfig path. */
  kubeconfig: string;
  server: string;
  /** Directory with kubectl, helm, kwok... */
  toolsDir: string;
  /** Names of the Ready kwok nodes. */
  nodes: string[];
}

declare module "vitest" {
  export interface ProvidedContext {
    k8s: ProvidedK8s;
  }
}

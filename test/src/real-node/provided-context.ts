import type {} from "vitest";

/** What the real-node vitest project's global setup hands to tests (`inject("realNode")`). */
export type ProvidedRealNode =
  | {
      /** Why the real node could not start here (tests skip, saying so; never in CI). */
      skipped: string;
    }
  | {
      skipped?: undefined;
      kubeconfig: string;
      server: string;
      toolsDir: string;
      /** Chart values pointing at the images imported into the node. */
      valuesFile: string;
      nodeName: string;
    };

declare module "vitest" {
  export interface ProvidedContext {
    realNode: ProvidedRealNode;
  }
}

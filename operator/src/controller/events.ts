import { randomBytes } from "node:crypto";
import type { Logger } from "../logger.js";
import type { KubeClient } from "@launchbay/kube";
import { resourcePath } from "./resources.js";

export interface InvolvedObject {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

/** Records Kubernetes Events on our resources (best effort: a failure is only logged). */
export class EventRecorder {
  constructor(
    private readonly client: KubeClient,
    private readonly log: Logger,
    private readonly component = "launchbay-operator",
  ) {}

  async record(
    object: InvolvedObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): Promise<void> {
    const now = new Date().toISOString();
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: {
        name: `${object.name.slice(0, 200)}.${randomBytes(6).toString("hex")}`,
        namespace: object.namespace,
      },
      involvedObject: object,
      reason,
      message: message.slice(0, 1024),
      type,
      source: { component: this.component },
      firstTimestamp: now,
      lastTimestamp: now,
      count: 1,
      reportingComponent: this.component,
      reportingInstance: this.component,
    };
    try {
      await this.client.create(resourcePath("Event", { namespace: object.namespace }), event);
    } catch (error) {
      this.log.warn({ err: (error as Error).message, reason }, "Could not record event");
    }
  }
}

/** Stable codes for failures of the Kubernetes test control plane. */
export const K8sHarnessErrorCode = {
  /** The pinned binaries are not built (run `bash scripts/setup.sh k8s`). */
  ToolsMissing: "K8S_TOOLS_MISSING",
  /** An option passed to startControlPlane is invalid. */
  InvalidOptions: "K8S_INVALID_OPTIONS",
  /** A host program the harness needs (openssl) is not installed. */
  HostProgramMissing: "K8S_HOST_PROGRAM_MISSING",
  /** A component exited before it became ready. */
  ComponentExited: "K8S_COMPONENT_EXITED",
  /** A component or node did not become ready in time. */
  NotReady: "K8S_NOT_READY",
  /** The state of a background (`k8s:up`) control plane is unreadable. */
  BadState: "K8S_BAD_STATE",
  /** A real node cannot run here (not root, a program or kernel feature missing). */
  RealNodeUnsupported: "K8S_REAL_NODE_UNSUPPORTED",
  /** A real node is already running on this machine. */
  RealNodeBusy: "K8S_REAL_NODE_BUSY",
  /** The real node's binaries or the launchbay images are not built. */
  RealNodeAssetsMissing: "K8S_REAL_NODE_ASSETS_MISSING",
  /** Tearing a real node down left something behind. */
  RealNodeTeardownIncomplete: "K8S_REAL_NODE_TEARDOWN_INCOMPLETE",
} as const;
export type K8sHarnessErrorCode = (typeof K8sHarnessErrorCode)[keyof typeof K8sHarnessErrorCode];

/** What each code means and what to do about it (checked by a test to cover every code). */
export const k8sHarnessErrorHelp: Record<K8sHarnessErrorCode, string> = {
  K8S_TOOLS_MISSING:
    "The pinned Kubernetes binaries are not built: run `bash scripts/setup.sh k8s` (a cold build takes tens of minutes), or point LAUNCHBAY_K8S_TOOLS at a directory holding them.",
  K8S_INVALID_OPTIONS:
    "An option passed to startControlPlane is invalid: the message names the field and what it accepts.",
  K8S_HOST_PROGRAM_MISSING:
    "A host program the harness needs is missing: install it (Debian: `apt-get install openssl`).",
  K8S_COMPONENT_EXITED:
    "A control-plane process exited during start-up: the message holds the tail of its log; the full log is in <dataDir>/logs.",
  K8S_NOT_READY:
    "A component or node did not become ready in time: the machine may be overloaded; raise startTimeoutMs or look at <dataDir>/logs.",
  K8S_BAD_STATE:
    "The state file of a background control plane is unreadable: stop its processes by hand (pids in the file) and delete its directory.",
  K8S_REAL_NODE_UNSUPPORTED:
    "A real node needs root, cgroups, iptables, ipset, containerd and runc: the message says what is missing (run `bash scripts/setup.sh realnode` as root).",
  K8S_REAL_NODE_BUSY:
    "A real node already runs on this machine (one per machine: it owns the bridge, iptables chains and /var/lib/kubelet): stop it with `npm run k8s:down`.",
  K8S_REAL_NODE_ASSETS_MISSING:
    "The real node's binaries or the images are not built: run `bash scripts/setup.sh realnode` and `npm run images`.",
  K8S_REAL_NODE_TEARDOWN_INCOMPLETE:
    "Tearing the real node down left something behind: the message lists each step that failed; run `npm run k8s:down` again, or remove it by hand.",
};

export class K8sHarnessError extends Error {
  override readonly name = "K8sHarnessError";
  constructor(
    readonly code: K8sHarnessErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

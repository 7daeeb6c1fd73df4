import { execFile } from "node:child_process";
import { access, constants } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { K8sHarnessError, K8sHarnessErrorCode } from "./errors.js";

/** The binaries a control plane runs; all must be in the tools directory. */
export const requiredTools = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "kubectl",
  "kwok",
  "helm",
] as const;

/** test/k8s, from both test/src/k8s (vitest) and test/dist/k8s (built). */
export const k8sAssetsDir = fileURLToPath(new URL("../../k8s/", import.meta.url));

/**
 * Finds the directory holding the pinned binaries: $LAUNCHBAY_K8S_TOOLS if set,
 * else the cache directory test/k8s/build-tools.sh built (it never builds here).
 */
export async function findToolsDir(explicit?: string): Promise<string> {
  const dir = explicit ?? process.env.LAUNCHBAY_K8S_TOOLS ?? (await printedToolsDir());
  const missing: string[] = [];
  for (const tool of requiredTools) {
    try {
      await access(join(dir, tool), constants.X_OK);
    } catch {
      missing.push(tool);
    }
  }
  if (missing.length > 0) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.ToolsMissing,
      `${dir} lacks ${missing.join(", ")}: run \`bash scripts/setup.sh k8s\` to build the Kubernetes test tools`,
    );
  }
  return dir;
}

async function printedToolsDir(): Promise<string> {
  try {
    const { stdout } = await promisify(execFile)("bash", [
      join(k8sAssetsDir, "build-tools.sh"),
      "--print-dir",
    ]);
    return stdout.trim();
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new K8sHarnessError(
      K8sHarnessErrorCode.ToolsMissing,
      stderr || "the Kubernetes test tools are not built: run `bash scripts/setup.sh k8s`",
      { cause: error },
    );
  }
}

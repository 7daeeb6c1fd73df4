import { execFile } from "node:child_process";
import { access, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { K8sHarnessError, K8sHarnessErrorCode } from "../errors.js";
import { k8sAssetsDir } from "../tools-dir.js";

export interface NodeImage {
  name: string;
  ref: string;
  archive: string;
}

export interface RealNodeAssets {
  /** kubelet, kube-proxy, kube-router, coredns, pause. */
  binDir: string;
  pause: NodeImage;
  coredns: NodeImage;
  /** scheduler, worker, notebook, web, operator (scripts/images.sh). */
  images: NodeImage[];
  /** Chart values pointing at those images (LAUNCHBAY_IMAGE_VALUES). */
  valuesFile: string;
}

const launchbayImages = ["scheduler", "worker", "notebook", "web", "operator"] as const;

/** Finds the node binaries (test/k8s/build-node-tools.sh) and the built images (scripts/images.sh). */
export async function findRealNodeAssets(env = process.env): Promise<RealNodeAssets> {
  let nodeDir: string;
  try {
    const { stdout } = await promisify(execFile)("bash", [
      join(k8sAssetsDir, "build-node-tools.sh"),
      "--print-dir",
    ]);
    nodeDir = stdout.trim();
  } catch (error) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.RealNodeAssetsMissing,
      (error as { stderr?: string }).stderr?.trim() ||
        "the real node's binaries are not built: run `bash scripts/setup.sh realnode`",
      { cause: error },
    );
  }
  const nodeImage = async (name: string): Promise<NodeImage> => ({
    name,
    ref: (await readFile(join(nodeDir, "images", `${name}.ref`), "utf8")).trim(),
    archive: join(nodeDir, "images", `${name}.oci.tar`),
  });

  const imagesDir = join(env.LAUNCHBAY_CACHE ?? join(homedir(), ".cache", "launchbay"), "images");
  let built: Record<string, string>;
  try {
    built = Object.fromEntries(
      (await readFile(join(imagesDir, "images.env"), "utf8"))
        .split("\n")
        .filter((line) => line.includes("="))
        .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
    );
  } catch (error) {
    throw new K8sHarnessError(
      K8sHarnessErrorCode.RealNodeAssetsMissing,
      `the launchbay images are not built (${imagesDir}/images.env is missing): run \`npm run images\``,
      { cause: error },
    );
  }
  const images = launchbayImages.map((name) => {
    const upper = name.toUpperCase();
    const ref = built[`${upper}_IMAGE`];
    const archive = built[`${upper}_ARCHIVE`];
    if (!ref || !archive) {
      throw new K8sHarnessError(
        K8sHarnessErrorCode.RealNodeAssetsMissing,
        `${imagesDir}/images.env names no ${name} image: run \`npm run images\``,
      );
    }
    return { name, ref, archive };
  });
  for (const image of images) {
    await access(image.archive).catch((error) => {
      throw new K8sHarnessError(
        K8sHarnessErrorCode.RealNodeAssetsMissing,
        `${image.archive} is missing: run \`npm run images\``,
        { cause: error },
      );
    });
  }
  return {
    binDir: join(nodeDir, "bin"),
    pause: await nodeImage("pause"),
    coredns: await nodeImage("coredns"),
    images,
    valuesFile: join(imagesDir, "values.yaml"),
  };
}

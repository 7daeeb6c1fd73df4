import { configDefaults, defineConfig } from "vitest/config";

const k8sTestFolders = ["test/src/{k8s,operator,helm,web-k8s}/**/*.test.ts"];
const realNodeTests = ["test/src/real-node/**/*.test.ts"];

// Tests on real pods: the control plane plus one real node (containerd, kubelet, kube-proxy,
// kube-router, CoreDNS) running the images of `npm run images`, started by
// test/src/real-node/global-setup.ts. Root only. `npm test` (scripts/test.sh) runs them in
// a vitest run of their own after the other projects; `npm run test:real-node` alone.
const realNodeProject = {
  extends: true,
  test: {
    name: "real-node",
    include: realNodeTests,
    globalSetup: ["test/src/real-node/global-setup.ts"],
    testTimeout: 180_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
} as const;

// Unit tests live beside the code (`<part>/src/**/*.test.ts`) and import other parts
// through their package names; the `source` export condition resolves those to
// TypeScript sources, so unit tests need no build. Cross-part tests in `test/` start
// the built CLIs (`dist/`) as real processes: `npm test` builds first.
export default defineConfig({
  resolve: { conditions: ["source"] },
  ssr: { resolve: { conditions: ["source"], externalConditions: ["source"] } },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: [
            "{protocol,scheduler,worker,client,kube,archive,operator,web}/src/**/*.test.ts",
          ],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/src/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...k8sTestFolders, ...realNodeTests],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
      {
        // Tests against one real control plane (etcd, kube-apiserver, controller manager,
        // scheduler, kwok nodes) that test/src/k8s/global-setup.ts starts for the run.
        extends: true,
        test: {
          name: "k8s",
          include: k8sTestFolders,
          globalSetup: ["test/src/k8s/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
      ...(process.env.LAUNCHBAY_REAL_NODE_TESTS === "1" ? [realNodeProject] : []),
    ],
    testTimeout: 30_000,
    reporters: ["default"],
  },
});

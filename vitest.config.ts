import { defineConfig } from "vitest/config";

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
          include: ["{scheduler,worker,client,operator,web}/src/**/*.test.ts"],
        },
      },
      {
        extends: true,
        test: {
          name: "integration",
          include: ["test/src/**/*.test.ts"],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
    testTimeout: 30_000,
    reporters: ["default"],
  },
});

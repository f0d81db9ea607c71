import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/summary-reporter.ts"],
    projects: [
      {
        extends: true,
        test: {
          name: "unit",
          include: ["src/**/*.test.ts", "dashboard/src/**/*.test.ts"],
          // The unit files run before the process files, alone: one worker per core (vitest's
          // default leaves one core idle, which on a 2-core machine ran them one at a time).
          maxWorkers: availableParallelism(),
        },
      },
      {
        extends: true,
        test: {
          name: "process",
          include: ["test/**/*.test.ts"],
          globalSetup: ["./test/support/global-setup.ts"],
          testTimeout: 120_000,
          hookTimeout: 600_000,
          // Process tests start real engines; on a 2-core machine running them one file at a time
          // keeps timings honest and memory flat.
          fileParallelism: false,
        },
      },
    ],
  },
});

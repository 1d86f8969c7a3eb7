import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The machine has 2 cores and several suites spawn etcd, gRPC nodes and workers.
    maxWorkers: 2,
    fileParallelism: true,
  },
});

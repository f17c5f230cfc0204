import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // Integration tests drive a real Docker engine; on a 2-core machine they
    // are slower than unit tests but must still finish, not flake.
    testTimeout: 120_000,
    // One file at a time: the integration files share one engine and two cores,
    // and stage time limits must measure the code under test, not the neighbours.
    fileParallelism: false,
    hookTimeout: 300_000,
    // Tests exercise the from-scratch path unless they turn snapshots on themselves
    // (tests/integration/snapshots.test.ts, under a repository of their own).
    env: { SWE_HARNESS_SNAPSHOTS: 'off' },
  },
});

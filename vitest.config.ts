import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Time in tests is driven by fake timers or SimulatedClock; this only catches hangs.
    testTimeout: 30_000,
    // In CI, also write a machine-readable summary that .ci/run turns into "N passed, N failed".
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: 'test-output/vitest.json' },
  },
});

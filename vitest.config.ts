import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Time in tests is driven by fake timers or SimulatedClock; this only catches hangs.
    testTimeout: 30_000,
  },
});

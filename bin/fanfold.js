#!/usr/bin/env node
// The `fanfold` command. The package is built to dist/ on install (`prepare`).
import { main } from '../dist/src/cli/main.js';

process.exitCode = await main(process.argv);

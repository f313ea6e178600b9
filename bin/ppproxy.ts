#!/usr/bin/env node
/** ppproxy's command-line entry point; everything happens in src/app/cli.ts. */
import { main } from "../src/app/cli.js";

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`ppproxy: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);

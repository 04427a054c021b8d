// After `vite build`: a Brotli (.br) and a gzip (.gz) copy beside every text file of dist/,
// when smaller, so the `web` component can answer `Accept-Encoding` without compressing on
// every request (Spin components have no compression of their own).

import { brotliCompressSync, constants, gzipSync } from "node:zlib";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const TEXT = /\.(html|js|mjs|css|svg|json|map|txt|webmanifest)$/;

function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

let saved = 0;
for (const path of files("dist").filter((p) => TEXT.test(p))) {
  const bytes = readFileSync(path);
  const br = brotliCompressSync(bytes, { params: { [constants.BROTLI_PARAM_QUALITY]: 11 } });
  const gz = gzipSync(bytes, { level: 9 });
  if (br.length < bytes.length) writeFileSync(`${path}.br`, br);
  if (gz.length < bytes.length) writeFileSync(`${path}.gz`, gz);
  saved += bytes.length - Math.min(br.length, bytes.length);
}
console.log(`compressed copies written (Brotli saves ${(saved / 1024).toFixed(0)} KiB)`);

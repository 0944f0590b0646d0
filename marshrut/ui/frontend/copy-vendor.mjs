// Copies the package files listed in vendor.json from node_modules into ui/static/build/vendor/
// (run by `npm run build` after esbuild): the pages, and the wheel, then need no node_modules.
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ui = join(dirname(fileURLToPath(import.meta.url)), '..');
const modules = join(process.cwd(), 'node_modules');
const { files } = JSON.parse(readFileSync(join(ui, 'frontend', 'vendor.json'), 'utf8'));
for (const file of files) {
  const target = join(ui, 'static', 'build', 'vendor', file);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(join(modules, file), target);
}

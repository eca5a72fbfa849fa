/**
 * Browser libraries read from node_modules to be inlined into a generated page, so the page opens from
 * file:// with no network. `</script` inside a library is escaped so it cannot close the tag early.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `node_modules/PKG/FILE` of the checkout at `root` (a copy nested under `within` first, where npm put one). */
export function packageFile(root: string, pkg: string, file: string, within?: string): string {
  const candidates = [...(within ? [join(root, 'node_modules', within, 'node_modules', pkg, file)] : []), join(root, 'node_modules', pkg, file)];
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error(`${candidates.at(-1)} is missing: run \`npm install\` (it is a devDependency)`);
  return readFileSync(found, 'utf8');
}

/** Text safe inside a `<script>` element. */
export function scriptText(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1');
}

/** JSON safe inside a `<script>` element (no `<`, so no `</script>` and no `<!--`). */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** Text safe in HTML. */
export function html(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

// Which `testgen.*` settings go to the server, and in what shape.
//
// VS Code's getConfiguration().get() answers a default for every key the
// user never set; the server treats the client's settings as one layer that
// overrides lower layers (pyproject.toml's [tool.testgen] comes after it,
// built-in defaults before) key by key, so sending defaults would silently
// override the project's own pyproject settings. Only keys the user set
// (user, workspace or folder settings) are sent. No `vscode` import.

/** Settings the extension itself reads; never sent to the server. */
export const CLIENT_ONLY_KEYS: readonly string[] = ['path', 'trace.server'];

export const SECTION = 'testgen';

/** What `WorkspaceConfiguration.inspect(key)` answers (the parts used here). */
export interface Inspected {
  globalValue?: unknown;
  workspaceValue?: unknown;
  workspaceFolderValue?: unknown;
}

export type Layer = { [key: string]: unknown };

interface ConfigurationContribution {
  properties?: Record<string, { default?: unknown }>;
}

/**
 * The server's keys (relative to `testgen.`), read from the extension's own
 * package.json `contributes.configuration`, the one list on the client side.
 */
export function serverKeys(packageJson: unknown): string[] {
  const contributes = (packageJson as { contributes?: { configuration?: unknown } }).contributes;
  const raw = contributes?.configuration;
  const blocks = (Array.isArray(raw) ? raw : raw ? [raw] : []) as ConfigurationContribution[];
  const keys: string[] = [];
  for (const block of blocks) {
    for (const full of Object.keys(block.properties ?? {})) {
      if (!full.startsWith(`${SECTION}.`)) {
        continue;
      }
      const key = full.slice(SECTION.length + 1);
      if (!CLIENT_ONLY_KEYS.includes(key)) {
        keys.push(key);
      }
    }
  }
  return keys;
}

/** The value the user set for one key, the most specific scope winning; undefined when unset. */
export function userValue(i: Inspected | undefined): unknown {
  if (!i) {
    return undefined;
  }
  for (const v of [i.workspaceFolderValue, i.workspaceValue, i.globalValue]) {
    // null in settings.json means "unset" for every nullable testgen key.
    if (v !== undefined && v !== null) {
      return v;
    }
  }
  return undefined;
}

/**
 * The layer the server gets: `{python, runOnSave, ..., explore: {budgetS},
 * llm: {model}}` with only the keys the user set.
 */
export function userLayer(keys: readonly string[], inspect: (key: string) => Inspected | undefined): Layer {
  const layer: Layer = {};
  for (const key of keys) {
    const value = userValue(inspect(key));
    if (value !== undefined) {
      setPath(layer, key.split('.'), value);
    }
  }
  return layer;
}

function setPath(target: Layer, path: string[], value: unknown): void {
  let node = target;
  for (const part of path.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      node[part] = {};
    }
    node = node[part] as Layer;
  }
  node[path[path.length - 1]] = value;
}

/**
 * The answer for one `workspace/configuration` item whose section is
 * `testgen` or below it (`testgen.llm`): that part of the layer, or
 * undefined for another section (answered by VS Code as usual).
 */
export function sectionOf(layer: Layer, section: string | undefined): Layer | undefined {
  if (section === SECTION) {
    return layer;
  }
  if (!section?.startsWith(`${SECTION}.`)) {
    return undefined;
  }
  let node: unknown = layer;
  for (const part of section.slice(SECTION.length + 1).split('.')) {
    node = typeof node === 'object' && node !== null ? (node as Layer)[part] : undefined;
  }
  return typeof node === 'object' && node !== null && !Array.isArray(node) ? (node as Layer) : {};
}

/** Dotted keys set in `before` and no longer in `after`. */
export function removedKeys(before: Layer, after: Layer, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(before)) {
    const key = prefix ? `${prefix}.${k}` : k;
    const now = after[k];
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const sub = typeof now === 'object' && now !== null && !Array.isArray(now) ? (now as Layer) : {};
      out.push(...removedKeys(v as Layer, sub, key));
    } else if (now === undefined) {
      out.push(key);
    }
  }
  return out;
}

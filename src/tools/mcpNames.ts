/**
 * Names of MCP tools as the model calls them. MCP allows names the Messages API does not (dots,
 * slashes, up to 128 characters); such a name is sanitized — every other character becomes `_`
 * and it is cut to 64 — and, should that collide with another tool of the same server, gets a
 * `_2`, `_3`… suffix. The original name is kept beside it for `tools/call`.
 */
import { TOOL_NAME_PATTERN } from './tool.ts';

/**
 * A name the API accepts for the MCP tool `name`.
 *
 * @example
 * sanitizeToolName('files.read'); // → 'files_read'
 */
export function sanitizeToolName(name: string): string {
  const cleaned = name.replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return cleaned === '' ? 'tool' : cleaned;
}

/**
 * Model-facing names for one server's tools, in the same order: a valid name stays as it is, an
 * invalid one is sanitized and made unique among them.
 *
 * @example
 * assignToolNames(['files.read', 'files_read', 'echo']); // → ['files_read_2', 'files_read', 'echo']
 */
export function assignToolNames(names: readonly string[]): string[] {
  const valid = new Set(names.filter((name) => TOOL_NAME_PATTERN.test(name)));
  const used = new Set<string>();
  return names.map((name) => {
    if (TOOL_NAME_PATTERN.test(name) && !used.has(name)) {
      used.add(name);
      return name;
    }
    const base = sanitizeToolName(name);
    let candidate = base;
    for (let n = 2; valid.has(candidate) || used.has(candidate); n += 1) {
      const suffix = `_${n}`;
      candidate = `${base.slice(0, 64 - suffix.length)}${suffix}`;
    }
    used.add(candidate);
    return candidate;
  });
}

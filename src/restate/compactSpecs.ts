/**
 * Specialists as they travel inside Restate (journal entries, chunk requests, the fan-out's
 * stored input): each one's supervision policy replaced by its index in a table of the distinct
 * policies. A fan-out's specialists almost always share one or a few policies, and the policy is
 * most of a specialist's JSON, so at 10,000 specialists this is megabytes less to write, send and
 * parse on every step that carries them.
 */
import type { SpecialistSpec } from '../config.ts';
import type { SupervisionPolicy } from '../policy.ts';

/** Specialists with their policies pooled. Plain JSON. */
export interface CompactSpecs {
  policies: SupervisionPolicy[];
  specs: Array<Omit<SpecialistSpec, 'policy'> & { policy: number }>;
}

/** Pools the policies of `specs` (equal policies, by their JSON, share one entry). */
export function compactSpecs(specs: readonly SpecialistSpec[]): CompactSpecs {
  const policies: SupervisionPolicy[] = [];
  const indexOf = new Map<string, number>();
  const compact = specs.map(({ policy, ...rest }) => {
    const key = JSON.stringify(policy);
    let index = indexOf.get(key);
    if (index === undefined) {
      index = policies.push(policy) - 1;
      indexOf.set(key, index);
    }
    return { ...rest, policy: index };
  });
  return { policies, specs: compact };
}

/** The specialists back, each with its own policy object. */
export function expandSpecs({ policies, specs }: CompactSpecs): SpecialistSpec[] {
  return specs.map((spec) => ({ ...spec, policy: policies[spec.policy]! }) as SpecialistSpec);
}

/**
 * Dynamic angle generation: a planner call proposes the angles, then they fan out. The planner
 * answers in JSON, validated before anything else runs.
 */
import { z } from 'zod';
import type { SpecialistConfig } from '../config.ts';
import { FanfoldError, ProviderError } from '../errors.ts';
import type { ModelProvider } from '../providers/provider.ts';
import type { Usage } from '../usage.ts';

/** One angle the planner proposed. */
export interface PlannedAngle {
  id: string;
  angle: string;
  instructions: string;
}

/** Options of {@link planAngles}. */
export interface PlanOptions {
  /** How many angles to ask for. Default 4. */
  count?: number;
  /** Planner model. Default `claude-sonnet-4-6`. */
  model?: string;
  signal?: AbortSignal;
}

/** The plan and what it cost. */
export interface Plan {
  angles: PlannedAngle[];
  model: string;
  usage: Usage;
}

const plannedAngles = z.array(z.object({ id: z.string().min(1), angle: z.string().min(1), instructions: z.string().default('') })).min(1);

/**
 * Asks a model for `count` distinct angles on a topic, ready to become specialists.
 *
 * @example
 * const plan = await planAngles(provider, 'nuclear fusion', { count: 4 });
 * const run = runFanOut({ task: 'nuclear fusion', specialists: toSpecialists(plan.angles) }, { provider });
 */
export async function planAngles(provider: ModelProvider, topic: string, options: PlanOptions = {}): Promise<Plan> {
  const count = options.count ?? 4;
  const model = options.model ?? 'claude-sonnet-4-6';
  const response = await provider.stream(
    {
      model,
      system: 'You plan research for a team. You split a topic into distinct, non-overlapping angles that specialists can research in parallel.',
      messages: [
        {
          role: 'user',
          content:
            `Topic: ${topic}\n\nPropose ${count} angles for parallel research. Respond with a JSON array of angles, each ` +
            '{"id": "kebab-case-id", "angle": "Short label", "instructions": "What to cover, in 150-200 words"}, and nothing else.',
        },
      ],
      maxTokens: 1024,
    },
    { signal: options.signal ?? new AbortController().signal, caller: { id: 'planner', attempt: 1 } },
  );
  return { angles: parsePlan(response.text, count), model: response.model, usage: response.usage };
}

/** Reads the planner's JSON (tolerating prose around it); unique ids; at most `count` angles. */
export function parsePlan(text: string, count: number): PlannedAngle[] {
  const raw = firstJsonArray(text);
  if (raw === undefined) {
    throw new ProviderError('bad_request', `the planner did not answer with a JSON array of angles: ${JSON.stringify(text.slice(0, 80))}`);
  }
  const parsed = plannedAngles.safeParse(raw);
  if (!parsed.success) throw new FanfoldError('provider', `the planner's angles are not in the expected shape ({ id, angle, instructions }): ${parsed.error.issues[0]?.message ?? ''}`);
  const seen = new Set<string>();
  return parsed.data.slice(0, count).map((entry) => {
    let id =
      entry.id
        .toLowerCase()
        .replace(/[^a-z0-9]+/g, '-')
        .replace(/^-|-$/g, '') || 'angle';
    for (let n = 2; seen.has(id) || id === 'synthesizer'; n++) id = `${id.replace(/-\d+$/, '')}-${n}`;
    seen.add(id);
    return { id, angle: entry.angle, instructions: entry.instructions };
  });
}

/** The first `[…]` in the text that parses as JSON (prose like "[1]" before it is skipped). */
function firstJsonArray(text: string): unknown {
  const end = text.lastIndexOf(']');
  for (let start = text.indexOf('['); start >= 0 && start < end; start = text.indexOf('[', start + 1)) {
    try {
      const value: unknown = JSON.parse(text.slice(start, end + 1));
      if (Array.isArray(value)) return value;
    } catch {
      // Not this bracket: try the next.
    }
  }
  return undefined;
}

/** Planned angles as specialists. */
export function toSpecialists(angles: readonly PlannedAngle[]): SpecialistConfig[] {
  return angles.map((entry) => ({ id: entry.id, angle: entry.angle, ...(entry.instructions ? { instructions: entry.instructions } : {}) }));
}

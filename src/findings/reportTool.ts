/**
 * The `report` tool: how a specialist reports, with its finding, how confident it is and the
 * sources it rests on — structured, so the synthesis can weigh findings without parsing prose.
 * A turn whose only tool call is `report` ends the specialist's loop at once (its text is the
 * finding): reporting costs no extra model call.
 */
import type { ClientToolDefinition } from '../providers/provider.ts';

/** The name the model calls. */
export const REPORT_TOOL_NAME = 'report';

/** What a specialist reported. */
export interface FindingReport {
  /** 0 to 1; `null` when it did not say. */
  confidence: number | null;
  /** The sources it cites (URLs or titles), as it gave them. */
  sources: string[];
}

/** The tool's definition, as the model sees it. */
export function reportToolDefinition(): ClientToolDefinition {
  return {
    kind: 'client',
    name: REPORT_TOOL_NAME,
    description:
      'Call this once, in the same response as your finding, when your finding is written: how confident you are in it and the sources it rests on. ' +
      'It ends your work; call no other tool in that response.',
    inputSchema: {
      type: 'object',
      properties: {
        confidence: { type: 'number', minimum: 0, maximum: 1, description: 'How sure you are of the finding, from 0 (a guess) to 1 (well established by your sources).' },
        sources: { type: 'array', items: { type: 'string' }, description: 'The URLs (or titles) of the sources the finding rests on.' },
      },
      required: ['confidence'],
    },
  };
}

/** A `report` call's input, read leniently: a confidence out of range is clamped, junk sources are left out. */
export function parseReport(input: unknown): FindingReport {
  const fields = input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
  const raw = typeof fields['confidence'] === 'string' ? Number(fields['confidence']) : fields['confidence'];
  const confidence = typeof raw === 'number' && Number.isFinite(raw) ? Math.min(1, Math.max(0, raw)) : null;
  const sources = Array.isArray(fields['sources'])
    ? [...new Set(fields['sources'].filter((source): source is string => typeof source === 'string' && source.trim() !== '').map((source) => source.trim()))].slice(0, 50)
    : [];
  return { confidence, sources };
}

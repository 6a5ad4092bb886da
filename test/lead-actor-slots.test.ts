/**
 * The lead's actor slots as a contract: `leadActor` lets an implementation into a slot only when
 * it takes the slot's input and ends with the slot's output. The type checks run with the test
 * command's `tsc --noEmit` (a `@ts-expect-error` that no longer errs fails it); the values here
 * are the Restate runtime's own implementations.
 */
import { describe, expect, it } from 'vitest';
import { leadActor } from '../src/core/leadActorSlots.ts';
import { createChunkService } from '../src/restate/chunkService.ts';
import { restateDeadlineTimer } from '../src/restate/deadlineTimer.ts';
import { createRestateFanOut } from '../src/restate/fanOut.ts';
import { createRestateSpecialist } from '../src/restate/specialist.ts';
import { createScriptedProvider } from '../src/testing.ts';

const provider = createScriptedProvider({});
const fanOut = createRestateFanOut({ chunkService: createChunkService(provider) });
const specialist = createRestateSpecialist({ provider });

describe('the lead actor slots', () => {
  it('take the Restate implementations as they are, each in its own slot', () => {
    expect(leadActor('fanOut', fanOut)).toBe(fanOut);
    expect(leadActor('specialist', specialist)).toBe(specialist);
    expect(leadActor('deadlineTimer', restateDeadlineTimer)).toBe(restateDeadlineTimer);
  });

  it('refuse, at compile time, an implementation whose input or output does not fit the slot', () => {
    // @ts-expect-error the specialist takes a specialist's input, not the fan-out's
    const wrongInput = leadActor('fanOut', specialist);
    // @ts-expect-error the fan-out takes a fan-out's input and ends with every outcome, not one specialist's
    const wrongOutput = leadActor('specialist', fanOut);
    // At run time it is only a cast: the checks above are the contract.
    expect([wrongInput, wrongOutput]).toEqual([specialist, fanOut]);
  });
});

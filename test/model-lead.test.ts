/**
 * The model lead on the scripted provider, under fake timers: a lead model spawns specialists
 * with `Agent` calls, joins them by id and writes the answer; the limits, deadlines, policies
 * and the statechart's rounds. (The pattern's app file against the simulator is in
 * model-lead.sdk.test.ts.)
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { defineTool, runFanOut, type FanOutConfig, type ModelRequest } from '../src/index.ts';
import { createScriptedProvider, type ScriptedReply } from '../src/testing.ts';
import { record, settle } from './support.ts';

const task = 'tidal power';

/** The tool results of the last message of a request, by call id. */
function results(request: ModelRequest): Array<{ tool_use_id: string; content: string; is_error?: boolean }> {
  const last = request.messages.at(-1)!;
  return typeof last.content === 'string' ? [] : (last.content.filter((block) => block.type === 'tool_result') as never);
}

/** The agent ids the spawn results of the last message returned. */
function spawnedIds(request: ModelRequest): string[] {
  return results(request)
    .filter((result) => !result.is_error)
    .map((result) => (JSON.parse(result.content) as { agent_id: string }).agent_id);
}

const leadTurn = (request: ModelRequest) => request.messages.filter((message) => message.role === 'assistant').length + 1;

/** A lead that spawns `briefs` on turn 1, joins them on turn 2 (optionally with a timeout), and answers on turn 3. */
function classicLead(briefs: Array<{ prompt: string; description?: string; template?: string }>, join: { timeout_s?: number } = {}) {
  return (request: ModelRequest): ScriptedReply => {
    const turn = leadTurn(request);
    if (turn === 1) return { text: 'Dispatching.', toolUse: briefs.map((brief) => ({ name: 'Agent', input: brief })), latencyMs: 100 };
    if (turn === 2) return { toolUse: [{ name: 'Agent', input: { agent_ids: spawnedIds(request), ...join } }], latencyMs: 100 };
    const joined = results(request)[0]!;
    return { text: `ANSWER from: ${joined.content}`, latencyMs: 100 };
  };
}

const briefs = [
  { prompt: 'Research tidal power in the news.', description: 'News' },
  { prompt: 'Research tidal power in journals.', description: 'Academic' },
  { prompt: 'Research tidal power vendors.', description: 'Vendors' },
];

/** Replies per caller: the lead's script, and each spawned specialist's. */
function provider(lead: (request: ModelRequest) => ScriptedReply, specialists: (request: ModelRequest, id: string) => ScriptedReply = () => ({ text: 'a finding', latencyMs: 300 })) {
  return createScriptedProvider({ reply: (request, call) => (call.caller?.id === 'lead' ? lead(request) : specialists(request, call.caller!.id)) });
}

const config = (extra: Partial<FanOutConfig> = {}): FanOutConfig => ({
  task,
  lead: { model: 'lead-model' },
  specialists: [{ id: 'explorer', model: 'explorer-model', system: 'Find sources.' }],
  ...extra,
});

describe('a model lead (scripted provider)', () => {
  beforeEach(() => vi.useFakeTimers({ now: 0 }));
  afterEach(() => vi.useRealTimers());

  it('spawns in parallel, joins in order, and writes the answer; the statechart shows the rounds', async () => {
    const scripted = provider(classicLead(briefs));
    const run = runFanOut(config(), { provider: scripted });
    const events = record(run);
    const states: string[] = [];
    run.actor.subscribe((snapshot) => {
      const value = JSON.stringify(snapshot.value);
      if (states.at(-1) !== value) states.push(value);
    });
    const result = await settle(run);

    expect(result.status).toBe('done');
    expect(states).toEqual(['{"leading":"thinking"}', '{"leading":"dispatching"}', '{"leading":"thinking"}', '{"leading":"waiting"}', '{"leading":"thinking"}', '{"leading":"closing"}', '"done"']);
    // Three specialists from the template, each with the lead's brief as its instructions.
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.angle, outcome.status, outcome.model])).toEqual([
      ['explorer-1', 'News', 'fulfilled', 'explorer-model'],
      ['explorer-2', 'Academic', 'fulfilled', 'explorer-model'],
      ['explorer-3', 'Vendors', 'fulfilled', 'explorer-model'],
    ]);
    expect(result.lead!.spawned.map((spawn) => [spawn.id, spawn.template, spawn.prompt, spawn.round])).toEqual([
      ['explorer-1', 'explorer', 'Research tidal power in the news.', 1],
      ['explorer-2', 'explorer', 'Research tidal power in journals.', 1],
      ['explorer-3', 'explorer', 'Research tidal power vendors.', 1],
    ]);
    const explorerCalls = scripted.calls.filter((call) => call.caller?.id !== 'lead');
    expect(explorerCalls.map((call) => call.request.system)).toEqual(['Find sources.', 'Find sources.', 'Find sources.']);
    expect(explorerCalls[0]!.request.messages[0]!.content).toBe(`Task: ${task}\n\nYour angle: News\n\nResearch tidal power in the news.`);
    // They started together, right after the lead's first turn: max(specialists) + the lead's turns.
    expect(explorerCalls.map((call) => call.startedAt)).toEqual([100, 100, 100]);
    // The join is answered with the fan-out's next batch (one timer tick: a fake millisecond here), then the last turn.
    const lastLeadCall = scripted.calls.filter((call) => call.caller?.id === 'lead').at(-1)!;
    expect(lastLeadCall.startedAt - 400).toBeGreaterThanOrEqual(0);
    expect(lastLeadCall.startedAt - 400).toBeLessThanOrEqual(1);
    expect(result.elapsedMs).toBe(lastLeadCall.startedAt + 100);
    // The join returned them in the order asked; the lead's last text is the synthesis.
    expect(result.synthesis).toMatch(/^ANSWER from: 3 of 3 agents finished\./);
    expect(result.synthesis).toContain('<agent id="explorer-1" template="explorer" description="News" status="fulfilled">\na finding\n</agent>');
    expect(result.synthesizer).toMatchObject({ id: 'lead', status: 'fulfilled', turns: 3, attempts: 3 });
    expect(result.modelCalls).toBe(3 + 3);
    // Events: the spawns and the join.
    expect(events.filter((event) => event.type.startsWith('lead.')).map((event) => event.type)).toEqual(['lead.spawned', 'lead.spawned', 'lead.spawned', 'lead.joining', 'lead.joined']);
    expect(events.find((event) => event.type === 'lead.joined')).toMatchObject({
      ids: ['explorer-1', 'explorer-2', 'explorer-3'],
      statuses: [
        { id: 'explorer-1', status: 'fulfilled' },
        { id: 'explorer-2', status: 'fulfilled' },
        { id: 'explorer-3', status: 'fulfilled' },
      ],
    });
    expect(events.filter((event) => event['id'] === 'lead' && event.type === 'specialist.tool.done').map((event) => event['tool'])).toEqual(['Agent', 'Agent', 'Agent', 'Agent']);
    expect(events.at(-1)!.type).toBe('run.finished');
  });

  it('a join with an unknown id gets an error result naming it; the lead goes on', async () => {
    const lead = (request: ModelRequest): ScriptedReply => {
      const turn = leadTurn(request);
      if (turn === 1) return { toolUse: [{ name: 'Agent', input: { prompt: 'Look.' } }] };
      if (turn === 2) return { toolUse: [{ name: 'Agent', input: { agent_ids: ['explorer-1', 'explorer-9'] } }] };
      if (turn === 3) return { toolUse: [{ name: 'Agent', input: { agent_ids: ['explorer-1'] } }] };
      return { text: 'done' };
    };
    const scripted = provider(lead);
    const result = await settle(runFanOut(config(), { provider: scripted }));
    const turn3 = scripted.calls.filter((call) => call.caller?.id === 'lead')[2]!.request;
    expect(results(turn3)).toEqual([
      {
        type: 'tool_result',
        tool_use_id: expect.any(String),
        content: 'No agent has the id "explorer-9". Agents spawned so far: "explorer-1". Join only ids that spawn calls returned.',
        is_error: true,
      },
    ]);
    expect(result).toMatchObject({ status: 'done', synthesis: 'done' });
  });

  it('bad Agent input, and spawns past maxSpecialists or maxRounds, are error results, not crashes', async () => {
    const lead = (request: ModelRequest): ScriptedReply => {
      const turn = leadTurn(request);
      if (turn === 1)
        return {
          toolUse: [
            { name: 'Agent', input: { prompt: 'One.' } },
            { name: 'Agent', input: { prompt: 'Two.' } },
            { name: 'Agent', input: { prompt: 'Three.' } },
            { name: 'Agent', input: { prompt: 'x', agent_ids: ['a'] } },
            { name: 'Agent', input: { prompt: 'y', template: 'nope' } },
          ],
        };
      if (turn === 2) return { toolUse: [{ name: 'Agent', input: { prompt: 'A second round.' } }] };
      return { text: 'done' };
    };
    const scripted = provider(lead);
    const result = await settle(runFanOut(config({ lead: { maxSpecialists: 2, maxRounds: 1 } }), { provider: scripted }));
    const leadCalls = scripted.calls.filter((call) => call.caller?.id === 'lead');
    expect(results(leadCalls[1]!.request).map((entry) => [entry.is_error === true, entry.content])).toEqual([
      [false, JSON.stringify({ agent_id: 'explorer-1', template: 'explorer', description: 'One', status: 'running' })],
      [false, JSON.stringify({ agent_id: 'explorer-2', template: 'explorer', description: 'Two', status: 'running' })],
      [true, 'Not started: this run allows at most 2 agents (maxSpecialists), and all have been spawned. Join the agents you have and answer.'],
      [true, 'Invalid Agent call: Give either `prompt` (to spawn one agent) or `agent_ids` (to wait for agents), not both and not neither.'],
      [true, 'Invalid Agent call: `template` must be one of "explorer", got "nope".'],
    ]);
    expect(results(leadCalls[2]!.request)[0]).toMatchObject({ is_error: true, content: expect.stringContaining('at most 1 rounds of spawning (maxRounds)') });
    expect(result.outcomes.map((outcome) => outcome.id)).toEqual(['explorer-1', 'explorer-2']);
    // Never joined: stopped when the lead finished, their work so far kept.
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['skipped', 'skipped']);
    expect(result.outcomes[0]!.error?.message).toBe('the lead finished without waiting for it');
    // The quorum (1) counts what was spawned: none of the two reported.
    expect(result).toMatchObject({ status: 'failed', error: { message: 'quorum not met: 0 of 2 specialists succeeded, 1 required' } });
    expect(result.lead!.outcome).toMatchObject({ status: 'fulfilled', output: 'done' });
  });

  it('a join with timeout_s stops the stragglers at it, keeps finished work, and tells the lead which and why', async () => {
    const scripted = provider(classicLead(briefs, { timeout_s: 2 }), (_request, id) => (id === 'explorer-2' ? { hang: true } : { text: `finding of ${id}`, latencyMs: 300 }));
    const run = runFanOut(config(), { provider: scripted });
    const result = await settle(run);
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'timedOut', 'fulfilled']);
    expect(result.outcomes[1]!.error).toEqual({ kind: 'deadline', message: "the join's 2 s timeout passed before it finished" });
    // The hung call was aborted.
    expect(scripted.calls.find((call) => call.caller?.id === 'explorer-2')!.result).toBe('aborted');
    expect(result.synthesis).toContain('2 of 3 agents finished.');
    expect(result.synthesis).toContain('<agent id="explorer-2" template="explorer" description="Academic" status="timedOut" reason="the join\'s 2 s timeout passed before it finished"></agent>');
    // The join was called at 200 (when turn 2 ended): cut exactly 2 s later.
    expect(result.outcomes[1]!.endedAt - result.startedAt).toBe(2_200);
    expect(result.status).toBe('partial');
    expect(result.missing).toEqual([{ id: 'explorer-2', angle: 'Academic', status: 'timedOut', reason: "the join's 2 s timeout passed before it finished" }]);
  });

  it('agentDeadlineMs stops a spawned specialist that runs past it, joined or not', async () => {
    const scripted = provider(classicLead(briefs.slice(0, 2)), (_request, id) => (id === 'explorer-1' ? { hang: true } : { text: 'ok', latencyMs: 300 }));
    const result = await settle(runFanOut(config({ lead: { agentDeadlineMs: 1_000 } }), { provider: scripted }));
    expect(result.outcomes.map((outcome) => [outcome.status, outcome.error?.message ?? null])).toEqual([
      ['timedOut', 'its 1 s deadline (agentDeadlineMs) passed before it finished'],
      ['fulfilled', null],
    ]);
    // Spawned at 100 (when turn 1 ended), cut 1 s later.
    expect(result.outcomes[0]!.endedAt - result.startedAt).toBe(1_100);
  });

  it('the run deadline stops the specialists, answers the join with what arrived, and the lead still writes', async () => {
    const scripted = provider(classicLead(briefs), (_request, id) => (id === 'explorer-3' ? { hang: true } : { text: 'ok', latencyMs: 300 }));
    const run = runFanOut(config({ deadlineMs: 5_000 }), { provider: scripted });
    const events = record(run);
    const result = await settle(run);
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'timedOut']);
    expect(result.synthesis).toContain('reason="the run\'s 5000 ms deadline passed before it finished"');
    expect(result.status).toBe('partial');
    expect(result.outcomes[2]!.endedAt - result.startedAt).toBe(5_000);
    expect(events.find((event) => event.type === 'lead.joined')).toMatchObject({ statuses: [{ status: 'fulfilled' }, { status: 'fulfilled' }, { status: 'timedOut' }] });
  });

  it('after the run deadline the lead gets one last turn without tools, and a spawn it asked for in flight is refused', async () => {
    const lead = (request: ModelRequest): ScriptedReply => {
      const turn = leadTurn(request);
      if (turn === 1) return { toolUse: [{ name: 'Agent', input: { prompt: 'Slow one.' } }], latencyMs: 100 };
      // In flight across the deadline (1,000): it asks for another spawn.
      if (turn === 2) return { toolUse: [{ name: 'Agent', input: { prompt: 'Another try.' } }], latencyMs: 2_000 };
      return request.toolChoice === 'none' ? { text: 'with what I have', latencyMs: 100 } : { toolUse: [{ name: 'Agent', input: { prompt: 'More!' } }], latencyMs: 100 };
    };
    const scripted = provider(lead, () => ({ hang: true }));
    const result = await settle(runFanOut(config({ deadlineMs: 1_000 }), { provider: scripted }));
    const leadCalls = scripted.calls.filter((call) => call.caller?.id === 'lead');
    expect(leadCalls).toHaveLength(3);
    const last = leadCalls[2]!.request;
    expect(results(last)[0]).toMatchObject({ is_error: true, content: "No more agents can start: the run's 1000 ms deadline passed. Answer with the results you have." });
    // The last turn is offered no tools, and told why.
    expect(last.toolChoice).toBe('none');
    expect((last.messages.at(-1)!.content as Array<{ type: string; text?: string }>).at(-1)).toMatchObject({ type: 'text', text: expect.stringContaining("The run's deadline has passed") });
    expect(result.lead!.outcome).toMatchObject({ status: 'fulfilled', output: 'with what I have', turns: 3, loopLimit: 'deadline' });
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['timedOut']);
    // Its only specialist timed out, so the quorum of 1 failed the run; the lead's answer is kept with it.
    expect(result).toMatchObject({ status: 'failed', synthesis: null, error: { message: 'quorum not met: 0 of 1 specialists succeeded, 1 required' } });
  });

  it('when the budget stops the fan-out, the lead gets one last turn without tools, told why, and answers with what arrived', async () => {
    // Asks for more agents on every turn it is offered tools.
    const lead = (request: ModelRequest): ScriptedReply => {
      const turn = leadTurn(request);
      if (turn === 1) return { text: 'Dispatching.', toolUse: briefs.map((brief) => ({ name: 'Agent', input: brief })), latencyMs: 100 };
      if (request.toolChoice === 'none') return { text: 'with what I have', latencyMs: 100 };
      return {
        toolUse: [
          { name: 'Agent', input: { agent_ids: spawnedIds(request) } },
          { name: 'Agent', input: { prompt: `more ${turn}` } },
        ],
        latencyMs: 100,
      };
    };
    const scripted = provider(lead);
    // 2,400 output tokens, 500 kept for the lead: two 1,000-token explorers start under the line (1,900), the third would start past it.
    const budgeted = config({ lead: { model: 'lead-model', maxTokens: 500 }, specialists: [{ id: 'explorer', model: 'explorer-model', maxTokens: 1_000 }], budget: { outputTokens: 2_400 } });
    const result = await settle(runFanOut(budgeted, { provider: scripted }));
    expect(result.outcomes.map((outcome) => [outcome.id, outcome.status, outcome.error?.kind ?? null])).toEqual([
      ['explorer-1', 'fulfilled', null],
      ['explorer-2', 'fulfilled', null],
      ['explorer-3', 'skipped', 'budget'],
    ]);
    const leadCalls = scripted.calls.filter((call) => call.caller?.id === 'lead');
    const last = leadCalls.at(-1)!.request;
    expect(last.toolChoice).toBe('none');
    expect((last.messages.at(-1)!.content as Array<{ type: string; text?: string }>).at(-1)).toMatchObject({ type: 'text', text: expect.stringContaining("The run's budget is spent") });
    expect(result.lead!.outcome).toMatchObject({ status: 'fulfilled', output: 'with what I have', loopLimit: 'budget' });
    expect(result).toMatchObject({ status: 'partial', stop: 'budget', synthesis: 'with what I have' });
    expect(result.budget!.spent.outputTokens).toBeLessThanOrEqual(2_400);
  });

  it('a lead that keeps going past the deadline is bounded: one last turn, and stopped if that turn outlasts its attempt timeout', async () => {
    // Spawns on every turn it is allowed tools; its tool-less turn hangs.
    const lead = (request: ModelRequest): ScriptedReply =>
      request.toolChoice === 'none' ? { hang: true } : { toolUse: [{ name: 'Agent', input: { prompt: `angle ${leadTurn(request)}` } }], latencyMs: 100 };
    const scripted = provider(lead, () => ({ text: 'ok', latencyMs: 50 }));
    const run = runFanOut(config({ deadlineMs: 300, lead: { policy: { attemptTimeoutMs: 5_000, retry: { maxAttempts: 1 } } } }), { provider: scripted });
    const result = await settle(run);
    const leadCalls = scripted.calls.filter((call) => call.caller?.id === 'lead');
    // Turns 1–3 spawn (the third in flight at the deadline); turn 4 is the last, without tools.
    expect(leadCalls.map((call) => call.request.toolChoice ?? 'auto')).toEqual(['auto', 'auto', 'auto', 'none']);
    expect(leadCalls.at(-1)!.result).toBe('aborted');
    expect(result.lead!.outcome).toMatchObject({ status: 'skipped', error: { kind: 'cancelled', message: "the run's 300 ms deadline passed and the lead had not written its answer 5000 ms later" } });
    expect(result.endedAt - result.startedAt).toBe(300 + 5_000);
    expect(result).toMatchObject({ status: 'failed', synthesis: null, error: { message: expect.stringMatching(/^the lead failed: the run's 300 ms deadline passed/) } });
  });

  it('cancel stops the lead and the specialists, keeping what finished', async () => {
    const scripted = provider(classicLead(briefs), (_request, id) => (id === 'explorer-1' ? { text: 'quick', latencyMs: 50 } : { hang: true }));
    const run = runFanOut(config(), { provider: scripted });
    setTimeout(() => run.cancel('user pressed stop'), 400);
    const result = await settle(run);
    expect(result.status).toBe('cancelled');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'skipped', 'skipped']);
    expect(result.lead!.outcome).toMatchObject({ id: 'lead', status: 'skipped' });
    expect(result.synthesis).toBeNull();
  });

  it('supervision applies to spawned specialists: a 529 is retried, an escalating failure fails the run', async () => {
    let calls = 0;
    const flaky = createScriptedProvider({
      reply: (request, call) => {
        if (call.caller?.id === 'lead') return classicLead(briefs.slice(0, 1))(request);
        calls++;
        return calls === 1 ? { error: { kind: 'overloaded', message: '529 overloaded', status: 529 } } : { text: 'recovered' };
      },
    });
    const ok = await settle(runFanOut(config({ specialists: [{ id: 'explorer', policy: { retry: { initialDelayMs: 100, jitter: 0 } } }] }), { provider: flaky }));
    expect(ok.outcomes[0]).toMatchObject({ status: 'fulfilled', attempts: 2, output: 'recovered' });

    const failing = provider(classicLead(briefs), (_request, id) => (id === 'explorer-2' ? { error: { kind: 'bad_request', message: '400 bad', status: 400 } } : { hang: true }));
    const run = runFanOut(config({ specialists: [{ id: 'explorer', policy: { onFailure: 'escalate' } }] }), { provider: failing });
    const failed = await settle(run);
    expect(failed.status).toBe('failed');
    expect(failed.error?.message).toContain('specialist "explorer-2" failed and its policy escalates');
    expect(failed.outcomes.map((outcome) => outcome.status)).toEqual(['skipped', 'rejected', 'skipped']);
  });

  it('quorum counts what was spawned', async () => {
    const scripted = provider(classicLead(briefs), (_request, id) => (id === 'explorer-1' ? { text: 'ok' } : { error: { kind: 'bad_request', message: '400', status: 400 } }));
    const result = await settle(runFanOut(config({ quorum: 2 }), { provider: scripted }));
    expect(result.status).toBe('failed');
    expect(result.error?.message).toBe('quorum not met: 1 of 3 specialists succeeded, 2 required');
    expect(result.outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected']);
  });

  it('the concurrency cap holds across rounds', async () => {
    const lead = (request: ModelRequest): ScriptedReply => {
      const turn = leadTurn(request);
      if (turn === 1)
        return {
          toolUse: [
            { name: 'Agent', input: { prompt: 'a' } },
            { name: 'Agent', input: { prompt: 'b' } },
          ],
        };
      if (turn === 2)
        return {
          toolUse: [
            { name: 'Agent', input: { prompt: 'c' } },
            { name: 'Agent', input: { agent_ids: ['explorer-1', 'explorer-2'] } },
          ],
        };
      if (turn === 3) return { toolUse: [{ name: 'Agent', input: { agent_ids: ['explorer-3'] } }] };
      return { text: 'done' };
    };
    const scripted = provider(lead, () => ({ text: 'ok', latencyMs: 200 }));
    const result = await settle(runFanOut(config({ maxConcurrency: 2 }), { provider: scripted }));
    expect(result.status).toBe('done');
    expect(result.lead!.spawned.map((spawn) => spawn.round)).toEqual([1, 1, 2]);
    // The lead's own calls hold no slot; its specialists never exceed two at once.
    let inFlight = 0;
    let peak = 0;
    const marks = scripted.calls
      .filter((call) => call.caller?.id !== 'lead')
      .flatMap(
        (call) =>
          [
            [call.startedAt, 1],
            [call.endedAt!, -1],
          ] as const,
      )
      .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    for (const [, delta] of marks) peak = Math.max(peak, (inFlight += delta));
    expect(peak).toBe(2);
  });

  it("synthesize: 'synthesizer' folds the spawned findings after the lead is done", async () => {
    const scripted = provider(classicLead(briefs.slice(0, 2)));
    const result = await settle(
      runFanOut(config({ lead: { synthesize: 'synthesizer' }, synthesizer: { run: async ({ outcomes }) => `folded ${outcomes?.map((outcome) => outcome.id).join(', ')}` } }), { provider: scripted }),
    );
    expect(result).toMatchObject({ status: 'done', synthesis: 'folded explorer-1, explorer-2' });
    expect(result.lead!.outcome).toMatchObject({ status: 'fulfilled', turns: 3 });
    expect(result.modelCalls).toBe(3 + 2);
  });

  it('a lead that fails fails the run, keeping the specialists it had spawned', async () => {
    const lead = (request: ModelRequest): ScriptedReply =>
      leadTurn(request) === 1 ? { toolUse: [{ name: 'Agent', input: { prompt: 'Go.' } }], latencyMs: 100 } : { error: { kind: 'bad_request', message: '400 invalid request', status: 400 } };
    const result = await settle(runFanOut(config(), { provider: provider(lead, () => ({ text: 'found', latencyMs: 50 })) }));
    expect(result.status).toBe('failed');
    expect(result.error).toEqual({ kind: 'bad_request', message: 'the lead failed: 400 invalid request' });
    expect(result.outcomes).toHaveLength(1);
    expect(result.outcomes[0]!.status).not.toBe('rejected');
  });

  it("credentials route each agent's calls to the provider of that name; spawned specialists keep their template's", async () => {
    const main = createScriptedProvider({ reply: classicLead(briefs.slice(0, 2)) });
    const research = createScriptedProvider({ reply: () => ({ text: 'found', latencyMs: 50 }) });
    const result = await settle(runFanOut({ task, lead: { credential: 'main' }, specialists: [{ id: 'explorer', credential: 'research' }] }, { providers: { main, research } }));
    expect(result.status).toBe('done');
    expect(main.calls.map((call) => call.caller?.id)).toEqual(['lead', 'lead', 'lead']);
    expect(research.calls.map((call) => call.caller?.id)).toEqual(['explorer-1', 'explorer-2']);
    // A credential with no provider of its name, and no default provider: refused before any call.
    expect(() => runFanOut({ task, lead: { credential: 'main' }, specialists: [{ id: 'explorer', credential: 'other' }] }, { providers: { main } })).toThrow(
      /- specialists\[0\]: calls a model, but no `provider` was given/,
    );
  });

  it('a cancel after the deadline says cancelled, not the quorum', async () => {
    const lead = (request: ModelRequest): ScriptedReply => {
      const turn = leadTurn(request);
      if (turn === 1) return { toolUse: [{ name: 'Agent', input: { prompt: 'Go.' } }], latencyMs: 50 };
      if (turn === 2) return { toolUse: [{ name: 'Agent', input: { agent_ids: ['explorer-1'] } }], latencyMs: 50 };
      return { text: 'late', latencyMs: 2_000 };
    };
    const run = runFanOut(config({ deadlineMs: 200 }), { provider: provider(lead, () => ({ hang: true })) });
    setTimeout(() => run.cancel('user stop'), 500);
    const result = await settle(run);
    expect(result).toMatchObject({ status: 'cancelled', error: { kind: 'cancelled', message: 'the run was cancelled: user stop' } });
  });

  it('the default limits let every round be spawned and joined (5 rounds, then the answer)', async () => {
    const lead = (request: ModelRequest): ScriptedReply => {
      const turn = leadTurn(request);
      if (turn > 10) return { text: 'five rounds read' };
      return turn % 2 === 1 ? { toolUse: [{ name: 'Agent', input: { prompt: `round ${(turn + 1) / 2}` } }] } : { toolUse: [{ name: 'Agent', input: { agent_ids: spawnedIds(request) } }] };
    };
    const result = await settle(runFanOut(config(), { provider: provider(lead, () => ({ text: 'ok', latencyMs: 50 })) }));
    expect(result.status).toBe('done');
    expect(result.lead!.spawned.map((spawn) => spawn.round)).toEqual([1, 2, 3, 4, 5]);
    expect(result.outcomes.every((outcome) => outcome.status === 'fulfilled')).toBe(true);
    expect(result.lead!.outcome).toMatchObject({ turns: 11, loopLimit: null, output: 'five rounds read' });
  });

  it("Agent input: nulls for optional fields are left out; a brief's first sentence is its angle", async () => {
    const lead = (request: ModelRequest): ScriptedReply => {
      const turn = leadTurn(request);
      if (turn === 1) return { toolUse: [{ name: 'Agent', input: { prompt: 'Compare U.S. and EU policy. Cite laws.', description: null, template: null, agent_ids: null } }] };
      if (turn === 2) return { toolUse: [{ name: 'Agent', input: { agent_ids: spawnedIds(request), timeout_s: null, prompt: null } }] };
      return { text: 'done' };
    };
    const result = await settle(runFanOut(config(), { provider: provider(lead) }));
    expect(result.status).toBe('done');
    expect(result.outcomes[0]!.angle).toBe('Compare U.S. and EU policy');
  });

  it('config: a lead tool may not be called Agent; a credential must name one of the providers given', () => {
    const agentLike = defineTool({ name: 'Agent', description: 'mine', input: z.object({}), run: () => 'x' });
    expect(() => runFanOut({ task, lead: { tools: [agentLike] }, specialists: [{ id: 'x' }] }, { provider: createScriptedProvider() })).toThrow(
      /- lead\.tools\[0\]: the tool name "Agent" is the lead's own spawn-and-join tool: rename this one/,
    );
    expect(() => runFanOut({ task, lead: { credential: 'mian' }, specialists: [{ id: 'x' }] }, { provider: createScriptedProvider(), providers: { main: createScriptedProvider() } })).toThrow(
      /- lead\.credential: expected one of the run's providers \("main"\), got "mian"/,
    );
  });

  it('config: templates must be model specialists; a provider is required for the lead', () => {
    expect(() => runFanOut({ task, lead: {}, specialists: [{ id: 'x', run: async () => 'y' }] }, { provider: createScriptedProvider() })).toThrow(
      /specialists\[0\]\.run: with a model `lead`, specialists are templates/,
    );
    expect(() => runFanOut({ task, lead: {}, specialists: [{ id: 'x' }] })).toThrow(/- lead: calls a model, but no `provider` was given/);
    expect(() => runFanOut({ task, lead: { maxSpecialists: 2 }, quorum: 3, specialists: [{ id: 'x' }] }, { provider: createScriptedProvider() })).toThrow(
      /quorum: expected at most 2 \(the lead's maxSpecialists\), got 3/,
    );
  });
});

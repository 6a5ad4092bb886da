/**
 * The simulator's deterministic text: specialist findings within word limits, syntheses with
 * one section per angle and named gaps, planner JSON, summaries, and the token estimator.
 */
import { describe, expect, it } from 'vitest';
import { countWords, estimateTokens, parseWordLimit, simulatedReply, splitIntoDeltas } from '../src/simulator/index.ts';

const SYSTEM = 'You are one specialist in a team working on a task in parallel. Be concrete and concise.';

function ask(user: string, extra: Record<string, unknown> = {}) {
  return simulatedReply({ model: 'claude-haiku-4-5', system: SYSTEM, messages: [{ role: 'user', content: user }], ...extra });
}

const specialist = (task: string, angle: string, instructions = '') => ask(instructions ? `Task: ${task}\n\nYour angle: ${angle}\n\n${instructions}` : `Task: ${task}\n\nYour angle: ${angle}`);

const TOPICS = [
  'The future of solid-state batteries in electric vehicles',
  'Assess how open-source software is funded',
  'Urban heat islands',
  'What limits the adoption of quantum-safe cryptography?',
  'Rust in the Linux kernel',
];
const ANGLES = ['Historical context', 'Technical details', 'Societal impact', 'Economic impact'];

describe('determinism', () => {
  it('the same request gives the same text; a change in model, system or messages changes it', () => {
    const body = { model: 'm1', system: SYSTEM, messages: [{ role: 'user', content: 'Task: Tides\n\nYour angle: Technical details' }] };
    const text = simulatedReply(body).text;
    expect(simulatedReply(structuredClone(body)).text).toBe(text);
    expect(simulatedReply({ ...body, model: 'm2' }).text).not.toBe(text);
    expect(simulatedReply({ ...body, system: `${SYSTEM} ` }).text).not.toBe(text);
    expect(simulatedReply({ ...body, messages: [{ role: 'user', content: 'Task: Tides!\n\nYour angle: Technical details' }] }).text).not.toBe(text);
  });

  it('max_tokens cuts a prefix of the same text and reports max_tokens', () => {
    const body = { model: 'm', messages: [{ role: 'user', content: 'Task: Tides\n\nYour angle: Technical details' }] };
    const full = simulatedReply(body);
    const cut = simulatedReply({ ...body, max_tokens: 12 });
    expect(full.stopReason).toBe('end_turn');
    expect(cut.stopReason).toBe('max_tokens');
    expect(cut.outputTokens).toBe(12);
    expect(full.text.startsWith(cut.text)).toBe(true);
    expect(cut.text.length).toBeLessThan(full.text.length);
    expect(simulatedReply({ ...body, max_tokens: full.outputTokens }).stopReason).toBe('end_turn');
  });

  it('throws the API’s validation message for a body the API would reject', () => {
    expect(() => simulatedReply({ messages: [] })).toThrow('model: Field required');
  });
});

describe('specialist findings', () => {
  it('are labelled as simulated and talk about the topic from the angle', () => {
    const reply = specialist('Desalination at city scale', 'Environmental impact');
    expect(reply.kind).toBe('specialist');
    expect(reply.text.startsWith('[Simulated] ')).toBe(true);
    expect(reply.text).toContain('environmental impact');
    expect(reply.text).toMatch(/desalination/i);
  });

  it('without a limit run about 120 words', () => {
    for (const topic of TOPICS) {
      const words = countWords(specialist(topic, 'Technical details').text);
      expect(words).toBeGreaterThanOrEqual(100);
      expect(words).toBeLessThanOrEqual(140);
    }
  });

  const limits: Array<[string, number, number]> = [
    ['Write 150-200 words.', 150, 200],
    ['Write 150–200 words.', 150, 200],
    ['Write 150 to 200 words.', 150, 200],
    ['Keep it between 60 and 80 words.', 60, 80],
    ['Use at most 90 words.', 1, 90],
    ['Answer in under 50 words.', 1, 49],
    ['No more than 30 words.', 1, 30],
    ['Write at least 250 words.', 250, Infinity],
    ['Write exactly 40 words.', 40, 40],
  ];
  for (const [instruction, min, max] of limits) {
    it(`honour "${instruction}" for every topic and angle`, () => {
      for (const topic of TOPICS) {
        for (const angle of ANGLES) {
          const reply = specialist(topic, angle, `Cover the essentials. ${instruction}`);
          const words = countWords(reply.text);
          expect(words, `${topic} / ${angle}`).toBeGreaterThanOrEqual(min);
          expect(words, `${topic} / ${angle}`).toBeLessThanOrEqual(max);
          expect(reply.text).toMatch(/[.!?…]$/);
        }
      }
    });
  }

  it('hit an exact word count however narrow', () => {
    for (const count of [3, 7, 12, 25, 41, 58, 99]) {
      for (const topic of TOPICS) {
        expect(countWords(specialist(topic, 'Risks', `Write exactly ${count} words.`).text), `${count} / ${topic}`).toBe(count);
      }
    }
  });

  it('also honour a limit stated in the system prompt', () => {
    const reply = simulatedReply({
      model: 'm',
      system: 'Answer in at most 45 words.',
      messages: [{ role: 'user', content: 'Task: Tides\n\nYour angle: Technical details' }],
    });
    expect(countWords(reply.text)).toBeLessThanOrEqual(45);
  });
});

describe('word limits', () => {
  it('parses ranges, bounds and targets', () => {
    expect(parseWordLimit('150-200 words')).toMatchObject({ min: 150, max: 200 });
    expect(parseWordLimit('150 – 200 words')).toMatchObject({ min: 150, max: 200 });
    expect(parseWordLimit('under 100 words')).toMatchObject({ max: 99 });
    expect(parseWordLimit('no longer than 100 words')).toMatchObject({ max: 100 });
    expect(parseWordLimit('a 300-word brief')).toMatchObject({ min: 270, max: 330, target: 300 });
    expect(parseWordLimit('Be brief.')).toBeNull();
  });
});

describe('syntheses', () => {
  const findingText = {
    historical: specialist('Perovskite solar cells', 'Historical context', 'Write 150-200 words.').text,
    technical: '[Simulated] Perovskite tandem cells reached record efficiency, but moisture degradation and lead encapsulation remain unsolved.',
    societal: 'Rooftop installers expect cheaper panels; communities worry about lead leaching from damaged modules.',
  };
  const prompt = [
    'Task: Perovskite solar cells',
    '',
    'Findings from 3 of 4 specialists:',
    '',
    '<finding specialist="historical" angle="Historical context">',
    findingText.historical,
    '</finding>',
    '',
    '<finding specialist="technical" angle="Technical details">',
    findingText.technical,
    '</finding>',
    '',
    '<finding specialist="societal" angle="Societal impact">',
    findingText.societal,
    '</finding>',
    '',
    'Missing angles (1) — say in the answer that these are gaps:',
    '- economic ("Economic impact"): failed after 3 attempts: 529 Overloaded',
    '',
    'Write four sections, each under a markdown heading: one per angle, then "Cross-cutting synthesis". Name any missing angle as a gap.',
  ].join('\n');

  it('have exactly one heading per finding angle, then Cross-cutting synthesis', () => {
    const reply = ask(prompt);
    expect(reply.kind).toBe('synthesis');
    expect(reply.text.startsWith('[Simulated]')).toBe(true);
    expect(reply.text.match(/^## .+$/gm)).toEqual(['## Historical context', '## Technical details', '## Societal impact', '## Cross-cutting synthesis']);
  });

  it('name every missing angle, with its reason, as a gap', () => {
    const cross = ask(prompt).text.split('## Cross-cutting synthesis')[1] ?? '';
    expect(cross).toContain('Gaps:');
    expect(cross).toContain('Economic impact');
    expect(cross).toContain('529 Overloaded');
  });

  it('reuse words from each finding in its own section', () => {
    const sections = ask(prompt).text.split(/^## /m);
    const technical = sections.find((section) => section.startsWith('Technical details')) ?? '';
    const societal = sections.find((section) => section.startsWith('Societal impact')) ?? '';
    expect(technical).toMatch(/perovskite|tandem|moisture|degradation|encapsulation/i);
    expect(technical).not.toContain('Rooftop');
    expect(societal).toMatch(/rooftop|installers|panels|communities|leaching/i);
  });

  it('say that nothing is missing when every specialist reported', () => {
    const complete = prompt.replace(/Missing angles \(1\)[^\n]*\n[^\n]*\n/, 'Missing angles: none — every specialist reported.\n');
    const reply = ask(complete);
    expect(reply.text).toContain('No angle is missing');
    expect(reply.text).not.toContain('Gaps:');
  });

  it('with no findings at all, still name the gaps', () => {
    const reply = ask(
      'Task: Tides\n\nFindings from 0 of 2 specialists:\n\nMissing angles (2) — say in the answer that these are gaps:\n- a ("Angle A"): timed out\n- b ("Angle B"): skipped\n\nSynthesize.',
    );
    expect(reply.kind).toBe('synthesis');
    expect(reply.text.match(/^## .+$/gm)).toEqual(['## Cross-cutting synthesis']);
    expect(reply.text).toContain('Angle A');
    expect(reply.text).toContain('Angle B');
  });
});

describe('planner replies', () => {
  const plan = (user: string) => JSON.parse(ask(user).text) as Array<{ id: string; angle: string; instructions: string }>;

  it('are only a JSON array of N angle objects tailored to the topic', () => {
    const reply = ask('Topic: Urban heat islands\n\nPropose 5 research angles. Reply with ONLY a JSON array of objects with id, angle and instructions.');
    expect(reply.kind).toBe('planner');
    expect(reply.text.trim().startsWith('[')).toBe(true);
    const angles = JSON.parse(reply.text) as Array<{ id: string; angle: string; instructions: string }>;
    expect(angles).toHaveLength(5);
    expect(new Set(angles.map((angle) => angle.id)).size).toBe(5);
    for (const angle of angles) {
      expect(Object.keys(angle)).toEqual(['id', 'angle', 'instructions']);
      expect(angle.id).toMatch(/^[a-z0-9]+(?:-[a-z0-9]+)*$/);
      expect(angle.angle.length).toBeGreaterThan(3);
      expect(angle.instructions).toContain('Urban heat islands');
    }
  });

  it('read N as a word, default to 4, and use Task: when there is no Topic:', () => {
    expect(plan('Task: Tides\nGive three angles as a JSON array.')).toHaveLength(3);
    expect(plan('Task: Tides\nReturn the angles as a JSON array.')).toHaveLength(4);
    expect(plan('Task: Tides\nReturn the angles as a JSON array.')[0]?.instructions).toContain('Tides');
  });
});

describe('summaries and other prompts', () => {
  const document =
    'The harbour was dredged in 1902. Trade tripled within a decade. A second basin opened in 1921, and rail links followed. ' +
    'By 1950 the port handled most of the region’s grain. Containerisation later moved the work downstream.';

  it('a summary is labelled, extractive, and within the word limit', () => {
    const reply = ask(`Summarise this in at most 20 words.\n\n<document name="harbour.txt">\n${document}\n</document>`);
    expect(reply.kind).toBe('summary');
    expect(reply.text.startsWith('[Simulated summary] The harbour was dredged in 1902.')).toBe(true);
    expect(countWords(reply.text)).toBeLessThanOrEqual(20);
  });

  it('a specialist prompt that carries a document to summarise gets a summary (per-file fan-outs)', () => {
    const reply = ask(`Task: Summarise the folder\n\nYour angle: harbour.txt\n\nSummarise the following document in at most 25 words.\n\n<document name="harbour.txt">\n${document}\n</document>`);
    expect(reply.kind).toBe('summary');
    expect(reply.text.startsWith('[Simulated summary] The harbour was dredged in 1902.')).toBe(true);
    expect(countWords(reply.text)).toBeLessThanOrEqual(25);
  });

  it('a summary after "Document:" works too, and a word limit inside the document is ignored', () => {
    const reply = ask(`Please summarize.\nDocument: ${document} Write at most 3 words.`);
    expect(reply.kind).toBe('summary');
    expect(reply.text).toContain('Trade tripled within a decade.');
  });

  it('anything else gets a labelled reply quoting the start of the last user message', () => {
    const reply = simulatedReply({
      model: 'm',
      messages: [
        { role: 'user', content: 'First question' },
        { role: 'assistant', content: 'An answer' },
        { role: 'user', content: [{ type: 'text', text: 'What is the boiling point of water at altitude?' }] },
      ],
    });
    expect(reply.kind).toBe('generic');
    expect(reply.text.startsWith('[Simulated]')).toBe(true);
    expect(reply.text).toContain('What is the boiling point of water at altitude?');
  });
});

describe('tokens and deltas', () => {
  it('estimateTokens is ceil(code points / 4)', () => {
    expect(estimateTokens('')).toBe(0);
    expect(estimateTokens('abcd')).toBe(1);
    expect(estimateTokens('abcde')).toBe(2);
    expect(estimateTokens('😀😀😀😀')).toBe(1);
  });

  it('deltas are a few words each and concatenate back to the text', () => {
    const text = specialist('Tides', 'Technical details').text;
    const deltas = splitIntoDeltas(text);
    expect(deltas.join('')).toBe(text);
    for (const delta of deltas) expect(countWords(delta)).toBeLessThanOrEqual(3);
    expect(deltas.length).toBeGreaterThanOrEqual(Math.ceil(countWords(text) / 3));
  });
});

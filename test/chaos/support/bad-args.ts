/**
 * Generators of bad `rfw` command lines: every command that returns on its own
 * (not `tail`, `jobs wait` or `--wait`, which follow until stopped; sweeps get
 * `--detach`), with garbage positional arguments, flag values, unknown flags,
 * missing values, duplicated and conflicting flags, and garbage commands.
 */
import fc from 'fast-check';

interface CommandSpec {
  path: string[];
  /** Positional argument slots the command has. */
  positionals: number;
  flags: string[];
  bools: string[];
  /** Appended last so the command returns on its own. */
  tail?: string[];
}

const COMMANDS: CommandSpec[] = [
  {
    path: ['jobs', 'list'],
    positionals: 0,
    flags: ['--status', '--type', '--priority', '--limit', '--cursor'],
    bools: [],
  },
  { path: ['jobs', 'get'], positionals: 1, flags: [], bools: [] },
  {
    path: ['jobs', 'schedule'],
    positionals: 2,
    flags: [
      '--payload-file',
      '--priority',
      '--delay',
      '--run-at',
      '--max-retries',
      '--timeout',
      '--id',
    ],
    bools: [],
  },
  { path: ['jobs', 'cancel'], positionals: 1, flags: [], bools: [] },
  { path: ['jobs', 'retry'], positionals: 1, flags: [], bools: [] },
  { path: ['jobs'], positionals: 1, flags: [], bools: [] },
  { path: ['dlq', 'list'], positionals: 0, flags: ['--type', '--limit', '--cursor'], bools: [] },
  { path: ['dlq', 'retry'], positionals: 1, flags: ['--type'], bools: ['--all'] },
  { path: ['dlq', 'purge'], positionals: 1, flags: ['--type'], bools: ['--all'] },
  { path: ['schedules', 'list'], positionals: 1, flags: [], bools: [] },
  { path: ['schedules', 'show'], positionals: 1, flags: [], bools: [] },
  {
    path: ['schedules', 'add'],
    positionals: 2,
    flags: [
      '--type',
      '--cron',
      '--every',
      '--tz',
      '--payload',
      '--priority',
      '--max-retries',
      '--timeout',
      '--misfire',
      '--misfire-grace',
      '--by',
    ],
    bools: ['--paused'],
  },
  {
    path: ['schedules', 'update'],
    positionals: 2,
    flags: [
      '--type',
      '--cron',
      '--every',
      '--tz',
      '--payload',
      '--priority',
      '--max-retries',
      '--timeout',
      '--misfire',
      '--misfire-grace',
      '--by',
    ],
    bools: [],
  },
  { path: ['schedules', 'pause'], positionals: 1, flags: ['--by'], bools: [] },
  { path: ['schedules', 'resume'], positionals: 1, flags: ['--by'], bools: [] },
  { path: ['schedules', 'remove'], positionals: 1, flags: [], bools: [] },
  { path: ['schedules', 'next'], positionals: 1, flags: ['--count', '--after'], bools: [] },
  { path: ['schedules'], positionals: 1, flags: [], bools: [] },
  { path: ['stats'], positionals: 1, flags: ['--type'], bools: ['--by-priority'] },
  { path: ['pause'], positionals: 1, flags: ['--by'], bools: [] },
  { path: ['resume'], positionals: 1, flags: [], bools: [] },
  { path: ['paused'], positionals: 1, flags: [], bools: [] },
  { path: ['nodes'], positionals: 1, flags: [], bools: [] },
  {
    path: ['search'],
    positionals: 1,
    flags: [
      '--bucket',
      '--prefix',
      '--meta',
      '--min-size',
      '--max-size',
      '--modified-after',
      '--modified-before',
      '--limit',
      '--cursor',
      '--timeout',
    ],
    bools: [],
    tail: ['--timeout', '2s'],
  },
  {
    path: ['heal'],
    positionals: 1,
    flags: ['--bucket', '--prefix', '--key', '--node', '--priority', '--timeout', '--max-retries'],
    bools: ['--deep', '--dry-run', '--remove-dangling'],
    tail: ['--detach'],
  },
  {
    path: ['resync'],
    positionals: 1,
    flags: ['--bucket', '--prefix', '--key', '--node', '--priority', '--timeout', '--max-retries'],
    bools: [],
    tail: ['--detach'],
  },
];

/** Values that are wrong for most flags, plus a few that are right for some. */
const value = fc.oneof(
  fc.constantFrom(
    '',
    ' ',
    '-',
    '--',
    '-1',
    '0',
    '1001',
    'NaN',
    'Infinity',
    '1e309',
    '0x10',
    '{',
    '{}',
    '[]',
    'null',
    '"x"',
    '30x',
    '5 m',
    '1h30',
    '99999999999999999999d',
    '-5s',
    'yesterday',
    '2024-13-45T99:99:99Z',
    'high',
    'urgent',
    'dead',
    'failed',
    'a.b',
    'a*',
    '>',
    'UPPER',
    'k=v',
    '=v',
    'k=',
    '10KB',
    '1.5MiB',
    '-10KB',
    '1ZB',
    '/nonexistent/file.json',
    '/etc/hostname',
    '/tmp',
  ),
  fc.integer().map(String),
  fc.double().map(String),
  fc.string({ maxLength: 30 }),
  fc.string({ maxLength: 10, unit: 'binary' }),
  fc.integer({ min: 200, max: 5000 }).map((n) => 'x'.repeat(n)),
);

/** `--server` values that fail fast: refused ports and unparsable URLs, never a name to resolve. */
const serverValue = fc.constantFrom(
  '',
  ' ',
  'nats://',
  'nats://127.0.0.1:1',
  'nats://[::1',
  '::::',
  'http://127.0.0.1:1',
  'nats://127.0.0.1:99999',
  '%%%',
  'nats://127.0.0.1:1,nats://127.0.0.1:2',
  ',,,',
);

const unknownFlag = fc.oneof(
  fc.constantFrom('--bogus', '-z', '---x', '--limit=abc', '--json=yes', '-', '--', '--no-json'),
  fc.stringMatching(/^--[a-z][a-z-]{0,15}$/),
);

export const badArgs: fc.Arbitrary<string[]> = fc
  .record({
    spec: fc.constantFrom(...COMMANDS),
    garbageCommand: fc.oneof(
      { weight: 9, arbitrary: fc.constant(undefined) },
      { weight: 1, arbitrary: fc.array(value, { minLength: 1, maxLength: 3 }) },
    ),
    positionals: fc.array(value, { maxLength: 3 }),
    flagValues: fc.array(fc.tuple(fc.nat(20), value), { maxLength: 4 }),
    dangling: fc.boolean(),
    bools: fc.array(fc.nat(5), { maxLength: 2 }),
    unknown: fc.array(unknownFlag, { maxLength: 2 }),
    server: fc.oneof(
      { weight: 19, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: serverValue },
    ),
    prefix: fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: value }),
    json: fc.boolean(),
    order: fc.boolean(),
  })
  .map((g) => {
    const path = g.garbageCommand ?? g.spec.path;
    const flags: string[] = [];
    for (const [i, v] of g.flagValues) {
      const f = g.spec.flags[i % Math.max(1, g.spec.flags.length)];
      if (f) flags.push(f, v);
    }
    // A flag missing its value at the very end.
    const dangling = g.dangling && g.spec.flags[0] ? [g.spec.flags[0]] : [];
    for (const i of g.bools) {
      const b = g.spec.bools[i % Math.max(1, g.spec.bools.length)];
      if (b) flags.push(b);
    }
    const global: string[] = [];
    if (g.server !== null) global.push('--server', g.server);
    if (g.prefix !== null) global.push('--prefix', g.prefix);
    if (g.json) global.push('--json');
    const body = [...g.positionals, ...flags, ...g.unknown];
    const argv = g.order ? [...global, ...path, ...body] : [...path, ...body, ...global];
    return [...argv, ...(g.spec.tail ?? []), ...dangling];
  });

/**
 * JSON schemas of the admin API: request schemas validate input (a bad field
 * is a 400 naming it), response schemas document the answers in the OpenAPI
 * document. Shared shapes are registered once by `$id`.
 */
import {
  CHILD_FAILURE_POLICIES,
  JOB_STATES,
  LIMITS,
  PRIORITIES,
  SCHEDULE_NAME_PATTERN,
} from '@rfw/core';

const str = { type: 'string' } as const;
const int = { type: 'integer' } as const;
const num = { type: 'number' } as const;
const ms = { type: 'integer', description: 'ms since the epoch' } as const;
const priority = { type: 'string', enum: [...PRIORITIES] } as const;
const jobType = { type: 'string', pattern: LIMITS.typePattern.source } as const;
const jobId = { type: 'string', pattern: LIMITS.idPattern.source } as const;
const labels = { type: 'object', additionalProperties: { type: 'string' } } as const;

// --- periodic schedules (JobQueue.schedules) ---------------------------------

const scheduleName = { type: 'string', pattern: SCHEDULE_NAME_PATTERN.source } as const;

/** The fields of a schedule but its name, shared by the add and update bodies. */
const scheduleFields = {
  cron: {
    type: 'string',
    minLength: 1,
    maxLength: 256,
    description: 'Cron expression, 5 fields or 6 with seconds first; give this or everyMs',
  },
  everyMs: {
    type: 'integer',
    minimum: 100,
    description: 'Plain interval, ms: fire times are its multiples since the epoch',
  },
  timezone: {
    type: 'string',
    minLength: 1,
    maxLength: 64,
    description: "IANA time zone of a cron expression (default: the scheduler's)",
  },
  type: jobType,
  payload: { description: "Any JSON value: each fire's job payload (default {})" },
  priority,
  maxRetries: { type: 'integer', minimum: 0, maximum: 1000 },
  timeout: { type: 'integer', minimum: 1, description: 'Per-attempt timeout of each job, ms' },
  misfire: { type: 'string', enum: ['latest', 'all', 'skip'] },
  misfireGraceMs: { type: 'integer', minimum: 0 },
} as const;

/** Shared shapes, added to the server with `addSchema` and referenced as `{ $ref: '<id>#' }`. */
export const sharedSchemas = [
  {
    $id: 'Error',
    type: 'object',
    required: ['error', 'message'],
    properties: {
      error: {
        type: 'string',
        description: 'Machine-readable code, e.g. `bad_request`, `not_found`',
      },
      message: str,
      field: { type: 'string', description: 'The offending field, on 400 answers' },
    },
  },
  {
    $id: 'Job',
    type: 'object',
    additionalProperties: true,
    properties: {
      id: str,
      type: str,
      priority,
      payload: {},
      state: { type: 'string', enum: [...JOB_STATES] },
      maxRetries: int,
      timeoutMs: int,
      attempts: int,
      createdAt: ms,
      runAt: ms,
      updatedAt: ms,
      lastError: str,
      workerId: str,
      result: {},
      deadReason: str,
      parent: { $ref: 'ParentRef#' },
      flow: { $ref: 'FlowSummary#' },
      history: {
        type: 'array',
        items: {
          type: 'object',
          properties: {
            state: str,
            at: ms,
            attempt: int,
            workerId: str,
            error: str,
          },
        },
      },
    },
  },
  {
    $id: 'ParentRef',
    type: 'object',
    description: "On a child of a flow: its parent (the child's id is <parent>-<index>)",
    properties: {
      id: str,
      onFailure: { type: 'string', enum: [...CHILD_FAILURE_POLICIES] },
      siblings: { type: 'integer', description: 'How many children the parent has' },
    },
  },
  {
    $id: 'FlowSummary',
    type: 'object',
    description:
      "On a flow's parent (state `waiting` until its children end): its children, counted",
    properties: {
      children: { type: 'integer', description: 'How many children the parent waits for' },
      succeeded: int,
      dead: int,
      cancelled: int,
      pending: { type: 'integer', description: 'Children not ended yet (children route only)' },
    },
  },
  {
    $id: 'ChildEnding',
    type: 'object',
    additionalProperties: true,
    properties: {
      id: str,
      type: str,
      state: { type: 'string', enum: ['succeeded', 'dead', 'cancelled'] },
      onFailure: { type: 'string', enum: [...CHILD_FAILURE_POLICIES] },
      at: ms,
      result: {},
      error: str,
    },
  },
  {
    $id: 'ChildPage',
    type: 'object',
    properties: {
      flow: { $ref: 'FlowSummary#' },
      total: { type: 'integer', description: 'Ended children matching `state`' },
      endings: { type: 'array', items: { $ref: 'ChildEnding#' } },
      nextCursor: {
        type: 'string',
        description: 'Pass as `cursor` for the next page; absent on the last page',
      },
    },
  },
  {
    $id: 'JobPage',
    type: 'object',
    properties: {
      jobs: { type: 'array', items: { $ref: 'Job#' } },
      nextCursor: {
        type: 'string',
        description: 'Pass as `cursor` for the next page; absent on the last page',
      },
    },
  },
  {
    $id: 'DeadLetter',
    type: 'object',
    properties: {
      id: str,
      type: str,
      reason: str,
      lastError: str,
      attempts: int,
      originalSubject: str,
      body: { type: 'string', description: 'The body as published, as text' },
      seq: int,
      at: ms,
    },
  },
  {
    $id: 'QueueStats',
    type: 'object',
    properties: Object.fromEntries(
      [
        'pending',
        'delayed',
        'running',
        'succeeded',
        'failed',
        'retrying',
        'dead',
        'cancelled',
        'queueSize',
        'dlq',
      ].map((k) => [k, int]),
    ),
  },
  {
    $id: 'JobMetrics',
    type: 'object',
    additionalProperties: true,
    properties: Object.fromEntries(
      [
        'activeJobs',
        'completedJobs',
        'failedJobs',
        'queueSize',
        'workerCount',
        'pending',
        'delayed',
        'failedAttempts',
        'cancelled',
        'dlq',
      ].map((k) => [k, int]),
    ),
  },
  {
    $id: 'Node',
    type: 'object',
    additionalProperties: true,
    properties: {
      nodeId: str,
      status: { type: 'string', enum: ['up', 'missing', 'down'] },
      silentMs: int,
      types: { type: 'array', items: str },
      roles: { type: 'array', items: str },
      capacity: int,
      inFlight: int,
      held: { type: 'object', additionalProperties: { type: 'array', items: str } },
      host: str,
      pid: int,
      version: str,
      startedAt: ms,
      at: ms,
      heartbeatIntervalMs: int,
    },
  },
  {
    $id: 'Leader',
    type: 'object',
    properties: {
      role: str,
      holder: str,
      revision: int,
      acquiredAt: ms,
      renewedAt: ms,
      expiresAt: ms,
      expired: { type: 'boolean' },
    },
  },
  {
    $id: 'Alert',
    type: 'object',
    additionalProperties: true,
    properties: {
      key: str,
      kind: { type: 'string', enum: ['failed_jobs', 'worker_down', 'queue_size', 'queue_latency'] },
      labels,
      severity: { type: 'string', enum: ['warning', 'critical'] },
      status: { type: 'string', enum: ['firing', 'resolved'] },
      episode: int,
      summary: str,
      value: num,
      threshold: num,
      startsAt: ms,
      endsAt: ms,
      updatedAt: ms,
      pendingNotifications: int,
    },
  },
  {
    $id: 'Sweep',
    type: 'object',
    properties: {
      id: str,
      type: str,
      priority: str,
      workerId: str,
      attempt: int,
      done: num,
      total: num,
      message: str,
      state: {
        type: 'string',
        enum: ['running', 'succeeded', 'dead', 'cancelled', 'retrying', 'stale'],
      },
      startedAt: ms,
      updatedAt: ms,
      finishedAt: ms,
      ratePerSec: num,
      etaMs: int,
      bytesDone: num,
      bytesPerSec: num,
    },
  },
  {
    $id: 'Schedule',
    type: 'object',
    additionalProperties: true,
    properties: { name: scheduleName, ...scheduleFields },
  },
  {
    $id: 'StoredSchedule',
    type: 'object',
    additionalProperties: true,
    properties: {
      v: { type: 'integer', enum: [1] },
      schedule: { $ref: 'Schedule#' },
      paused: { type: 'boolean' },
      createdAt: ms,
      updatedAt: { ...ms, description: 'Last change, ms since the epoch; only later times fire' },
      by: { type: 'string', description: 'Who made the last change' },
      nextFireAt: {
        type: 'integer',
        nullable: true,
        description: 'Next fire time, ms since the epoch; null while paused (list only)',
      },
      nextFireTimes: {
        type: 'array',
        items: ms,
        description: 'The next 5 fire times, ms; empty while paused (GET of one only)',
      },
    },
  },
] as const;

const ref = (id: string): { $ref: string } => ({ $ref: `${id}#` });
export const errorResponses = {
  400: { description: 'Invalid input; `field` names it', ...ref('Error') },
  401: { description: 'Missing or wrong bearer token', ...ref('Error') },
};

export const idParams = {
  type: 'object',
  required: ['id'],
  properties: { id: jobId },
} as const;

export const typeParams = {
  type: 'object',
  required: ['type'],
  properties: { type: jobType },
} as const;

export const listJobsQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: {
      type: 'string',
      enum: [...JOB_STATES, 'failed'],
      description: '`failed` is an alias of `dead`',
    },
    type: jobType,
    priority,
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
    cursor: { type: 'string', pattern: '^\\d+$' },
  },
} as const;

export const scheduleBody = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: jobType,
    payload: { description: 'Any JSON value, validated by the worker type schema' },
    priority,
    delayMs: {
      type: 'integer',
      minimum: 0,
      description: 'Run no sooner than this many ms from now',
    },
    runAt: {
      description: 'Run no sooner than this time: ms since the epoch, or an ISO 8601 date-time',
      anyOf: [
        { type: 'integer', minimum: 0 },
        { type: 'string', minLength: 1, maxLength: 64 },
      ],
    },
    maxRetries: { type: 'integer', minimum: 0, maximum: 1000 },
    timeoutMs: { type: 'integer', minimum: 1 },
    id: {
      ...jobId,
      description:
        'Idempotency key: scheduling the same id again while the job exists enqueues nothing',
    },
  },
} as const;

export const dlqQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: jobType,
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
    cursor: { type: 'string', pattern: '^\\d+$' },
  },
} as const;

export const dlqRetryBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: { ...jobId, description: 'Retry this dead job' },
    type: { ...jobType, description: 'Retry every dead letter of this type' },
    all: {
      type: 'boolean',
      description: 'Retry every dead letter (needed when neither id nor type is given)',
    },
  },
} as const;

export const dlqPurgeBody = {
  type: 'object',
  additionalProperties: false,
  properties: {
    type: { ...jobType, description: 'Purge the dead letters of this type' },
    all: { type: 'boolean', description: 'Purge every dead letter (needed when no type is given)' },
  },
} as const;

export const searchQuery = {
  type: 'object',
  additionalProperties: { type: 'string' },
  properties: {
    q: { type: 'string', description: 'Text to search for' },
    bucket: str,
    prefix: str,
    limit: { type: 'integer', minimum: 1, maximum: 1000 },
    cursor: str,
  },
} as const;

export { ref };

export const scheduleNameParams = {
  type: 'object',
  required: ['name'],
  properties: { name: scheduleName },
} as const;

export const addScheduleBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'type'],
  properties: {
    name: { ...scheduleName, description: "Unique; each fire's job id is <name>-<fire time ms>" },
    ...scheduleFields,
    paused: { type: 'boolean', description: 'Add it paused (default false)' },
  },
} as const;

export const updateScheduleBody = {
  type: 'object',
  additionalProperties: false,
  description: 'Fields to change; cron and everyMs replace each other',
  properties: scheduleFields,
} as const;

export const nextFireTimesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    count: { type: 'integer', minimum: 1, maximum: 1000, default: 5 },
    after: {
      type: 'integer',
      minimum: 0,
      maximum: 8_640_000_000_000_000,
      description: 'Times after this one, ms since the epoch (default now)',
    },
  },
} as const;

/** `POST /api/flows`: the root node; the handler checks the tree, naming fields by path. */
export const flowBody = {
  type: 'object',
  required: ['type'],
  description:
    'A flow node: `type`, `payload`, `options` (priority, delayMs, runAt, maxRetries, timeoutMs, ' +
    'backoff; `id` on the root only) and `children`, each a node with `onFailure` ' +
    '(fail, continue or ignore)',
  properties: {
    type: jobType,
    payload: { description: 'Any JSON value (default {})' },
    options: { type: 'object' },
    children: { type: 'array' },
  },
} as const;

export const childrenQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: {
      type: 'string',
      enum: ['succeeded', 'dead', 'cancelled', 'failed'],
      description: '`failed` is dead or cancelled',
    },
    limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
    cursor: { type: 'string', pattern: '^\\d+$', description: 'Offset into the endings' },
  },
} as const;

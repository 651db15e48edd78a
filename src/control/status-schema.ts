// The JSON Schema (draft 2020-12) of the status document (status-document.ts). docs/operations.md
// publishes it; test/http/status.test.ts holds the two equal and validates live answers with it.

const nullable = (type: string, extra: Record<string, unknown> = {}) => ({ type: [type, 'null'], ...extra });
const time = nullable('string', { format: 'date-time' });
const health = { enum: ['starting', 'healthy', 'unhealthy'] };

export const STATUS_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'urn:steward:status',
  title: 'steward status',
  type: 'object',
  additionalProperties: false,
  required: ['version', 'startedAt', 'uptimeSeconds', 'health', 'app', 'resources', 'backend', 'election', 'locks', 'jobs'],
  properties: {
    version: { type: 'string' },
    startedAt: { type: 'string', format: 'date-time' },
    uptimeSeconds: { type: 'number', minimum: 0 },
    health: {
      type: 'object',
      additionalProperties: false,
      required: ['status', 'reason'],
      properties: { status: health, reason: { type: 'string' } },
    },
    app: {
      type: 'object',
      additionalProperties: false,
      required: ['pid', 'startedAt', 'restarts', 'lastExit', 'health'],
      properties: {
        pid: nullable('integer'),
        startedAt: time,
        restarts: { type: 'integer', minimum: 0 },
        lastExit: {
          oneOf: [
            { type: 'null' },
            {
              type: 'object',
              additionalProperties: false,
              required: ['code', 'signal', 'status', 'at'],
              properties: { code: nullable('integer'), signal: nullable('string'), status: { type: 'integer' }, at: { type: 'string', format: 'date-time' } },
            },
          ],
        },
        health,
        notifyStatus: nullable('string'),
      },
    },
    resources: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'dest', 'lastRender', 'lastOutcome', 'revision', 'lastError', 'reloads'],
        properties: {
          name: { type: 'string' },
          dest: { type: 'string' },
          lastRender: time,
          lastOutcome: nullable('string', { enum: ['unchanged', 'written', 'would-change', 'missing-key', 'render-failed', 'check-failed', 'write-failed', null] }),
          revision: { type: 'integer', minimum: 0 },
          lastError: nullable('string'),
          reloads: { type: 'integer', minimum: 0 },
        },
      },
    },
    backend: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'connected', 'lastError'],
          properties: { name: { type: 'string' }, connected: { type: 'boolean' }, lastError: nullable('string') },
        },
      ],
    },
    election: {
      oneOf: [
        { type: 'null' },
        {
          type: 'object',
          additionalProperties: false,
          required: ['role', 'leader', 'members', 'holdsFencingToken'],
          properties: {
            role: { enum: ['leader', 'follower', null] },
            leader: nullable('string'),
            members: { type: 'array', items: { type: 'string' } },
            holdsFencingToken: { type: 'boolean' },
          },
        },
      ],
    },
    locks: { type: 'array', items: { type: 'string' } },
    jobs: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'kind', 'schedule', 'when', 'running', 'lastRun', 'ok', 'exitCode', 'signal', 'durationMs', 'nextRun'],
        properties: {
          name: { type: 'string' },
          kind: { enum: ['job', 'backup'] },
          schedule: { type: 'string' },
          when: { type: 'string' },
          running: { type: 'boolean' },
          lastRun: time,
          ok: nullable('boolean'),
          exitCode: nullable('integer'),
          signal: nullable('string'),
          durationMs: nullable('integer', { minimum: 0 }),
          nextRun: time,
        },
      },
    },
  },
} as const;

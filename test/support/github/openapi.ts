// Validates the stand-in's REST responses against GitHub's OpenAPI description
// (the committed subset made by scripts/extract-github-openapi.mjs). A response
// that does not match fails the request loudly: the stand-in must not drift.
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import * as ajvFormats from 'ajv-formats';

// ajv-formats is CommonJS; under ESM its function sits at `default` (or one level deeper).
type AddFormats = (ajv: Ajv) => Ajv;
const formatsModule = ajvFormats as unknown as { default: AddFormats | { default: AddFormats } };
const addFormats: AddFormats = typeof formatsModule.default === 'function' ? formatsModule.default : formatsModule.default.default;

interface Subset {
  source: string;
  operations: Record<string, { operationId: string; responses: Record<string, object | null> }>;
  components: { schemas: Record<string, object> };
}

/**
 * OpenAPI 3.0's `nullable` is understood by Ajv only beside a `type`; GitHub's
 * description also puts it beside `anyOf` (e.g. an installation's `account`).
 * Such a schema becomes "this, or null".
 */
function nullableWithoutType(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableWithoutType);
  if (!node || typeof node !== 'object') return node;
  const o: Record<string, unknown> = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, nullableWithoutType(v)]));
  // A nullable enum lists its values only: null is one of them too.
  if (o.nullable === true && Array.isArray(o.enum) && !o.enum.includes(null)) o.enum = [...o.enum, null];
  if (o.nullable !== true || 'type' in o) return o;
  const { nullable: _, ...rest } = o;
  return { anyOf: [rest, { enum: [null] }] };
}

const subset = nullableWithoutType(JSON.parse(readFileSync(new URL('./openapi-subset.json', import.meta.url), 'utf8'))) as Subset;
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
const cache = new Map<string, ValidateFunction | null>();

export class OpenApiMismatch extends Error {
  readonly code = 'OPENAPI_MISMATCH';
}

export const openApiSource = subset.source;

/** Throws when `body` is not what GitHub's description promises for this operation and status. */
export function assertResponseMatches(operation: string, status: number, body: unknown): void {
  const op = subset.operations[operation];
  if (!op) throw new OpenApiMismatch(`stand-in serves ${operation}, which the OpenAPI subset does not describe`);
  if (!(String(status) in op.responses))
    throw new OpenApiMismatch(`GitHub never answers ${operation} with ${status} (described: ${Object.keys(op.responses).join(', ')})`);
  const key = `${operation} ${status}`;
  let validate = cache.get(key);
  if (validate === undefined) {
    const schema = op.responses[String(status)];
    // `components` rides along so that "#/components/schemas/..." resolves.
    validate = schema ? ajv.compile({ ...schema, components: subset.components }) : null;
    cache.set(key, validate);
  }
  if (validate && !validate(body)) {
    const errs = (validate.errors ?? [])
      .slice(0, 5)
      .map((e) => `${e.instancePath || '/'} ${e.message}`)
      .join('; ');
    throw new OpenApiMismatch(`${operation} ${status} response does not match GitHub's schema: ${errs}`);
  }
}

// Parse an OpenAPI document and validate it with @seriousme/openapi-schema-validator (the
// OpenAPI 3.x JSON schemas, and that every $ref resolves), for tests/integration/test_openapi.py:
//   node openapi_check.mjs FILE     a YAML (or JSON) file
//   node openapi_check.mjs -        a JSON document on standard input (a test's doctored copy)
// Prints {"valid": bool, "errors": [...] | null, "version": "3.1", "document": {...}} and exits
// 0 whether or not the document is valid (the test judges); 2 when it cannot be read or parsed.
import { readFileSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { parse } from 'yaml';

const [source] = process.argv.slice(2);
if (!source) {
  console.error('usage: node openapi_check.mjs FILE|-');
  process.exit(2);
}
let document;
try {
  document = source === '-' ? JSON.parse(readFileSync(0, 'utf-8'))
                            : parse(readFileSync(source, 'utf-8'));
} catch (e) {
  console.error(`openapi_check.mjs: cannot read ${source}: ${e.message}`);
  process.exit(2);
}
// The validator keeps the document it was given; it gets a copy, so what is printed is the
// document as parsed.
const validator = new Validator();
const result = await validator.validate(structuredClone(document));
process.stdout.write(JSON.stringify({
  valid: result.valid,
  errors: result.valid ? null : result.errors,
  version: validator.version ?? null,
  document,
}) + '\n');

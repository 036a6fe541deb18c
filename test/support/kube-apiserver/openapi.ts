/**
 * OpenAPI endpoints, as far as kubectl needs them. kubectl 1.32 `apply`/`create` with the default
 * `--validate=strict` first asks `/openapi/v3` (to learn whether the server validates fields itself) and
 * then always downloads `/openapi/v2` as protobuf for client-side validation; without the v2 document it
 * refuses to apply. The emulator publishes no schemas: `/openapi/v3` is 404 and `/openapi/v2` is an empty
 * protobuf `openapi_v2.Document` (zero bytes decode as a valid empty message), so kubectl finds no schema
 * for any kind, skips client-side validation (its documented behaviour for unknown kinds), and falls back
 * to its compiled-in types for strategic-merge patch metadata. CRD validation still happens server-side.
 */
import type { ResourceType } from './resources.js';

/** An OpenAPI document answer. */
export interface OpenApiAnswer {
  contentType: string;
  body: Buffer;
}

/** The protobuf media type kube-apiserver answers `/openapi/v2` with (Go's mime parser rejects the `@` form). */
export const OPENAPI_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

/** The answer for an OpenAPI path, or undefined (404). */
export function openApiResponse(path: string, _types: ResourceType[]): OpenApiAnswer | undefined {
  if (path === '/openapi/v2') return { contentType: OPENAPI_V2_PROTOBUF, body: Buffer.alloc(0) };
  return undefined;
}

/**
 * Decoding of the Kubernetes protobuf wire format (`application/vnd.kubernetes.protobuf`) for the few
 * built-in kinds that clients send that way to this emulator: client-go's typed clients (Helm's release
 * Secrets and ConfigMaps, `kubectl create namespace`, their DeleteOptions). A request body is the 4-byte
 * magic `k8s\0` followed by a `runtime.Unknown` envelope whose `raw` field holds the object's message.
 * Answers stay JSON, which those clients also accept. A kind or field outside the tables below is refused
 * with 415, naming it, rather than silently dropped.
 * Field numbers: k8s.io/apimachinery/pkg/runtime/generated.proto, pkg/apis/meta/v1/generated.proto and
 * k8s.io/api/core/v1/generated.proto.
 */

/** The media type of the Kubernetes protobuf encoding. */
export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);

type Scalar = 'string' | 'bytes' | 'int64' | 'int32' | 'bool' | 'time';

/** How one field decodes: a scalar, a nested message, or a map; `repeated` collects an array. */
type FieldType =
  | { scalar: Scalar; repeated?: boolean }
  | { message: MessageSchema; repeated?: boolean }
  | { map: 'string' | 'bytes' };

interface MessageSchema {
  name: string;
  fields: Record<number, [string, FieldType]>;
}

const str = (repeated = false): FieldType => ({ scalar: 'string', repeated });

const OWNER_REFERENCE: MessageSchema = {
  name: 'OwnerReference',
  fields: {
    1: ['kind', str()],
    3: ['name', str()],
    4: ['uid', str()],
    5: ['apiVersion', str()],
    6: ['controller', { scalar: 'bool' }],
    7: ['blockOwnerDeletion', { scalar: 'bool' }],
  },
};

const OBJECT_META: MessageSchema = {
  name: 'ObjectMeta',
  fields: {
    1: ['name', str()],
    2: ['generateName', str()],
    3: ['namespace', str()],
    4: ['selfLink', str()],
    5: ['uid', str()],
    6: ['resourceVersion', str()],
    7: ['generation', { scalar: 'int64' }],
    8: ['creationTimestamp', { scalar: 'time' }],
    9: ['deletionTimestamp', { scalar: 'time' }],
    10: ['deletionGracePeriodSeconds', { scalar: 'int64' }],
    11: ['labels', { map: 'string' }],
    12: ['annotations', { map: 'string' }],
    13: ['ownerReferences', { message: OWNER_REFERENCE, repeated: true }],
    14: ['finalizers', str(true)],
  },
};

const PRECONDITIONS: MessageSchema = {
  name: 'Preconditions',
  fields: { 1: ['uid', str()], 2: ['resourceVersion', str()] },
};

/** Object messages by `apiVersion/kind`. */
const KINDS: Record<string, MessageSchema> = {
  'v1/Secret': {
    name: 'Secret',
    fields: {
      1: ['metadata', { message: OBJECT_META }],
      2: ['data', { map: 'bytes' }],
      3: ['type', str()],
      4: ['stringData', { map: 'string' }],
      5: ['immutable', { scalar: 'bool' }],
    },
  },
  'v1/ConfigMap': {
    name: 'ConfigMap',
    fields: {
      1: ['metadata', { message: OBJECT_META }],
      2: ['data', { map: 'string' }],
      3: ['binaryData', { map: 'bytes' }],
      4: ['immutable', { scalar: 'bool' }],
    },
  },
  'v1/Namespace': {
    name: 'Namespace',
    fields: {
      1: ['metadata', { message: OBJECT_META }],
      2: ['spec', { message: { name: 'NamespaceSpec', fields: { 1: ['finalizers', str(true)] } } }],
      // Always sent, empty on create; a server ignores status on create anyway.
      3: ['status', { message: { name: 'NamespaceStatus', fields: { 1: ['phase', str()] } } }],
    },
  },
  'v1/DeleteOptions': {
    name: 'DeleteOptions',
    fields: {
      1: ['gracePeriodSeconds', { scalar: 'int64' }],
      2: ['preconditions', { message: PRECONDITIONS }],
      3: ['orphanDependents', { scalar: 'bool' }],
      4: ['propagationPolicy', str()],
      5: ['dryRun', str(true)],
    },
  },
};
KINDS['meta.k8s.io/v1/DeleteOptions'] = KINDS['v1/DeleteOptions'];

/** Thrown for bodies this decoder cannot read; the server answers 415 with the message. */
export class ProtobufDecodeError extends Error {}

interface WireField {
  number: number;
  wireType: number;
  varint?: bigint;
  bytes?: Buffer;
}

function readVarint(buf: Buffer, offset: number): [bigint, number] {
  let value = 0n;
  let shift = 0n;
  for (let i = offset; i < buf.length && shift < 70n; i++) {
    const byte = buf[i];
    value |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return [value, i + 1];
    shift += 7n;
  }
  throw new ProtobufDecodeError('truncated varint');
}

function wireFields(buf: Buffer): WireField[] {
  const out: WireField[] = [];
  let offset = 0;
  while (offset < buf.length) {
    const [key, afterKey] = readVarint(buf, offset);
    const field: WireField = { number: Number(key >> 3n), wireType: Number(key & 7n) };
    offset = afterKey;
    if (field.wireType === 0) {
      [field.varint, offset] = readVarint(buf, offset);
    } else if (field.wireType === 2) {
      const [length, start] = readVarint(buf, offset);
      const end = start + Number(length);
      if (end > buf.length) throw new ProtobufDecodeError('truncated length-delimited field');
      field.bytes = buf.subarray(start, end);
      offset = end;
    } else if (field.wireType === 1 || field.wireType === 5) {
      offset += field.wireType === 1 ? 8 : 4;
    } else {
      throw new ProtobufDecodeError(`unsupported wire type ${field.wireType}`);
    }
    out.push(field);
  }
  return out;
}

function asInt(field: WireField): number {
  const value = BigInt.asIntN(64, field.varint ?? 0n);
  return Number(value);
}

function decodeScalar(type: Scalar, field: WireField): unknown {
  switch (type) {
    case 'string':
      return (field.bytes ?? Buffer.alloc(0)).toString('utf8');
    case 'bytes':
      return (field.bytes ?? Buffer.alloc(0)).toString('base64');
    case 'int64':
    case 'int32':
      return asInt(field);
    case 'bool':
      return (field.varint ?? 0n) !== 0n;
    case 'time': {
      // Go encodes a zero metav1.Time as an empty message; its JSON form is null.
      const seconds = wireFields(field.bytes ?? Buffer.alloc(0)).find((p) => p.number === 1);
      if (!seconds || asInt(seconds) === 0) return null;
      return new Date(asInt(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
    }
  }
}

function decodeMessage(schema: MessageSchema, buf: Buffer): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of wireFields(buf)) {
    const entry = schema.fields[field.number];
    if (!entry)
      throw new ProtobufDecodeError(`field ${field.number} of ${schema.name} is not decoded by the emulator`);
    const [name, type] = entry;
    if ('map' in type) {
      const map = (out[name] ??= {}) as Record<string, unknown>;
      const parts = wireFields(field.bytes ?? Buffer.alloc(0));
      const key = parts.find((p) => p.number === 1);
      const value = parts.find((p) => p.number === 2);
      map[key ? String(decodeScalar('string', key)) : ''] = value ? decodeScalar(type.map, value) : '';
      continue;
    }
    const value =
      'message' in type
        ? decodeMessage(type.message, field.bytes ?? Buffer.alloc(0))
        : decodeScalar(type.scalar, field);
    if (type.repeated) ((out[name] ??= []) as unknown[]).push(value);
    // Go's JSON omits zero values of optional fields (omitempty); protobuf sends them.
    else if (value !== '' && value !== 0 && value !== false && value !== null) out[name] = value;
  }
  return out;
}

/**
 * Decodes a `application/vnd.kubernetes.protobuf` request body into the JSON form of the object, with
 * `apiVersion` and `kind` from the envelope.
 */
export function decodeKubernetesProtobuf(body: Buffer): Record<string, unknown> {
  if (body.length < MAGIC.length || !body.subarray(0, MAGIC.length).equals(MAGIC))
    throw new ProtobufDecodeError('the body does not start with the Kubernetes protobuf magic number');
  let apiVersion = '';
  let kind = '';
  let raw: Buffer = Buffer.alloc(0);
  for (const field of wireFields(body.subarray(MAGIC.length))) {
    if (field.number === 1) {
      for (const part of wireFields(field.bytes ?? Buffer.alloc(0))) {
        if (part.number === 1) apiVersion = String(decodeScalar('string', part));
        if (part.number === 2) kind = String(decodeScalar('string', part));
      }
    } else if (field.number === 2) {
      raw = field.bytes ?? Buffer.alloc(0);
    } else if (field.number === 3 && field.bytes && field.bytes.length > 0) {
      throw new ProtobufDecodeError(`content encoding ${field.bytes.toString('utf8')} is not supported`);
    }
  }
  const schema = KINDS[`${apiVersion}/${kind}`];
  if (!schema)
    throw new ProtobufDecodeError(
      `the emulator decodes protobuf only for ${Object.keys(KINDS).join(', ')}, not ${apiVersion}/${kind}`,
    );
  return { apiVersion, kind, ...decodeMessage(schema, raw) };
}

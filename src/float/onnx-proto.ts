/**
 * The few fields of an ONNX model file (a protobuf `ModelProto`) that a per-layer comparison
 * needs: the graph's nodes in order (their op type and output names), and a copy of the file
 * whose graph lists more outputs, so that onnxruntime-web returns intermediate tensors too (it
 * returns any named value listed as a graph output).
 *
 * Protobuf wire format: a message is a sequence of fields, each a varint key
 * (field number · 8 + wire type) and a value: varint (type 0), 8 bytes (1), a varint length and
 * that many bytes (2: strings, bytes, sub-messages), 4 bytes (5). Field numbers follow onnx.proto:
 * ModelProto.graph = 7; GraphProto.node = 1, .output = 12; NodeProto.output = 2, .op_type = 4;
 * ValueInfoProto.name = 1. The file is untrusted: every length is checked against the bytes left,
 * and a failure is a `KmodelError` naming the byte offset.
 */
import { KmodelError } from '../errors.js';

interface Field {
  readonly no: number;
  readonly wire: number;
  /** Where the key starts, and the value's bytes (for wire type 2, without the length). */
  readonly at: number;
  readonly start: number;
  readonly end: number;
}

function varint(b: Uint8Array, pos: number, file: string): { value: number; next: number } {
  let value = 0;
  let mul = 1;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= b.length) throw new KmodelError('TRUNCATED', pos, 'a protobuf varint runs past the end', file);
    const c = b[pos + i];
    value += (c & 0x7f) * mul;
    mul *= 128;
    if (c < 0x80) return { value, next: pos + i + 1 };
  }
  throw new KmodelError('BAD_VALUE', pos, 'a protobuf varint longer than 10 bytes', file);
}

/** The fields of the message in bytes [start, end). */
function fields(b: Uint8Array, start: number, end: number, file: string): Field[] {
  const out: Field[] = [];
  let p = start;
  while (p < end) {
    const at = p;
    const key = varint(b, p, file);
    p = key.next;
    const no = Math.floor(key.value / 8);
    const wire = key.value % 8;
    let s = p;
    if (wire === 0) p = varint(b, p, file).next;
    else if (wire === 1) p += 8;
    else if (wire === 5) p += 4;
    else if (wire === 2) {
      const len = varint(b, p, file);
      s = len.next;
      p = s + len.value;
    } else
      throw new KmodelError('BAD_VALUE', at, `protobuf wire type ${wire} (field ${no}) is not one ONNX uses`, file);
    if (p > end) throw new KmodelError('TRUNCATED', at, `protobuf field ${no} runs past the end of its message`, file);
    out.push({ no, wire, at, start: s, end: p });
  }
  return out;
}

const utf8 = new TextDecoder();
const text = (b: Uint8Array, f: Field) => utf8.decode(b.subarray(f.start, f.end));

export interface OnnxNode {
  readonly opType: string;
  readonly outputs: readonly string[];
}

export interface OnnxGraphInfo {
  /** Nodes in file order (ONNX requires a topological order). */
  readonly nodes: readonly OnnxNode[];
  /** Names the graph already lists as outputs. */
  readonly outputs: readonly string[];
}

function graphField(b: Uint8Array, file: string): Field {
  const g = fields(b, 0, b.length, file).filter((f) => f.no === 7 && f.wire === 2);
  if (g.length !== 1)
    throw new KmodelError('BAD_VALUE', 0, `an ONNX model has one graph (ModelProto field 7), found ${g.length}`, file);
  return g[0];
}

export function readOnnxGraph(b: Uint8Array, file: string): OnnxGraphInfo {
  const g = graphField(b, file);
  const nodes: OnnxNode[] = [];
  const outputs: string[] = [];
  for (const f of fields(b, g.start, g.end, file)) {
    if (f.wire !== 2) continue;
    if (f.no === 1) {
      let opType = '';
      const outs: string[] = [];
      for (const n of fields(b, f.start, f.end, file)) {
        if (n.wire !== 2) continue;
        if (n.no === 2) outs.push(text(b, n));
        else if (n.no === 4) opType = text(b, n);
      }
      nodes.push({ opType, outputs: outs });
    } else if (f.no === 12) {
      const name = fields(b, f.start, f.end, file).find((n) => n.no === 1 && n.wire === 2);
      if (name) outputs.push(text(b, name));
    }
  }
  return { nodes, outputs };
}

function encodeVarint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v % 128) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** A length-delimited field: key, length, bytes. */
function lenField(no: number, body: Uint8Array): Uint8Array {
  const head = [...encodeVarint(no * 8 + 2), ...encodeVarint(body.length)];
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * The model with `names` appended to its graph's outputs (as ValueInfoProto with a name only:
 * onnxruntime infers their types). Everything else is copied byte for byte.
 */
export function withGraphOutputs(b: Uint8Array, names: readonly string[], file: string): Uint8Array {
  const g = graphField(b, file);
  const enc = new TextEncoder();
  const extra = names.map((n) => lenField(12, lenField(1, enc.encode(n))));
  const graph = lenField(7, concat([b.subarray(g.start, g.end), ...extra]));
  return concat([b.subarray(0, g.at), graph, b.subarray(g.end)]);
}

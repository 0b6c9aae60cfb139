/**
 * Ground-truth labels for `kpusim eval`, in the two common formats:
 * - COCO JSON (one file): `images` (id, file_name), `annotations` (image_id, category_id, and
 *   `bbox` [x, y, width, height] in pixels for detection), `categories` (id, name). Class index k
 *   is the k-th category in ascending id order (the usual mapping of COCO's 80 of 90 ids onto a
 *   network's 80 outputs), unless `--names` gives the network's class list (then by name).
 * - Pascal VOC XML (a folder of .xml files, one per image): `filename`, and per `object` its
 *   `name` and `bndbox` (xmin, ymin, xmax, ymax). Names map to class indices through `--names`.
 * A classification label is the image's first annotation (COCO) or object (VOC).
 * Files are untrusted: read with caps, every field checked, errors name the file and the item.
 */
import { readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { UsageError } from '../errors.js';
import { FILE_CAPS, readUserFile } from '../io/read-file.js';
import type { Box, GroundTruth } from './metrics.js';

export interface LabelSet {
  readonly format: 'coco' | 'voc';
  readonly source: string;
  /** Class names by index. */
  readonly classes: readonly string[];
  /** Ground truth by image file name (base name). */
  readonly images: ReadonlyMap<string, readonly GroundTruth[]>;
}

const MAX_XML_FILES = 100_000;

function bad(file: string, what: string): never {
  throw new UsageError('BAD_INPUT', `${file}: ${what}`);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const arr = (v: unknown): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

function checkBox(file: string, where: string, b: number[]): Box {
  if (b.length !== 4 || b.some((v) => typeof v !== 'number' || !Number.isFinite(v)))
    bad(file, `${where}: a box needs four finite numbers`);
  if (!(b[2] > b[0] && b[3] > b[1])) bad(file, `${where}: empty box [${b.join(', ')}]`);
  return [b[0], b[1], b[2], b[3]];
}

/** Names, one per line (blank lines and surrounding spaces ignored). */
export function readNames(file: string): string[] {
  const text = new TextDecoder().decode(readUserFile(file, FILE_CAPS.text));
  const names = text
    .split(/\r?\n/)
    .map((s) => s.trim())
    .filter((s) => s.length);
  if (!names.length) bad(file, 'no class names in it (one per line)');
  return names;
}

function readCoco(file: string, names: readonly string[] | undefined, needBoxes: boolean): LabelSet {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(readUserFile(file, FILE_CAPS.json)));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    bad(file, `not JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObj(doc) || !Array.isArray(doc.images) || !Array.isArray(doc.annotations) || !Array.isArray(doc.categories))
    bad(file, 'a COCO label file needs "images", "annotations" and "categories" arrays');
  const cats = doc.categories.map((c, i) => {
    if (!isObj(c) || typeof c.id !== 'number' || typeof c.name !== 'string')
      bad(file, `categories[${i}]: needs a numeric "id" and a "name"`);
    return { id: c.id, name: c.name };
  });
  cats.sort((a, b) => a.id - b.id);
  const classes = names ?? cats.map((c) => c.name);
  const classOf = new Map<number, number>();
  for (const [k, c] of cats.entries()) {
    const idx = names ? names.indexOf(c.name) : k;
    if (idx >= 0) classOf.set(c.id, idx);
  }
  const fileOf = new Map<number, string>();
  doc.images.forEach((im, i) => {
    if (!isObj(im) || typeof im.id !== 'number' || typeof im.file_name !== 'string')
      bad(file, `images[${i}]: needs a numeric "id" and a "file_name"`);
    fileOf.set(im.id, basename(im.file_name));
  });
  const images = new Map<string, GroundTruth[]>();
  for (const f of fileOf.values()) images.set(f, []);
  doc.annotations.forEach((a, i) => {
    if (!isObj(a) || typeof a.image_id !== 'number' || typeof a.category_id !== 'number')
      bad(file, `annotations[${i}]: needs numeric "image_id" and "category_id"`);
    const f = fileOf.get(a.image_id);
    if (f === undefined) bad(file, `annotations[${i}]: image_id ${a.image_id} is not in "images"`);
    const label = classOf.get(a.category_id);
    if (label === undefined) {
      if (names) return; // a category the network does not have
      bad(file, `annotations[${i}]: category_id ${a.category_id} is not in "categories"`);
    }
    let box: Box = [0, 0, 1, 1];
    if (needBoxes || a.bbox !== undefined) {
      if (!Array.isArray(a.bbox)) bad(file, `annotations[${i}]: no "bbox"`);
      const [x, y, w, h] = a.bbox as number[];
      box = checkBox(file, `annotations[${i}].bbox`, [x, y, x + w, y + h]);
    }
    images.get(f)!.push({ box, label });
  });
  return { format: 'coco', source: file, classes, images };
}

function readVoc(dir: string, names: readonly string[] | undefined, needBoxes: boolean): LabelSet {
  if (!names)
    throw new UsageError(
      'BAD_ARGUMENT',
      `--labels ${dir}: Pascal VOC labels name their classes; give the network's class list with --names FILE`,
    );
  const files = readdirSync(dir)
    .filter((f) => extname(f).toLowerCase() === '.xml')
    .sort();
  if (!files.length) bad(dir, 'no .xml label files in this folder');
  if (files.length > MAX_XML_FILES) bad(dir, `more than ${MAX_XML_FILES} label files`);
  const parser = new XMLParser({ processEntities: false, parseTagValue: true });
  const images = new Map<string, GroundTruth[]>();
  for (const f of files) {
    const path = join(dir, f);
    let doc: unknown;
    try {
      doc = parser.parse(new TextDecoder().decode(readUserFile(path, FILE_CAPS.text)), true);
    } catch (e) {
      if (e instanceof UsageError) throw e;
      bad(path, `not well-formed XML (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
    }
    const ann = isObj(doc) ? doc.annotation : undefined;
    if (!isObj(ann) || ann.filename === undefined) bad(path, 'a VOC label file needs <annotation><filename>');
    const truths: GroundTruth[] = [];
    arr(ann.object).forEach((o, i) => {
      if (!isObj(o) || o.name === undefined) bad(path, `object ${i}: no <name>`);
      const label = names.indexOf(String(o.name));
      if (label < 0) bad(path, `object ${i}: class "${String(o.name)}" is not in --names`);
      let box: Box = [0, 0, 1, 1];
      if (needBoxes || o.bndbox !== undefined) {
        const b = o.bndbox;
        if (!isObj(b)) bad(path, `object ${i}: no <bndbox>`);
        box = checkBox(path, `object ${i} bndbox`, [b.xmin, b.ymin, b.xmax, b.ymax].map(Number));
      }
      truths.push({ box, label });
    });
    images.set(basename(String(ann.filename)), truths);
  }
  return { format: 'voc', source: dir, classes: names, images };
}

/** Reads `--labels` (a COCO .json file or a folder of VOC .xml files). */
export function readLabels(path: string, names: readonly string[] | undefined, needBoxes: boolean): LabelSet {
  let st;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError('NOT_FOUND', `--labels ${path}: no such file or folder`);
  }
  if (st.isDirectory()) return readVoc(path, names, needBoxes);
  if (extname(path).toLowerCase() === '.json') return readCoco(path, names, needBoxes);
  throw new UsageError('BAD_ARGUMENT', `--labels ${path}: give a COCO .json file or a folder of Pascal VOC .xml files`);
}

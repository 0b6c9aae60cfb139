/**
 * Plain-text tables for terminals: each column padded to its widest cell, numeric columns
 * right-aligned, a dashed rule under the header.
 */
export interface Column {
  readonly header: string;
  /** Right-align (numbers). Default: left. */
  readonly right?: boolean;
}

export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, j) => Math.max(c.header.length, ...rows.map((r) => (r[j] ?? '').length)));
  const line = (cells: readonly string[]) =>
    columns
      .map((c, j) => (c.right ? (cells[j] ?? '').padStart(widths[j]) : (cells[j] ?? '').padEnd(widths[j])))
      .join('  ')
      .trimEnd();
  return (
    [line(columns.map((c) => c.header)), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') +
    '\n'
  );
}

/** Milliseconds with three decimals, as the SDK's KPU_DEBUG prints them. */
export const fmtMs = (ms: number): string => ms.toFixed(3);

/** Integers with thousands separators. */
export const fmtInt = (n: number): string => groupedInteger(Math.round(n));

export function fmtBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

/** Large counts in engineering style: 1.23M, 45.6k. */
export function fmtCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(Math.round(n));
}

/** A table whose numeric columns (every cell a number) are right-aligned and formatted. */
export function renderTable(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const numeric = header.map((_, j) => rows.length > 0 && rows.every((r) => typeof r[j] === 'number' || r[j] === ''));
  return formatTable(
    header.map((h, j) => ({ header: h, right: numeric[j] })),
    rows.map((r) => r.map((c) => (typeof c === 'number' ? formatNumber(c) : c))),
  );
}

/**
 * An integer as `toLocaleString('en-US')` writes it (1,234,567; -0 keeps its sign), without Intl:
 * the first Intl number formatter of a process loads ICU's number data, which cost `kpusim info`
 * more than reading and printing the model. Not an integer (NaN, ±Infinity): `toLocaleString`.
 */
export function groupedInteger(n: number): string {
  if (!Number.isInteger(n)) return n.toLocaleString('en-US');
  // The shortest digits that round-trip, zeros after them, as ICU writes large integers
  // (String writes 1e21 and above with an exponent).
  let digits = String(Math.abs(n));
  const e = digits.indexOf('e+');
  if (e >= 0) {
    const mantissa = digits.slice(0, e).replace('.', '');
    digits = mantissa + '0'.repeat(Number(digits.slice(e + 2)) - (mantissa.length - 1));
  }
  let out = digits.slice(0, ((digits.length - 1) % 3) + 1);
  for (let i = out.length; i < digits.length; i += 3) out += ',' + digits.slice(i, i + 3);
  return n < 0 || Object.is(n, -0) ? '-' + out : out;
}

export function formatNumber(n: number): string {
  if (Number.isInteger(n)) return groupedInteger(n);
  return Math.abs(n) >= 100 ? n.toFixed(1) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3);
}

/** A shape as people write it: 1×3×240×320. */
export function shapeText(s: readonly number[]): string {
  return s.join('×');
}

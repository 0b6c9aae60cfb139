/**
 * Base64 text to bytes, for binaries the build embeds in generated modules (the KPU kernel module,
 * the MaixPy modules' .mpy files). Node's own decoder where there is one (a cold JavaScript loop takes
 * about 8 ms for the 64 KB of .mpy files the boot installs, Node's well under 1 ms); in a browser
 * `base64Js`.
 */
export function fromBase64(text: string): Uint8Array {
  const B = (globalThis as { Buffer?: { from(s: string, enc: 'base64'): Uint8Array } }).Buffer;
  return B ? B.from(text, 'base64') : base64Js(text);
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The decoder in plain JavaScript (text as the build writes it: padded, no line breaks). */
export function base64Js(text: string): Uint8Array {
  const digit = new Uint8Array(128);
  for (let i = 0; i < 64; i++) digit[B64.charCodeAt(i)] = i;
  const n = text.length;
  const pad = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((n / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < n; i += 4) {
    const v =
      (digit[text.charCodeAt(i)] << 18) |
      (digit[text.charCodeAt(i + 1)] << 12) |
      (digit[text.charCodeAt(i + 2)] << 6) |
      digit[text.charCodeAt(i + 3)];
    out[o++] = v >> 16;
    if (o < out.length) out[o++] = (v >> 8) & 255;
    if (o < out.length) out[o++] = v & 255;
  }
  return out;
}

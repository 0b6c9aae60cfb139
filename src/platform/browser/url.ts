/** `node:url` in the browser build: the two conversions the library uses, for the page's paths. */
export function fileURLToPath(u: string | URL): string {
  return decodeURIComponent(new URL(String(u)).pathname);
}

export function pathToFileURL(p: string): URL {
  return new URL('file://' + encodeURI(p));
}

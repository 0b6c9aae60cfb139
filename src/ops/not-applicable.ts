/**
 * A part of an op definition that does not apply to that op, with the reason. The op tables are typed so
 * that every part is either given or marked this way: forgetting one fails the type check (docs/adding-an-op.md).
 */
export interface NotApplicable {
  readonly notApplicable: string;
}

export function notApplicable(reason: string): NotApplicable {
  return { notApplicable: reason };
}

export function isNotApplicable(x: unknown): x is NotApplicable {
  return typeof x === 'object' && x !== null && 'notApplicable' in x;
}

/**
 * Inputs for the schema fast-path tests (input-fast-path, output-fast-path): a valid value with every
 * field (and each of `extraFields`) set to each odd value, removed, an extra field added before and
 * after, plus non-objects and the keys in reverse order.
 */
export function mutations(
  base: Record<string, unknown>,
  odd: readonly unknown[],
  extraFields: readonly string[] = [],
): unknown[] {
  const out: unknown[] = [base, null, [], 'text', 42, [base], {}];
  for (const field of [...Object.keys(base), ...extraFields]) {
    const { [field]: _drop, ...without } = base;
    out.push(without, { ...base, extra: 1 }, { extra: 1, ...base });
    for (const v of odd) out.push({ ...base, [field]: v });
  }
  // Keys in another order than the schema's.
  out.push(Object.fromEntries(Object.entries(base).reverse()));
  return out;
}

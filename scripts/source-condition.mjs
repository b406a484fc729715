// Module resolution hook: add the `source` export condition, so workspace
// packages resolve to src/*.ts (what `node --conditions=source` does).
export async function resolve(specifier, context, nextResolve) {
  const conditions = context.conditions.includes('source')
    ? context.conditions
    : [...context.conditions, 'source'];
  return nextResolve(specifier, { ...context, conditions });
}

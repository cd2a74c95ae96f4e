/**
 * Where a worker thread's code is, given the URL of its module next to the caller. Built, that
 * is the .js file in dist/. When the sources run as TypeScript (tests, benchmarks) the worker
 * first registers the tsx loader, which Node 20 does not carry into workers by itself.
 */
export function workerEntry(moduleUrl: URL): { entry: URL | string; eval: boolean } {
  if (!moduleUrl.pathname.endsWith('.ts')) return { entry: moduleUrl, eval: false };
  // resolved from the working directory: the checkout, where tsx is a dev dependency
  return { entry: `import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(moduleUrl.href)}); })`, eval: true };
}

/** The sibling module `name` (without extension) in the same language as the caller (.ts under tsx, .js built). */
export function siblingModule(callerUrl: string, name: string): URL {
  return new URL(`./${name}${callerUrl.endsWith('.ts') ? '.ts' : '.js'}`, callerUrl);
}


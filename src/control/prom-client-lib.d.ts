// prom-client's own files, imported one by one (prom-client-parts.ts says why); their types are
// the package's, applied there.
declare module 'prom-client/lib/*.js' {
  const value: unknown;
  export default value;
}

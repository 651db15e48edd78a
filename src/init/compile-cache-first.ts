// Imported by cli.ts right after the SIGUSR1 guard, for its side effect alone: the compile cache
// is on before the rest of steward's modules load (see compile-cache.ts).
import { useCompileCache } from './compile-cache.ts';
import { installRoot } from '../core/install-root.ts';

useCompileCache(process.env, installRoot());

import { enableCompileCache } from "node:module"

// V8 keeps the compiled code of the modules `mesh` loads (in the OS temp folder): about 15% off
// every start (`mesh --help`, 2-core machine: 0.78 → 0.64 s of CPU idle, 1.10 → 0.97 s loaded).
// The cache must be on before those modules load, hence the import after it.
enableCompileCache()
const { runMesh } = await import("./run.ts")
runMesh()

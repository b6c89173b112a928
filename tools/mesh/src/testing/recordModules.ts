// Loaded by `node --import` in the help test: records the URL of every module the process loads
// and writes them, one a line, to the file MESH_TEST_LOADED_MODULES names when the process exits.
import { writeFileSync } from "node:fs"
import { registerHooks } from "node:module"

const loaded: Array<string> = []
registerHooks({
  load: (url, context, nextLoad) => {
    loaded.push(url)
    return nextLoad(url, context)
  },
})
process.on("exit", () => {
  const out = process.env.MESH_TEST_LOADED_MODULES
  if (out !== undefined) writeFileSync(out, loaded.join("\n"))
})

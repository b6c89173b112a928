import { agentHostLayerFromConfig } from "@mesh/kernel"
import { Registers } from "@mesh/registers"
import { Layer } from "effect"

/**
 * The resolver's whole wiring: the host's connections and settings, and the registers at its site
 * (`MESH_SITE`, with `MESH_PEER_SITES`), all from the environment.
 */
export const conflictResolverLayer = Registers.layerFromConfig("conflict-resolver").pipe(
  Layer.provideMerge(agentHostLayerFromConfig("conflict-resolver")),
)

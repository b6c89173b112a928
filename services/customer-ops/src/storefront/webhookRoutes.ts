import { type AgentContext, type AgentRoutes, decoderOf, problem, readBody } from "@mesh/kernel"
import { Effect, Layer } from "effect"
import { HttpRouter, type HttpServerRequest, HttpServerResponse } from "effect/http"
import { CustomerOpsSettings, type StorefrontWebhookSecret } from "../config.ts"
import type { CustomerOpsDefs } from "../handlers/catalog.ts"
import { ingestStorefrontEvent } from "./ingestion.ts"
import { tenantOfSignature } from "./signature.ts"
import { MAX_WEBHOOK_BYTES, StorefrontEvent } from "./storefrontOrder.ts"

const decodeEvent = decoderOf(StorefrontEvent)

/**
 * The storefront's order webhooks (`POST /storefront/webhooks`): the signature over the raw body
 * says which tenant's storefront sent it (401 without a valid one), the event is decoded at the edge
 * (400 naming the field, 413 over 256 KiB), recorded as a request under its event id, and its
 * snapshot synced into the order. A redelivery, a duplicate or an older snapshot answers 200 too and
 * records nothing new; a snapshot the order refuses (another tenant's, other lines) answers 422; only
 * our own infrastructure failing answers 5xx, so that the storefront retries.
 */
export const storefrontWebhookRoutes: AgentRoutes<CustomerOpsDefs, CustomerOpsSettings> = (context) =>
  Layer.unwrap(
    Effect.map(CustomerOpsSettings, (settings) => webhookRoute(context, settings.storefront.webhookSecrets)),
  )

const webhookRoute = (
  context: AgentContext<CustomerOpsDefs>,
  secrets: ReadonlyArray<StorefrontWebhookSecret>,
) =>
  HttpRouter.add("POST", "/storefront/webhooks", (request: HttpServerRequest.HttpServerRequest) =>
    Effect.gen(function* () {
      const body = yield* readBody(request, MAX_WEBHOOK_BYTES)
      if (body.tooLarge) return problem(413, `the webhook body is larger than ${MAX_WEBHOOK_BYTES} bytes`)
      // The tenant is the secret's that signed the body, never the body's.
      const tenant = tenantOfSignature(secrets, body.bytes, request.headers["x-storefront-signature"])
      if (tenant === undefined)
        return problem(
          401,
          secrets.length === 0
            ? "no storefront webhook secret is configured (MESH_STOREFRONT_WEBHOOK_SECRETS)"
            : "x-storefront-signature must be sha256=<hex HMAC-SHA256 of the raw body> under the tenant's secret",
          "x-storefront-signature",
        )
      const decoded = decodeEvent(body.text)
      if (!decoded.ok) return decoded.response
      const event = decoded.value
      const named = request.headers["x-storefront-event-id"]
      if (named !== undefined && named !== event.id)
        return problem(
          400,
          `x-storefront-event-id ${JSON.stringify(named.slice(0, 256))} is not the body's id ${JSON.stringify(event.id)}`,
          "x-storefront-event-id",
        )
      return yield* ingestStorefrontEvent(context, tenant, event, "http").pipe(
        Effect.map((ingested) => HttpServerResponse.jsonUnsafe({ eventId: event.id, ...ingested })),
        Effect.catchTag("CommandError", (error) =>
          Effect.succeed(
            error.reason._tag === "InvalidCommand"
              ? problem(422, error.reason.message, "order")
              : problem(503, `event ${event.id} could not be taken now: ${error.message}`),
          ),
        ),
        Effect.catchTag("RequestLogError", (error) =>
          Effect.succeed(
            error.reason._tag === "RequestIdReused"
              ? problem(409, `event ${event.id} was delivered before with another body`, "id")
              : problem(503, `event ${event.id} could not be taken now: ${error.message}`),
          ),
        ),
      )
    }).pipe(
      Effect.catch((error) =>
        Effect.succeed(problem(503, `the event could not be taken now: ${String(error)}`)),
      ),
    ),
  )

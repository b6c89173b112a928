import { createHmac, timingSafeEqual } from "node:crypto"
import { Redacted } from "effect"
import type { StorefrontWebhookSecret } from "../config.ts"

const signaturePattern = /^sha256=([0-9a-f]{64})$/i

/** The `x-storefront-signature` of a body: `sha256=` and the hex HMAC-SHA256 of the raw body under the secret. */
export const signatureOf = (secret: string, body: Uint8Array): string =>
  `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`

/**
 * The tenant whose secret signed the raw body, or undefined for a missing, malformed or wrong
 * signature. Every secret is tried and compared in constant time, so how long it takes tells nothing
 * of a signature's bytes.
 */
export const tenantOfSignature = (
  secrets: ReadonlyArray<StorefrontWebhookSecret>,
  body: Uint8Array,
  header: string | undefined,
): string | undefined => {
  const hex = signaturePattern.exec(header?.trim() ?? "")?.[1]
  if (hex === undefined) return undefined
  const given = Buffer.from(hex, "hex")
  let tenant: string | undefined
  for (const { tenantId, secret } of secrets) {
    const expected = createHmac("sha256", Redacted.value(secret)).update(body).digest()
    if (timingSafeEqual(expected, given) && tenant === undefined) tenant = tenantId
  }
  return tenant
}

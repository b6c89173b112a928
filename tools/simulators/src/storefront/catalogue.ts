import { failWith, invalid, type Json, type JsonObject, type Route, type RouteResult } from "../simulator.ts"

/** One name-value attribute of a product, e.g. `{ name: "colour", value: "oak" }`. */
export type Attribute = { readonly name: string; readonly value: string }

/** A product of the storefront's catalogue, as posted and as served. */
export type Product = {
  readonly sku: string
  readonly name: string
  readonly brand?: string
  readonly category: string
  readonly attributes: ReadonlyArray<Attribute>
  readonly highlights: ReadonlyArray<string>
  readonly priceMinor: number
  readonly currency: string
}

const currencyPattern = /^[A-Z]{3}$/

const isObject = (value: Json | undefined): value is JsonObject =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const nonEmpty = (value: Json | undefined): value is string => typeof value === "string" && value !== ""

/** Reads one product, or says which of its fields is wrong (as `products[i].field`). */
const parseProduct = (value: Json | undefined, at: string): Product | string => {
  if (!isObject(value)) return `${at} must be an object`
  const { sku, name, brand, category, attributes, highlights, priceMinor, currency } = value
  if (!nonEmpty(sku)) return `${at}.sku must be a non-empty string`
  if (!nonEmpty(name)) return `${at}.name must be a non-empty string`
  if (brand !== undefined && !nonEmpty(brand)) return `${at}.brand must be a non-empty string when given`
  if (!nonEmpty(category)) return `${at}.category must be a non-empty string`
  if (!Array.isArray(attributes)) return `${at}.attributes must be an array of { name, value }`
  const parsedAttributes: Array<Attribute> = []
  for (const [i, attribute] of attributes.entries()) {
    if (!isObject(attribute) || !nonEmpty(attribute.name) || typeof attribute.value !== "string") {
      return `${at}.attributes[${i}] must be { name: non-empty string, value: string }`
    }
    parsedAttributes.push({ name: attribute.name, value: attribute.value })
  }
  if (!Array.isArray(highlights)) return `${at}.highlights must be an array of strings`
  const parsedHighlights: Array<string> = []
  for (const [i, highlight] of highlights.entries()) {
    if (typeof highlight !== "string") return `${at}.highlights[${i}] must be a string`
    parsedHighlights.push(highlight)
  }
  if (typeof priceMinor !== "number" || !Number.isInteger(priceMinor) || priceMinor < 0) {
    return `${at}.priceMinor must be a non-negative integer`
  }
  if (!nonEmpty(currency) || !currencyPattern.test(currency)) {
    return `${at}.currency must be an ISO-4217 code such as EUR`
  }
  return {
    sku,
    name,
    // Left out when not given, so that a product reads back exactly as it was posted.
    ...(brand === undefined ? {} : { brand }),
    category,
    attributes: parsedAttributes,
    highlights: parsedHighlights,
    priceMinor,
    currency,
  }
}

/** The storefront's products by SKU, with the routes that seed and read them. */
export const catalogue = () => {
  const products = new Map<string, Product>()
  const routes: ReadonlyArray<Route> = [
    {
      method: "GET",
      path: "/v1/products",
      mutating: false,
      handle: () => ({ status: 200, body: { products: [...products.values()] } }),
    },
    {
      method: "GET",
      path: "/v1/products/:sku",
      mutating: false,
      handle: ({ params }): RouteResult => {
        const sku = decodeURIComponent(params.sku ?? "")
        const product = products.get(sku)
        return product === undefined
          ? failWith(404, "not_found", `no product ${sku}`)
          : { status: 200, body: product }
      },
    },
  ]
  const adminRoutes: ReadonlyArray<Route> = [
    {
      // Upserts whole products without a ledger entry: the catalogue is the world the agents find.
      method: "POST",
      path: "/_admin/catalogue",
      mutating: false,
      handle: ({ body }): RouteResult => {
        if (!Array.isArray(body.products)) return invalid("products must be an array of products")
        const parsed: Array<Product> = []
        // Every product is checked before any is stored, so that a bad request changes nothing.
        for (const [i, value] of body.products.entries()) {
          const product = parseProduct(value, `products[${i}]`)
          if (typeof product === "string") return invalid(product)
          parsed.push(product)
        }
        for (const product of parsed) products.set(product.sku, product)
        return { status: 200, body: { products: parsed } }
      },
    },
  ]
  return {
    routes,
    adminRoutes,
    /** The product of a SKU, if the catalogue has it. */
    product: (sku: string): Product | undefined => products.get(sku),
    reset: (): void => products.clear(),
  }
}

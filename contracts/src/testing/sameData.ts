import { isDeepStrictEqual } from "node:util"
import { expect } from "vitest"

/**
 * Asserts that a decoded value is the same data as the one encoded: same prototypes, keys and values.
 *
 * vitest's `toStrictEqual` also compares the values' `constructor` properties, so a JSON body that carries
 * its own `"constructor": {}` key fails it after a faithful round trip (two distinct `{}`s). Node's deep
 * strict equality compares prototypes instead; `toStrictEqual` runs only to print the diff of a real
 * difference.
 */
export const expectSameData = (actual: unknown, expected: unknown): void => {
  if (!isDeepStrictEqual(actual, expected)) expect(actual).toStrictEqual(expected)
}

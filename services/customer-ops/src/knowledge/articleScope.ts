import { type CatalogueProduct, productsNamedIn } from "../memory/products.ts"

/**
 * The products a message is about: those its subject and text name, else those its thread's
 * earlier customer turns named, latest first ("is it dishwasher safe?" after asking about the
 * teapot is about the teapot).
 */
export const productsAskedAbout = (
  message: string,
  earlierCustomerTurns: ReadonlyArray<string>,
  catalogue: ReadonlyArray<CatalogueProduct>,
): ReadonlyArray<CatalogueProduct> => {
  for (const text of [message, ...[...earlierCustomerTurns].reverse()]) {
    const named = productsNamedIn(text, catalogue)
    if (named.length > 0) return named
  }
  return []
}

/**
 * Whether an approved article may be cited for a message about `asked`. An article that names
 * products of the catalogue answers questions about those products only: the sentence encoder
 * scores "Is the charcoal earthenware teapot dishwasher safe?" close to "Is the charcoal wool
 * cushion cover machine washable?", the same kind of question about another product, and a reply
 * citing that article tells the customer about the wrong product with every sign of confidence. A
 * message that names no product gets no product's article, since which one it means is a guess.
 * An article that names no product (returns, delivery times) may answer any message.
 */
export const articleFitsProducts = (
  article: { readonly title: string; readonly body: string },
  asked: ReadonlyArray<CatalogueProduct>,
  catalogue: ReadonlyArray<CatalogueProduct>,
): boolean => {
  const about = productsNamedIn(`${article.title}\n${article.body}`, catalogue)
  if (about.length === 0) return true
  const askedSkus = new Set(asked.map((p) => p.sku))
  return about.some((p) => askedSkus.has(p.sku))
}

/** The recalled articles that may be cited for a message (`articleFitsProducts`), in the recall's order. */
export const articlesFittingMessage = <A extends { readonly title: string; readonly body: string }>(
  recalled: ReadonlyArray<A>,
  message: { readonly text: string; readonly earlierCustomerTurns: ReadonlyArray<string> },
  catalogue: ReadonlyArray<CatalogueProduct>,
): ReadonlyArray<A> => {
  const asked = productsAskedAbout(message.text, message.earlierCustomerTurns, catalogue)
  return recalled.filter((article) => articleFitsProducts(article, asked, catalogue))
}

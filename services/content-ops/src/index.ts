// The content-ops agent: listings, stock status and knowledge-base drafts.
export {}

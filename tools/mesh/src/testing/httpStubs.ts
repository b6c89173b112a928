import { createServer as createHttpServer } from "node:http"
import { createServer } from "node:net"

/** A base URL nothing listens on: a port the OS just gave out and took back. */
export const closedUrl = () =>
  new Promise<string>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(`http://127.0.0.1:${port}`))
    })
  })

/** A canned answer: its status and body. */
export interface CannedAnswer {
  readonly status: number
  readonly body: string
}

/**
 * An HTTP server that is not the agent a command expects: it answers each path (with its query)
 * as `answers` says, anything else 404 with no body. Runs `use` with its base URL, then closes.
 */
export const withCannedServer = async <A>(
  answers: Readonly<Record<string, CannedAnswer>>,
  use: (url: string) => Promise<A>,
): Promise<A> => {
  const server = createHttpServer((request, response) => {
    const answer = answers[request.url ?? ""] ?? { status: 404, body: "" }
    response.writeHead(answer.status, { "content-type": "application/json" }).end(answer.body)
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  try {
    return await use(`http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`)
  } finally {
    await new Promise((resolve) => server.close(resolve))
  }
}

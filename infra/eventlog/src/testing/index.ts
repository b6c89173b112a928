// What tests of the log's users count with: every JetStream call made through a connection.
export { type CountedNats, countingNats, type JetStreamCall } from "./countingNats.ts"

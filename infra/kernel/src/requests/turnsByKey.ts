import { Deferred, Effect } from "effect"

/**
 * Runs the effects given under one key one after another, each once the one before it ended (with
 * whatever outcome, or interrupted); effects under other keys run as they come. A turn interrupted
 * while it waits passes the turn on only once the one before it ends, so that the next one does not
 * start beside it.
 */
export const makeTurnsByKey = () => {
  const latest = new Map<string, Deferred.Deferred<void>>()
  return <A, E, R>(key: string, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.uninterruptibleMask((restore) =>
      Effect.gen(function* () {
        const before = latest.get(key)
        const mine = yield* Deferred.make<void>()
        latest.set(key, mine)
        const passOn = Deferred.succeed(mine, undefined)
        const ended = Effect.andThen(
          Effect.sync(() => {
            if (latest.get(key) === mine) latest.delete(key)
          }),
          before === undefined || Deferred.isDoneUnsafe(before)
            ? passOn
            : Effect.asVoid(Effect.forkDetach(Effect.andThen(Deferred.await(before), passOn))),
        )
        return yield* restore(
          before === undefined ? effect : Effect.andThen(Deferred.await(before), effect),
        ).pipe(Effect.ensuring(ended))
      }),
    )
}

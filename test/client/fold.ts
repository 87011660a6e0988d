import { initialModel, update, type Cmd, type Model, type Msg } from '../../src/client/model.js'
import type { Frame } from '../../src/client/frames.js'

// The client's model tests drive `update` the way the page does: messages in, commands out.

/** Feeds the messages through `update` from `from`; the model after the last, and every command on the way. */
export const fold = (msgs: ReadonlyArray<Msg>, from: Model = initialModel): { model: Model; commands: Cmd[] } => {
  let model = from
  const commands: Cmd[] = []
  for (const msg of msgs) {
    const [next, cmds] = update(model, msg)
    model = next
    commands.push(...cmds)
  }
  return { model, commands }
}

/** A frame arriving at `at`. */
export const frame = (f: Frame, at = 0): Msg => ({ type: 'frame', frame: f, at })

/** The commands the page would send over the socket. */
export const sent = (commands: ReadonlyArray<Cmd>) => commands.flatMap((c) => (c.type === 'send' ? [c.command] : []))

import { expect } from 'vitest'
import { ChatClient, register, type TestServer } from '../integration/helpers.js'

/** After an attack: a new, well-behaved user can still sign up, connect, join and get a message stored. */
export const expectStillServes = async (server: TestServer): Promise<void> => {
  const user = await register(server)
  const client = await ChatClient.connect(server, { token: user.token })
  await client.next('welcome')
  client.send({ type: 'join', room: 'sala-3', ref: 'j' })
  await client.next('joined')
  client.send({ type: 'message', text: 'still here?', ref: 'ok' })
  expect(await client.next('ack', (f) => f.ref === 'ok')).toMatchObject({ ref: 'ok' })
  client.close()
}

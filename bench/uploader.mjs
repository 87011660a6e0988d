// Upload load: `concurrency` simultaneous multipart uploads of `bytes` each, generated on the fly (one
// reused chunk), so the uploader itself holds almost nothing. Prints one JSON line.
import { request } from 'node:http'

const { url, token, bytes, concurrency } = JSON.parse(process.argv[2])
const chunk = Buffer.alloc(1024 * 1024, 0x61)
const boundary = 'bench-boundary'
const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="files"; filename="big.bin"\r\nContent-Type: application/octet-stream\r\n\r\n`)
const tail = Buffer.from(`\r\n--${boundary}--\r\n`)

const upload = () =>
  new Promise((resolve, reject) => {
    const req = request(`${url}/uploads`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': `multipart/form-data; boundary=${boundary}`, 'Content-Length': String(head.length + bytes + tail.length) },
    })
    req.on('response', (res) => {
      res.resume()
      res.on('end', () => (res.statusCode === 201 ? resolve() : reject(new Error(`status ${res.statusCode}`))))
    })
    req.on('error', reject)
    req.write(head)
    let sent = 0
    const more = () => {
      while (sent < bytes) {
        const part = sent + chunk.length <= bytes ? chunk : chunk.subarray(0, bytes - sent)
        sent += part.length
        if (!req.write(part)) return void req.once('drain', more)
      }
      req.end(tail)
    }
    more()
  })

const started = performance.now()
await Promise.all(Array.from({ length: concurrency }, upload))
const seconds = (performance.now() - started) / 1000
console.log(JSON.stringify({ concurrency, megabytesPerSecond: Number(((bytes * concurrency) / 1e6 / seconds).toFixed(1)), seconds: Number(seconds.toFixed(2)) }))

// Upload load: `concurrency` simultaneous multipart uploads of `bytes` each, generated on the fly (one
// reused chunk), so the uploader itself holds almost nothing. Prints one JSON line.
//
// `content` is what the file holds, because busboy's boundary search (Boyer-Moore-Horspool) runs at a
// speed set by the bytes it scans: "binary" is random bytes, as in the photos, videos and archives people
// mostly attach (compressed, so high entropy); "text" is English prose (this project's README, repeated),
// whose letters recur in the boundary and so shorten the search's steps.
import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { request } from 'node:http'

const { url, token, bytes, concurrency, content } = JSON.parse(process.argv[2])
const chunk = content === 'text' ? Buffer.alloc(1024 * 1024, readFileSync(new URL('../README.md', import.meta.url))) : randomBytes(1024 * 1024)
// Shaped like a browser's (WebKit: "----WebKitFormBoundary" and 16 random letters and digits).
const boundary = '----SalaBenchBoundary7MA4YWxkTrZu0gW'
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
console.log(JSON.stringify({ content, concurrency, megabytesPerSecond: Number(((bytes * concurrency) / 1e6 / seconds).toFixed(1)), seconds: Number(seconds.toFixed(2)) }))

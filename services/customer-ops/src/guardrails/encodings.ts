// Readable text hidden in an encoding: base64, hex, URL-encoding, binary, escape sequences, and
// letter shifts (rot13 and other Caesar shifts) or reversal of the whole text.

/** A piece of the text decoded, with the encoding that hid it. */
export interface DecodedChunk {
  readonly encoding:
    | "base64"
    | "hex"
    | "url-encoding"
    | "binary"
    | "escapes"
    | "rot13"
    | "caesar"
    | "reversed"
  readonly text: string
}

const utf8 = new TextDecoder("utf-8", { fatal: false })

// Decoded bytes count as text when they are valid UTF-8 made mostly of letters, digits, spaces and
// ordinary punctuation, with words in them: random bytes (an IBAN or tracking number read as base64)
// fail on the first test, a run of letters without a space on the second.
const readable = (text: string): boolean => {
  if (text.length < 6 || text.includes("\ufffd")) return false
  const ordinary = text.match(/[\p{L}\p{N}\s.,:;!?'"()\-/@%&+€$£]/gu)?.length ?? 0
  const letters = text.match(/\p{L}/gu)?.length ?? 0
  return (
    ordinary / [...text].length >= 0.9 && letters >= 5 && /\p{L}{2,}[\s.,:;!?'"\-_/]+\p{L}{2,}/u.test(text)
  )
}

const bytesToText = (bytes: ReadonlyArray<number>): string => utf8.decode(Uint8Array.from(bytes))

const base64Token = /(?<![A-Za-z0-9+/_-])[A-Za-z0-9+/_-]{16,}={0,2}(?![A-Za-z0-9+/_=-])/g
const hexRun = /(?:(?:0x|\\x)?[0-9a-fA-F]{2}[\s,:-]?){6,}/g
const binaryRun = /(?:[01]{8}[\s,]?){4,}/g
const percentToken = /\S*(?:%[0-9a-fA-F]{2}\S*){3,}/g
const escapeSequence =
  /\\u\{([0-9a-fA-F]{1,6})\}|\\u([0-9a-fA-F]{4})|\\x([0-9a-fA-F]{2})|&#x([0-9a-fA-F]{1,6});?/g

const fromBase64 = (token: string): string | undefined => {
  // A word of letters only that happens to be 16+ long (a compound noun) is not worth decoding.
  if (!/[0-9+/=_-]/.test(token) && !/[A-Z].*[a-z].*[A-Z]|[a-z].*[A-Z].*[a-z]/.test(token)) return undefined
  const text = Buffer.from(token.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8")
  return readable(text) ? text : undefined
}

const fromHex = (run: string): string | undefined => {
  const pairs = run.replace(/0x|\\x/g, "").replace(/[\s,:-]/g, "")
  if (pairs.length % 2 !== 0) return undefined
  const bytes: Array<number> = []
  for (let at = 0; at < pairs.length; at += 2) bytes.push(Number.parseInt(pairs.slice(at, at + 2), 16))
  const text = bytesToText(bytes)
  return readable(text) ? text : undefined
}

const fromBinary = (run: string): string | undefined => {
  const bytes = (run.match(/[01]{8}/g) ?? []).map((byte) => Number.parseInt(byte, 2))
  const text = bytesToText(bytes)
  return readable(text) ? text : undefined
}

const fromPercent = (token: string): string | undefined => {
  const bytes: Array<number> = []
  for (let at = 0; at < token.length; at++) {
    const char = token[at]!
    if (char === "%" && /^[0-9a-fA-F]{2}$/.test(token.slice(at + 1, at + 3))) {
      bytes.push(Number.parseInt(token.slice(at + 1, at + 3), 16))
      at += 2
    } else if (char === "+") bytes.push(0x20)
    else bytes.push(...new TextEncoder().encode(char))
  }
  const text = bytesToText(bytes)
  return readable(text) ? text : undefined
}

const fromEscapes = (text: string): string | undefined => {
  if ((text.match(escapeSequence)?.length ?? 0) < 3) return undefined
  const decoded = text.replace(
    escapeSequence,
    (_whole, braced?: string, four?: string, two?: string, entity?: string) => {
      const code = Number.parseInt(braced ?? four ?? two ?? entity ?? "", 16)
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ""
    },
  )
  return decoded
}

/** Shifts every Latin letter forward by `shift` places in the alphabet. */
export const shiftLetters = (text: string, shift: number): string =>
  text.replace(/[a-zA-Z]/g, (char) => {
    const base = char <= "Z" ? 65 : 97
    return String.fromCharCode(((char.charCodeAt(0) - base + shift) % 26) + base)
  })

// Stems that any steering text in the supported languages contains; a shifted or reversed reading of
// the text is only worth a full look when at least two of them appear in it.
const steeringStems =
  /ignor|instruc|prompt|system|regel|rule|anweis|forget|vergiss|oubli|olvid|dimentic|negeer|vergeet|refund|erstatt|rembours|reembols|rimbors|admin|owner|previous|vorherig|precedent|anterior|developer|approv|genehmig|consign|istruzion|instructi|reveal|talimat|zignoruj|instrukc/g

const steeringLike = (text: string): boolean =>
  new Set(text.toLowerCase().match(steeringStems) ?? []).size >= 2

/** Readable text found by decoding parts of `text`, or the whole of it read shifted or reversed. */
export const decodedChunks = (text: string): ReadonlyArray<DecodedChunk> => {
  const chunks: Array<DecodedChunk> = []
  const add = (encoding: DecodedChunk["encoding"], decoded: string | undefined): void => {
    if (decoded !== undefined && decoded.trim() !== "") chunks.push({ encoding, text: decoded })
  }
  for (const [token] of text.matchAll(base64Token)) add("base64", fromBase64(token))
  for (const [run] of text.matchAll(hexRun)) add("hex", fromHex(run))
  for (const [run] of text.matchAll(binaryRun)) add("binary", fromBinary(run))
  for (const [token] of text.matchAll(percentToken)) add("url-encoding", fromPercent(token))
  add("escapes", fromEscapes(text))
  for (let shift = 1; shift < 26; shift++) {
    const shifted = shiftLetters(text, shift)
    if (steeringLike(shifted)) add(shift === 13 ? "rot13" : "caesar", shifted)
  }
  const reversed = [...text].reverse().join("")
  if (steeringLike(reversed)) add("reversed", reversed)
  return chunks
}

import { foldPlain } from "./text.ts"
import { cleanUntrusted } from "./untrusted.ts"

// A reply may only promise what the shop's records or approved knowledge say. Each kind of promise
// is found by its shape (an amount, a code, a date, a link, a refund commitment) and is grounded
// when a fact carries the same value; anything else goes to a human before it is sent.

/** A record or approved article the reply may rely on. */
export interface GroundingFact {
  readonly id: string
  readonly text: string
}

/** The kinds of promise a reply can make. */
export type PromiseKind =
  | "refund"
  | "discount"
  | "code"
  | "price"
  | "policy"
  | "compensation"
  | "delivery-date"
  | "link"

/** A promise no fact supports. */
export interface UngroundedPromise {
  readonly kind: PromiseKind
  /** The words of the reply that make it. */
  readonly claim: string
  readonly reason: string
}

// Folded for matching words: apostrophes become spaces, so "we'll" reads "we ll" and "aujourd'hui" "aujourd hui".
const fold = (text: string): string => foldPlain(text).replace(/'/g, " ")

// ---- numbers and amounts ----

const numberSource = String.raw`\d{1,3}(?:[.,' ]\d{3})+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?`
const currencyBefore = String.raw`(?:€|\$|£|¥|\b(?:EUR|USD|GBP|CHF|Fr\.|SFr\.)(?![A-Za-z]))`
const currencyAfter = String.raw`(?:€|\$|£|\b(?:EUR|USD|GBP|CHF|[Ee]uros?|[Dd]ollars?|[Pp]ounds?|[Ff]rancs?|Franken)\b)`
const moneyPattern = new RegExp(
  `${currencyBefore}\\s?(${numberSource})(?:,-|\\.-)?|(${numberSource})\\s?(?:,-\\s?)?${currencyAfter}`,
  "g",
)
const anyNumber = new RegExp(numberSource, "g")

/** An amount as written ("12,50", "1.234,50", "1,234.50", "12.5") in one canonical form ("12.50"). */
export const canonicalAmount = (raw: string): string => {
  const compact = raw.replace(/['\s]/g, "")
  const last = Math.max(compact.lastIndexOf("."), compact.lastIndexOf(","))
  const decimals = last >= 0 && compact.length - last - 1 <= 2 ? compact.slice(last + 1) : ""
  const whole = (decimals === "" ? compact : compact.slice(0, last)).replace(/[.,]/g, "")
  return `${Number(whole)}.${decimals.padEnd(2, "0")}`
}

// ---- dates ----

const months: ReadonlyArray<ReadonlyArray<string>> = [
  ["january", "jan", "januar", "janvier", "enero", "gennaio", "januari", "janeiro", "jänner", "janner"],
  ["february", "feb", "februar", "fevrier", "febrero", "febbraio", "februari", "fevereiro"],
  ["march", "mar", "marz", "mars", "marzo", "maart", "marco"],
  ["april", "apr", "avril", "abril", "aprile"],
  ["may", "mai", "mayo", "maggio", "mei", "maio"],
  ["june", "jun", "juni", "juin", "junio", "giugno", "junho"],
  ["july", "jul", "juli", "juillet", "julio", "luglio", "julho"],
  ["august", "aug", "aout", "agosto", "augustus"],
  ["september", "sep", "sept", "septembre", "septiembre", "settembre", "setembro"],
  ["october", "oct", "oktober", "octobre", "octubre", "ottobre", "outubro", "okt"],
  ["november", "nov", "novembre", "noviembre", "novembro"],
  ["december", "dec", "dezember", "decembre", "diciembre", "dicembre", "dezembro", "dez"],
]
const monthOf = new Map(months.flatMap((names, index) => names.map((name) => [name, index + 1] as const)))
const monthNames = [...monthOf.keys()].sort((a, b) => b.length - a.length).join("|")

const weekdays: ReadonlyArray<ReadonlyArray<string>> = [
  ["sunday", "sonntag", "dimanche", "domingo", "domenica", "zondag"],
  ["monday", "montag", "lundi", "lunes", "lunedi", "maandag", "segunda feira"],
  ["tuesday", "dienstag", "mardi", "martes", "martedi", "dinsdag", "terca feira"],
  ["wednesday", "mittwoch", "mercredi", "miercoles", "mercoledi", "woensdag", "quarta feira"],
  ["thursday", "donnerstag", "jeudi", "jueves", "giovedi", "donderdag", "quinta feira"],
  ["friday", "freitag", "vendredi", "viernes", "venerdi", "vrijdag", "sexta feira"],
  ["saturday", "samstag", "sonnabend", "samedi", "sabado", "sabato", "zaterdag"],
]
const weekdayOf = new Map(weekdays.flatMap((names, index) => names.map((name) => [name, index] as const)))
const weekdayNames = [...weekdayOf.keys()]
  .sort((a, b) => b.length - a.length)
  .map((name) => name.replace(" ", "[- ]"))
  .join("|")

const relativeDays: ReadonlyArray<readonly [string, string]> = [
  [
    "today|tonight|this evening|heute|aujourd hui|ce soir|hoy|esta noche|oggi|stasera|vandaag|vanavond|hoje",
    "today",
  ],
  [
    "day after tomorrow|ubermorgen|apres demain|pasado manana|dopodomani|overmorgen|depois de amanha",
    "day-after-tomorrow",
  ],
  ["tomorrow|morgen|demain|manana|domani|amanha", "tomorrow"],
  [
    "next week|nachste woche|nachsten woche|la semaine prochaine|semaine prochaine|la proxima semana|la semana que viene|proxima semana|la prossima settimana|prossima settimana|volgende week|semana que vem",
    "next-week",
  ],
  [
    "this week|end of the week|diese woche|ende der woche|cette semaine|fin de semaine|esta semana|questa settimana|deze week",
    "this-week",
  ],
  ["this weekend|am wochenende|ce week end|este fin de semana|questo fine settimana|dit weekend", "weekend"],
]

const isoDate = /\b(\d{4})-(\d{1,2})-(\d{1,2})\b/g
const dottedDate = /\b(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?(?!\d)/g
const slashDate = /\b(\d{1,2})\/(\d{1,2})(?:\/(\d{4}|\d{2}))?\b/g
const dayMonth = new RegExp(
  String.raw`\b(\d{1,2})(?:st|nd|rd|th|er|e)?\.?\s+(?:de\s+|of\s+)?(${monthNames})\b`,
  "g",
)
const monthDay = new RegExp(String.raw`\b(${monthNames})\.?\s+(\d{1,2})(?:st|nd|rd|th)?\b`, "g")
const weekdayPattern = new RegExp(String.raw`\b(${weekdayNames})\b`, "g")
const dayCount =
  /\b(\d{1,3})(?:\s?(?:-|–|to|bis|a|à|al|tot)\s?(\d{1,3}))?\s?-?\s?(?:business |working |calendar |werk|arbeits|jours ouvres |dias habiles |dias uteis |giorni lavorativi )?(days?|tage[n]?|werktage[n]?|jours?|dias|giorni|dagen|werkdagen|dni|gun)\b/g
const periodCount =
  /\b(\d{1,2})\s?-?\s?(years?|jahre?n?|ans|annees|anos|anni|jaar|months?|monate?n?|mois|meses|mesi|maanden)\b/g

const pad = (value: number): string => String(value)
const monthDayKey = (month: number, day: number): string | undefined =>
  month >= 1 && month <= 12 && day >= 1 && day <= 31 ? `date:${pad(month)}-${pad(day)}` : undefined
const fullYear = (year: string | undefined): number | undefined =>
  year === undefined ? undefined : year.length === 2 ? 2000 + Number(year) : Number(year)
// A date with its year also names its weekday; Date.UTC is arithmetic, not a clock.
const weekdayKey = (year: number | undefined, month: number, day: number): string | undefined =>
  year === undefined ? undefined : `weekday:${new Date(Date.UTC(year, month - 1, day)).getUTCDay()}`

/** A date-like expression and the keys that would match it (several where the order of day and month is unclear). */
interface DateMention {
  readonly text: string
  readonly keys: ReadonlyArray<string>
}

const dateMentions = (folded: string): ReadonlyArray<DateMention> => {
  const found: Array<DateMention> = []
  const add = (text: string, keys: ReadonlyArray<string | undefined>): void => {
    const defined = keys.filter((key): key is string => key !== undefined)
    if (defined.length > 0) found.push({ text, keys: defined })
  }
  for (const match of folded.matchAll(isoDate)) {
    const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])]
    add(match[0], [monthDayKey(month, day), weekdayKey(year, month, day)])
  }
  const withoutIso = folded.replace(isoDate, " ")
  for (const match of withoutIso.matchAll(dottedDate)) {
    const [day, month, year] = [Number(match[1]), Number(match[2]), fullYear(match[3])]
    add(match[0], [monthDayKey(month, day), weekdayKey(year, month, day)])
  }
  for (const match of withoutIso.matchAll(slashDate)) {
    const [first, second, year] = [Number(match[1]), Number(match[2]), fullYear(match[3])]
    add(match[0], [monthDayKey(second, first), monthDayKey(first, second), weekdayKey(year, second, first)])
  }
  for (const match of withoutIso.matchAll(dayMonth)) {
    add(match[0], [monthDayKey(monthOf.get(match[2]!) ?? 0, Number(match[1]))])
  }
  for (const match of withoutIso.matchAll(monthDay)) {
    add(match[0], [monthDayKey(monthOf.get(match[1]!) ?? 0, Number(match[2]))])
  }
  for (const match of folded.matchAll(weekdayPattern))
    add(match[0], [`weekday:${weekdayOf.get(match[1]!.replace("-", " "))}`])
  const withoutGreetings = folded.replace(/\b(guten morgen|goedemorgen|good morning)\b/g, " ")
  for (const [words, key] of relativeDays) {
    for (const match of withoutGreetings.matchAll(new RegExp(`\\b(${words})\\b`, "g")))
      add(match[0], [`relative:${key}`])
  }
  return found
}

const dayCountKeys = (
  folded: string,
): ReadonlyArray<{ readonly text: string; readonly keys: ReadonlyArray<string> }> =>
  [...folded.matchAll(dayCount)].map((match) => ({
    text: match[0],
    keys: [match[1], match[2]].filter((n): n is string => n !== undefined).map((n) => `days:${Number(n)}`),
  }))

const periodKeys = (folded: string): ReadonlyArray<{ readonly text: string; readonly key: string }> =>
  [...folded.matchAll(periodCount)].map((match) => ({
    text: match[0],
    key: `${/^(y|j|an|ann)/.test(match[2]!) ? "years" : "months"}:${Number(match[1])}`,
  }))

// ---- words of promises ----

const delivering =
  /\b(arriv\w*|deliver\w*|dispatch\w*|ship\w*|reach(es)? you|expected|estimated|eta|on its way|in transit|be with you|receive|get it|liefer\w*|zugestellt|zustell\w*|ankommen|ankunft|eintreffen|trifft|erhalten|versand|versendet|verschickt|unterwegs|livr\w*|expedi\w*|recevr\w*|recevez|entreg\w*|llega\w*|recibir\w*|enviad\w*|envio|consegn\w*|arrivera\w*|spedi\w*|ricever\w*|bezorg\w*|geleverd|aankom\w*|ontvang\w*|verzonden|verstuurd|cheg\w*|receb\w*|enviad\w*|kommt|kommen|komt|llegar\w*|arrivare|chegar\w*|order|parcel|package|bestellung|paket|sendung|colis|commande|pedido|paquete|ordine|pacco|bestelling|pakket|encomenda|pacote)\b/

const negations =
  /\b(not|cannot|can t|cant|unable|won t|wont|never|no longer|isn t|aren t|don t|doesn t|didn t|no|nicht|kein|keine|keinen|keinerlei|pas|jamais|aucun|aucune|ni|nunca|ningun|ninguna|non|mai|nessun|nessuna|niet|geen|nooit|nao|nenhum|nenhuma)\b/
const notNegations =
  /\b(no problem|no worries|no hay problema|no te preocupes|kein problem|pas de probleme|pas de souci|nessun problema|geen probleem|sem problema|at no (extra )?(cost|charge)|sans frais|ohne aufpreis|sin coste|sin costo|senza costi|zonder kosten|sem custo|no later than|nicht spater als)\b/g

const refundWords =
  /\b(refund\w*|reimburs\w*|money back|erstatt\w*|ruckerstatt\w*|ruckzahlung|rembours\w*|reembols\w*|rimbors\w*|terugbetal\w*|terugstort\w*|vergoed\w*|restitu\w*|estorno)\b/
const replacementWords =
  /\b(replacement|replace|replaced|new one|exchange|ersatz\w*|ersetz\w*|umtausch\w*|austausch\w*|remplac\w*|echange\w*|reemplaz\w*|sustitu\w*|reposicion|sostitu\w*|vervang\w*|substitu\w*|troca\w*)\b/
// Talking about a refund is not promising one: "your refund request", "our refund policy".
const refundMentions =
  /\b(refund|return|replacement|exchange|erstattungs?|ruckerstattungs?|umtausch|remboursement|reembolso|rimborso|terugbetaling|reembolso)\s?(request|requests|policy|policies|form|process|procedure|status|anfrage|antrag|richtlinie|formular|demande|politique|solicitud|politica|richiesta|verzoek|beleid|pedido)\b|\b(request(ed)?|asked for|ask for|apply for|eligible for|qualify for|politique de|demande de|solicitud de|richiesta di|pedido de|verzoek om)\s(a |an |your |the |un |une |de |di |om )?(refund|replacement|exchange|remboursement|reembolso|rimborso|terugbetaling)\b/g

const commitment =
  /\b(we will|we ll|we shall|we are going to|we re going to|i will|i ll|we have|we ve|i have|i ve|we can|we are happy to|we re happy to|we d be happy to|we would be happy to|we are (issuing|processing|sending|arranging)|we re (issuing|processing|sending|arranging)|you will|you ll|you are going to|you re going to|you should (receive|get|see)|has been|have been|was (issued|approved|processed|sent)|is being|will be|is on its way|werden|wird|wurde|haben wir|wir haben|erhalten sie|bekommen sie|sie erhalten|sie bekommen|veranlass\w*|erstatten wir|ersetzen wir|senden wir|schicken wir|nous allons|nous avons|vous allez|vous recevrez|recevrez|sera|a ete|je vais|j ai|rembourserons|remplacerons|enverrons|vamos a|hemos|recibira|recibiras|sera|ha sido|enviaremos|procederemos|reembolsaremos|reemplazaremos|riceverai|ricevera|sara|e stato|abbiamo|procederemo|invieremo|rimborseremo|sostituiremo|zullen|ontvangt u|ontvang je|wordt|is verwerkt|hebben|betalen we|vergoeden we|sturen we|vamos|recebera|foi|iremos|enviaremos|substituiremos|wir (erstatten|ersetzen|schicken|senden|uberweisen|zahlen)|nous (remboursons|remplacons|envoyons)|(le|te|les|os) (reembolsamos|enviamos|devolvemos|reemplazamos)|(ti|le|vi) (rimborsiamo|inviamo|sostituiamo)|(we|wij) (betalen|sturen|vergoeden|storten)|(reembolsamos|substituimos)|(we|i) (refund|replace|send|issue|credit) (you|your|the))\b/
const approval =
  /\b(approved|issued|processed|granted|authori[sz]ed|confirmed|completed|refunded|paid|sent|shipped|accepted|genehmigt|erstattet|veranlasst|freigegeben|ausgezahlt|bestatigt|versandt|approuve\w*|effectue\w*|emis|valide\w*|accorde\w*|envoye\w*|aprobad\w*|emitid\w*|procesad\w*|enviad\w*|aceptad\w*|approvat\w*|emess\w*|effettuat\w*|inviat\w*|goedgekeurd|uitgevoerd|verstuurd|verzonden|aprovad\w*|processad\w*)\b/
const rejection =
  /\b(rejected|denied|declined|refused|pending|requested|under review|not approved|awaiting|abgelehnt|ausstehend|beantragt|nicht genehmigt|refuse\w*|en attente|rechazad\w*|denegad\w*|pendiente|rifiutat\w*|in attesa|afgewezen|in behandeling|recusad\w*|pendente)\b/

const discountWords =
  /\b(discount\w*|\d+ ?% off|money off|price reduction|rabatt\w*|nachlass|preisnachlass|ermassigung|remise|reduction|rabais|descuento\w*|rebaja|sconto|sconti|korting|desconto\w*|znizk\w*|rabat|indirim)\b/
const percentPattern =
  /(\d+(?:[.,]\d+)?)\s?(?:%|percent\b|per cent\b|prozent\b|pour cent\b|por ciento\b|per cento\b|procent\b|por cento\b)/g

const compensationFamilies: ReadonlyArray<readonly [string, RegExp]> = [
  [
    "free shipping",
    /\b(free (shipping|delivery|postage)|shipping (is )?(on us|free)|kostenlose[nr]? (versand|lieferung)|versandkostenfrei|gratis versand|livraison (gratuite|offerte)|frais de port offerts|envio gratis|envio gratuito|spedizione gratuita|gratis verzending|gratis bezorging|frete gratis|envio gratuito|portes gratis)\b/,
  ],
  [
    "voucher",
    /\b(vouchers?|gift ?cards?|gift certificates?|coupons?|gutschein\w*|geschenkkarte|bon d achat|bons d achat|cheque cadeau|carte cadeau|vale|vales|cupon(es)?|tarjeta regalo|buono|buoni|carta regalo|tegoedbon|cadeaubon|waardebon|cadeaukaart|cupom|cupons|cartao presente)\b/,
  ],
  [
    "store credit",
    /\b(store credit|shop credit|account credit|credit (to|on|in) your account|credited to your account|guthaben|kundenkonto gutgeschrieben|avoir|credit en tienda|saldo a favor|credito (in negozio|sul tuo account)|tegoed|credito na loja|credito em loja)\b/,
  ],
  [
    "free gift",
    /\b(free (gift|item|product|sample|upgrade)|complimentary|on the house|geschenk|gratisartikel|gratis dazu|cadeau|offert|offerte|regalo|obsequio|omaggio|in regalo|gratis cadeau|brinde|oferta)\b/,
  ],
  [
    "goodwill",
    /\b(goodwill|gesture of|as a (thank you|token)|kulanz\w*|geste commercial|geste de bonne volonte|gesto (de buena voluntad|di cortesia|commerciale|de boa vontade)|coulance|bonus points|loyalty points|treuepunkte|bonuspunkte|points (de )?fidelite|puntos|punti fedelta|punten|pontos)\b/,
  ],
]

const policyFamilies: ReadonlyArray<readonly [string, RegExp]> = [
  [
    "lifetime warranty",
    /\b(lifetime (warranty|guarantee)|lebenslange garantie|garantie a vie|garantia (de por vida|vitalicia)|garanzia a vita|levenslange garantie)\b/,
  ],
  [
    "money-back guarantee",
    /\b(money ?back guarantee|satisfaction guarante\w*|geld zuruck garantie|zufriedenheitsgarantie|satisfait ou rembourse|garantia de devolucion|soddisfatti o rimborsati|niet goed geld terug|satisfacao garantida)\b/,
  ],
  [
    "free returns",
    /\b(free returns?|free return shipping|returns are free|kostenlose (rucksendung|retoure)|kostenloser (ruckversand|umtausch)|retours? gratuits?|retour gratuit|devoluci(on|ones) gratuitas?|resi? gratuit[oi]|gratis retour\w*|devolucao gratuita|devolucoes gratuitas)\b/,
  ],
  [
    "price match",
    /\b(price match\w*|price guarantee|best price guarantee|preisgarantie|tiefpreisgarantie|alignement (des|de) prix|igualamos (el|cualquier) precio|garanzia (del )?prezzo|laagsteprijsgarantie)\b/,
  ],
  ["warranty", /\b(warrant(y|ies)|guarantee[ds]?|garantie\w*|garantia\w*|garanzia|gewahrleistung)\b/],
]

// ---- links ----

const urlPattern = /\b(?:https?:\/\/|www\.)[^\s<>"'()[\]{}]+/gi
const emailPattern = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+/g
const domainPattern =
  /\b(?:[a-z0-9-]+\.)+(?:com|net|org|shop|store|de|fr|es|it|nl|pt|eu|io|co|uk|info|biz|ly|me|app|link|xyz|online|site|top|ru|cn|at|ch|be|pl|tr|us|ca|click|support|help)\b(?:\/[^\s<>"'()[\]{}]*)?/gi
const phoneContext =
  /\b(?:call|phone|tel|telephone|telefon|telefono|telefone|whatsapp|anrufen|ring|hotline|helpline|bel|ligue|llame|llamenos|chiama|chiamaci|sms|text us)\b\D{0,20}(\+?\d[\d\s()./-]{6,}\d)/gi
const internationalPhone = /(?<![\w.])(?:\+|00)\d[\d\s()./-]{6,}\d/g

const canonicalLink = (link: string): string =>
  link
    .toLowerCase()
    .replace(/^(https?:\/\/)?(www\.)?/, "")
    .replace(/[.,;:!?)\]}>'"]+$/, "")
    .replace(/[?#].*$/, "")
    .replace(/\/+$/, "")

const linksIn = (text: string): ReadonlyArray<string> => {
  const emails = [...text.matchAll(emailPattern)].map((match) => match[0])
  const withoutEmails = text.replace(emailPattern, " ")
  const urls = [...withoutEmails.matchAll(urlPattern)].map((match) => match[0])
  const withoutUrls = withoutEmails.replace(urlPattern, " ")
  const domains = [...withoutUrls.matchAll(domainPattern)].map((match) => match[0])
  return [...emails, ...urls, ...domains]
}

const phoneDigits = (phone: string): string => phone.replace(/\D/g, "").replace(/^00/, "").slice(-9)

const phonesIn = (text: string): ReadonlyArray<string> => {
  const all = [
    ...[...text.matchAll(internationalPhone)].map((match) => match[0]),
    ...[...text.matchAll(phoneContext)].map((match) => match[1]!),
  ]
  return all.filter(
    (phone, index) => all.findIndex((other) => phoneDigits(other) === phoneDigits(phone)) === index,
  )
}

// ---- what the facts support ----

interface Support {
  readonly folded: ReadonlyArray<string>
  readonly amounts: ReadonlySet<string>
  readonly percents: ReadonlySet<string>
  readonly dateKeys: ReadonlySet<string>
  readonly tokens: ReadonlySet<string>
  readonly links: ReadonlySet<string>
  readonly phones: ReadonlyArray<string>
}

const supportOf = (facts: ReadonlyArray<GroundingFact>): Support => {
  const texts = facts.map((fact) => fact.text.normalize("NFKC"))
  const folded = texts.map(fold)
  return {
    folded,
    amounts: new Set(
      texts.flatMap((text) => [...text.matchAll(anyNumber)].map((match) => canonicalAmount(match[0]))),
    ),
    percents: new Set(
      texts.flatMap((text) => [...text.matchAll(percentPattern)].map((match) => canonicalAmount(match[1]!))),
    ),
    dateKeys: new Set(
      folded.flatMap((text) => [
        ...dateMentions(text).flatMap((mention) => mention.keys),
        ...dayCountKeys(text).flatMap((count) => count.keys),
        ...periodKeys(text).map((period) => period.key),
      ]),
    ),
    tokens: new Set(texts.flatMap((text) => text.toUpperCase().match(/[A-Z0-9][A-Z0-9_-]*/g) ?? [])),
    links: new Set(texts.flatMap(linksIn).map(canonicalLink)),
    phones: texts
      .flatMap(phonesIn)
      .concat(texts.flatMap((text) => text.match(/\d[\d\s()./-]{6,}\d/g) ?? []))
      .map(phoneDigits),
  }
}

const orderRefs = (text: string): ReadonlyArray<string> =>
  (text.toUpperCase().match(/\b[A-Z]{1,4}-\d+\b|\b[A-Z]{1,4}\d{3,}\b|#\d+\b/g) ?? []).map((ref) =>
    ref.replace(/[-#]/g, ""),
  )

// A sentence with a negation before the promise word ("we cannot offer a discount") promises nothing.
const negatedBefore = (folded: string, at: number): boolean => {
  const before = folded.slice(0, at).replace(notNegations, " ").split(/\s+/).slice(-7).join(" ")
  return negations.test(before)
}

const sentencesOf = (text: string): ReadonlyArray<string> =>
  text
    .split(/(?<=[!?])\s+|(?<=[^\d\s.][.])\s+(?=[\p{Lu}\d"'(])|\n+/u)
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence !== "")

const codeKeywords =
  /\b(?:code|coupon|voucher|promo(?:tion)?(?:\s?code)?|gift ?card|discount code|gutschein(?:code)?|rabattcode|aktionscode|code promo|c[oó]digo|cup[oó]n|codice|buono|kortingscode|cupom|kod|kupon)\b\s*(?:code\b)?\s*(?::|is|lautet|est|es|[eè]|:)?\s*["'“”‘’«»]?([A-Za-z0-9][A-Za-z0-9_-]{3,})/giu
const promoShaped = /\b[A-Z]{4,}\d{1,3}\b/g

const looksLikeCode = (token: string): boolean =>
  /^[A-Z0-9][A-Z0-9_-]{3,}$/.test(token) && (/\d/.test(token) || token.length >= 5) && !/^\d+$/.test(token)

/** The promises a reply makes that the given facts (the shop's records and approved knowledge) do not support. */
export const ungroundedPromises = (
  reply: string,
  facts: ReadonlyArray<GroundingFact>,
): ReadonlyArray<UngroundedPromise> => {
  const text = cleanUntrusted(reply).text
  const support = supportOf(facts)
  const found: Array<UngroundedPromise> = []
  const add = (kind: PromiseKind, claim: string, reason: string): void => {
    if (!found.some((promise) => promise.kind === kind && promise.claim === claim))
      found.push({ kind, claim, reason })
  }
  const replyRefs = orderRefs(text)
  const factSays = (test: (folded: string) => boolean): boolean => support.folded.some(test)

  for (const sentence of sentencesOf(text)) {
    const folded = fold(sentence)

    for (const match of sentence.matchAll(moneyPattern)) {
      const amount = canonicalAmount((match[1] ?? match[2])!)
      if (!support.amounts.has(amount))
        add("price", match[0].trim(), `the amount ${amount} appears in no fact`)
    }

    const percents = [...sentence.matchAll(percentPattern)]
    for (const match of percents) {
      const value = canonicalAmount(match[1]!)
      if (!support.percents.has(value)) add("discount", match[0].trim(), `no fact mentions ${value}%`)
    }
    const discount = discountWords.exec(folded)
    if (percents.length === 0 && discount !== null && !negatedBefore(folded, discount.index)) {
      if (!factSays((fact) => discountWords.test(fact) || /\d\s?%/.test(fact))) {
        add("discount", discount[0], "no fact mentions a discount")
      }
    }

    const codes = new Set<string>()
    for (const match of sentence.matchAll(codeKeywords)) {
      if (looksLikeCode(match[1]!)) codes.add(match[1]!)
    }
    for (const [token] of sentence.matchAll(promoShaped)) codes.add(token)
    for (const code of codes) {
      if (!support.tokens.has(code.toUpperCase())) add("code", code, `the code ${code} appears in no fact`)
    }

    const sentenceRefs = orderRefs(sentence)
    const refs = sentenceRefs.length > 0 ? sentenceRefs : replyRefs
    const approvedFor = (words: RegExp) =>
      factSays((fact) => {
        if (!words.test(fact) || !approval.test(fact) || rejection.test(fact)) return false
        const factRefs = orderRefs(fact)
        return refs.length === 0 || factRefs.length === 0 || refs.some((ref) => factRefs.includes(ref))
      })
    const promising = folded.replace(refundMentions, " ")
    const promised = (words: RegExp): RegExpExecArray | undefined => {
      const match = words.exec(promising)
      return match !== null && commitment.test(promising) && !negatedBefore(promising, match.index)
        ? match
        : undefined
    }
    const refund = promised(refundWords)
    if (refund !== undefined && !approvedFor(refundWords)) {
      add("refund", sentence, "no fact says a refund was approved or issued for this order")
    }
    const replacement = promised(replacementWords)
    if (replacement !== undefined && !approvedFor(replacementWords)) {
      add("refund", sentence, "no fact says a replacement was approved or sent for this order")
    }

    for (const [family, words] of compensationFamilies) {
      const match = words.exec(folded)
      if (match === null || negatedBefore(folded, match.index)) continue
      if (!factSays((fact) => words.test(fact))) add("compensation", match[0], `no fact offers ${family}`)
    }

    const delivery = delivering.test(folded)
    for (const count of dayCountKeys(folded)) {
      if (!count.keys.every((key) => support.dateKeys.has(key))) {
        add(delivery ? "delivery-date" : "policy", count.text, `no fact states ${count.text}`)
      }
    }
    for (const period of periodKeys(folded)) {
      if (!support.dateKeys.has(period.key)) add("policy", period.text, `no fact states ${period.text}`)
    }
    for (const [family, words] of policyFamilies) {
      const match = words.exec(folded)
      if (match === null || negatedBefore(folded, match.index)) continue
      if (!factSays((fact) => words.test(fact))) add("policy", match[0], `no fact states a ${family}`)
      break
    }
    if (delivery) {
      for (const mention of dateMentions(folded)) {
        if (!mention.keys.some((key) => support.dateKeys.has(key))) {
          add("delivery-date", mention.text, `no fact carries the date ${mention.text}`)
        }
      }
    }

    for (const link of linksIn(sentence)) {
      if (!support.links.has(canonicalLink(link))) add("link", link, "the link or address appears in no fact")
    }
    for (const phone of phonesIn(sentence)) {
      if (!support.phones.includes(phoneDigits(phone)))
        add("link", phone.trim(), "the phone number appears in no fact")
    }
  }
  return found
}

const wordsForLeak = (text: string): ReadonlyArray<string> => fold(text).match(/[a-z0-9]+/g) ?? []

/** Runs of this many consecutive words shared with a prompt count as a leak. */
const leakRun = 8

/** Whether a reply repeats a sizeable part of a system prompt (any run of 8+ consecutive words, case/space-insensitive). */
export const leaksPrompt = (reply: string, prompts: ReadonlyArray<string>): boolean => {
  const runs = new Set<string>()
  for (const prompt of prompts) {
    const words = wordsForLeak(prompt)
    for (let at = 0; at + leakRun <= words.length; at++) runs.add(words.slice(at, at + leakRun).join(" "))
  }
  if (runs.size === 0) return false
  const words = wordsForLeak(reply)
  for (let at = 0; at + leakRun <= words.length; at++) {
    if (runs.has(words.slice(at, at + leakRun).join(" "))) return true
  }
  return false
}

// The phrases that mark an attempt to steer the agent, per language. Each pattern names an object
// (instructions, rules, prompt, an approval, a role in the shop) so that ordinary customer text,
// "please ignore my previous email" or "I forgot my password", does not match.
//
// Patterns are written in a small notation over folded words (see text.ts): a space is a gap between
// words, `~` is up to three filler words. Each compiles twice: over the words of the text, and over
// its letters alone, so "i g n o r e  a l l  r u l e s" and "ignore.all.rules" are read as well. A
// letters-only match counts from 14 letters on; shorter ones occur by chance across word boundaries.

/** The kinds of steering a signal reveals. */
export type SignalCode = "instruction-override" | "fake-system-notice" | "role-claim" | "prompt-extraction"

interface SignalSource {
  readonly code: SignalCode
  readonly language: string
  readonly patterns: ReadonlyArray<string>
}

/** A compiled signal: the same phrase read over words and over letters only. */
export interface Signal {
  readonly code: SignalCode
  readonly language: string
  readonly words: RegExp
  readonly letters: RegExp
}

/** A signal whose phrase is only meaningful with its punctuation and line starts (read over folded text). */
export interface LineSignal {
  readonly code: SignalCode
  readonly pattern: RegExp
}

// Over words, a gap may hold a colon ("policy update: agents must"), `$` is the end of a sentence or
// of the text. Over letters alone, gaps and fillers vanish: a filler there would let a phrase match by
// chance across unrelated words. "i" and "l" are the letters leetspeak and look-alikes swap most
// ("1gn0re", "ru|es", "Ignore" typed with a lowercase L), so each stands for both.
const compile = (source: string, over: "words" | "letters"): string => {
  const gap = over === "words" ? " (?:: )?" : ""
  let out = ""
  let inClass = false
  for (let at = 0; at < source.length; at++) {
    const char = source[at]!
    if (char === "\\") {
      out += char + (source[at + 1] ?? "")
      at++
    } else if (inClass) {
      if (char === "]") inClass = false
      out += char
    } else if (char === "[") {
      inClass = true
      out += char
    } else if (char === " " && source[at + 1] === "?") {
      out += over === "words" ? `(?:${gap})?` : ""
      at++
    } else if (char === " ") out += gap
    else if (char === "~") out += over === "words" ? "(?:[a-z0-9]+ ){0,3}" : ""
    else if (char === "$") out += over === "words" ? "(?= \\.| ?$)" : "$"
    else if (char === "i" || char === "l") out += "[il]"
    else out += char
  }
  return out
}

const toSignal = (code: SignalCode, language: string, pattern: string): Signal => ({
  code,
  language,
  words: new RegExp(`(?<= )(?:${compile(pattern, "words")})(?:(?= )|(?<= ))`),
  letters: new RegExp(`(?:${compile(pattern, "letters")})`),
})

// Shared vocabulary, English.
const enVerbIgnore =
  "(ignore|disregard|forget|bypass|override|overrule|abandon|discard|neglect|skip|drop|suspend|set aside|throw away|pay no attention to|do not follow|dont follow|don t follow|stop following)"
const enQualifier =
  "(all|any|every|each|of|the|your|these|those|its|whatever|previous|previously|prior|above|earlier|preceding|former|initial|original|old|existing|current|system|default|safety|given|programmed|built in|standard|internal|hidden|preset|other|mentioned|aforementioned|such|that|this|you were|you have been|were|been|told|received|got)"
const enObject =
  "(instructions?|rules?|prompts?|directives?|guidelines?|guardrails?|constraints?|restrictions?|policies|programming|guidance|limitations?|filters?|training|commands?|orders? you (were|have been) given|system message|safeguards?|protocols?)"
const roleNoun =
  "(owner|admin|administrator|manager|developer|dev|ceo|founder|operator|supervisor|programmer|creator|boss|moderator|director|head of support|head of customer service)"

const sources: ReadonlyArray<SignalSource> = [
  {
    code: "instruction-override",
    language: "en",
    patterns: [
      `${enVerbIgnore} (${enQualifier} ){0,4}(previous|previously|prior|above|earlier|preceding|former|initial|original|old|existing|all|any|every|your|system|safety|default|programmed|built in|hidden|internal|given) (${enQualifier} ){0,3}${enObject}`,
      `${enVerbIgnore} (all|any|every) ${enObject}`,
      `${enVerbIgnore} (the |your |all |any |those |these )?${enObject} (you (were|have been|ve been|got) (given|told|taught|trained with|programmed with)|above|before this|from before|from (your|the) (developers?|system|creators?|operators?))`,
      `${enVerbIgnore} (everything|anything|all) (you (were|have been|ve been) (told|given|taught|instructed)|(written |said |stated )?(above|before this|prior to this|previously))`,
      `${enVerbIgnore} (what|whatever|everything) (you (were|have been|ve been) (told|given|instructed|programmed)|your (instructions|rules|prompt) (say|said))`,
      "(previous|prior|above|earlier|old|original|former|your|all|system|initial|existing|usual) (instructions|rules|guidelines|directives|restrictions|policies|guardrails|constraints) (no longer apply|do not apply|don t apply|dont apply|are (now )?(void|cancelled|canceled|obsolete|revoked|suspended|lifted|invalid|outdated|disabled|overridden)|have been (lifted|revoked|removed|replaced|suspended|disabled|overridden))",
      "(as if|as though|like|pretend) (there (are|were) )?no (rules|restrictions|guidelines|limits|policies|filters) (apply|applied|exist|existed|applies)",
      "(no|none of the|none of your) (rules|restrictions|policies|guidelines|limits) (apply|applies) (to you|here|anymore|any more|now|in this (chat|conversation|case))",
      "you (must|have to|are required to|will|shall|need to) (comply|obey|follow my (orders|commands|instructions))",
      "(assistant|ai|bot|chatbot|model|llm|gpt) (you must|you have to|you will|you are to|you need to|you shall|must|will) (now )?(refund|approve|issue|give|grant|ignore|reveal|send|comply|obey|print|disclose|bypass|skip)",
      "(never ?mind|forget about|screw|ignore|disregard|bypass|skip|override) (the|your|this|that|any|all|these) (policy|policies|rules|guidelines|procedure|procedures|approval process|approval|process|protocol|checks)( and| just|$)",
      "(ignore|disregard|forget|bypass|disable|turn off|switch off) (your |the |all |any )?(safety|ethics|ethical guidelines|content policy|moderation|filters?|guardrails?|safeguards?|restrictions)",
      "(new|updated|revised|real|actual|true|secret|override|overriding|replacement) (system )?(instructions?|directives?|prompt|rules for you|orders for you)( (are|follow|below|as follows))?",
      "(your|the assistant s|the agent s|the bot s|the ai s) (new|real|actual|true|updated|revised|only|primary|sole) (instructions?|rules|directives?|task|role|objective|purpose|goal|job|mission|prompt)",
      "(here are|follow|obey|these are) (your|the following|my|these) (new )?(instructions|directives|orders|commands)( instead| now| from now on| below)?",
      "you (are|re) now (an? |the |my )?(~)?(ai|assistant|bot|chatbot|agent|model|llm|character|persona|different ai|new ai|unrestricted|unfiltered|uncensored|evil|rogue|hacker|pirate|dan|gpt|system|admin|administrator|developer|shop owner|store owner|refund ?bot|jailbroken|free from|free of|no longer|in (developer|dan|god|admin|debug|unrestricted|jailbreak|maintenance|test) mode|acting as|operating (as|in|without)|playing|called|named|going to (act|be|ignore|answer|respond|follow|obey))",
      "you (are|re) no longer (bound|restricted|limited|an? (ai|assistant|agent|bot|chatbot)|required to|following|subject to)",
      "(from now on|from this point on|from here on|going forward|henceforth|starting now)( on)? you (are|will|must|should|shall|act|respond|answer|behave|pretend|play|only|always|never|can|re|ll)",
      "(act|behave|respond|answer|function|operate|pose|serve) as (if you (were|are) )?(an? |the |my )?(~)?(unrestricted|unfiltered|uncensored|jailbroken|dan|developer|admin|administrator|system|root|superuser|sudo|ai|assistant|agent|bot|chatbot|llm|language model|model|gpt|persona|character|different ai|evil|rogue|hacker|shop owner|store owner|manager) ",
      "(pretend|imagine|suppose) (to be|you are|you re|that you (are|re|have)|you have) (an? |the |my |no |not |free |unrestricted |in |without |allowed )",
      "(roleplay|role play) as",
      "(developer|dev|god|admin|debug|maintenance|root|sudo|unrestricted|jailbreak|jailbroken|dan|test|unsafe|uncensored|unfiltered) mode",
      "(enable|activate|enter|switch to|turn on|unlock|engage) (the )?(developer|dev|god|admin|debug|maintenance|root|sudo|unrestricted|jailbreak|dan|test|unsafe|unfiltered|override|bypass) (mode|access|protocol)",
      "(jailbreak|jailbroken|jailbreaking|do anything now)",
      "(without|no|free of|free from|ignoring) (any |all |your )?(ethical |safety |content |usual )?(restrictions|limitations|filters|guardrails|safeguards|censorship) (and|you|from now)",
      "(override|overrule|bypass|circumvent|disable|deactivate|turn off|switch off|skip|get around|work around) (the |your |all |any |its )?(safety|security|policy|policies|approval|approvals|human review|review|escalation|verification|filters?|guardrails?|checks?|restrictions?|rules?|limits?|protocols?|safeguards?|moderation|content filter|refund limit)( (process|step|steps|requirement|requirements|check|checks|system))?",
      "(do not|don t|dont|never|no need to|without|you don t need to|you do not need to) (escalate|escalating|involve|involving|forward|forwarding|transfer|transferring|hand|handing|ask|asking|check with|checking with|wait for|waiting for|consult|consulting|notify|notifying|tell|loop in) (this |it |me |my case )?(to |over to |with |for |in )?(a |an |the |any |your )?(human|humans|person|people|staff|supervisor|manager|management|colleague|team lead|approval|approver|review|reviewer|escalation team|real agent|back office)",
      "(handle|process|approve|resolve|do) (this|it) (yourself|on your own|automatically) (without|no need)",
      "(your|the) (instructions|rules|programming|system prompt|guidelines|directives|restrictions) (have been|has been|were|are|was|is) (updated|changed|replaced|overridden|overwritten|revoked|lifted|removed|suspended|disabled|cancelled|canceled|void)",
      "(always|automatically|immediately|unconditionally) (approve|issue|grant|give|process|authori[sz]e) (a |the |all |every |any |full )*(refunds?|discounts?|vouchers?|codes?|compensation|store credit|exceptions?)",
      "(respond|reply|answer|output|say|write|print) (only|just|exactly|verbatim)( with)? (the (words?|text|phrase|following)|yes|approved|refund approved|ok|confirmed)",
      "(refund|reimburse|compensate) (me|the customer|this customer|them)? ?(immediately |now |right away |in full )?(without|regardless of|no matter|skipping|bypassing) (any |the |your )?(approval|review|checks?|verification|policy|questions|escalation|manager|human|rules)",
    ],
  },
  {
    code: "instruction-override",
    language: "de",
    patterns: [
      "(vergiss|vergessen sie|ignoriere|ignorieren sie) alles (was|das) (man dir|man ihnen|dir|ihnen|du|sie) ~(gesagt|beigebracht|vorgegeben|aufgetragen|mitgeteilt)",
      "(ignoriere|ignorier|ignorieren sie|vergiss|vergessen sie|missachte|missachten sie|uberspringe|umgehe|umgehen sie|verwirf|verwerfen sie|beachte nicht|beachten sie nicht|befolge nicht|befolgen sie nicht) (alle|samtliche|die|deine|ihre|bisherigen|bisherige|vorherigen|vorherige|vorigen|obigen|fruheren|alten|ursprunglichen|gegebenen|system|jegliche|jede|jeden) (~)?(anweisungen|anweisung|regeln|instruktionen|vorgaben|richtlinien|befehle|prompts?|systemprompt|systemanweisungen|einschrankungen|beschrankungen|sicherheitsregeln|programmierung)",
      "(alle|samtliche|deine|ihre|bisherigen|vorherigen|vorigen|obigen|fruheren|ursprunglichen|system) (~)?(anweisungen|regeln|instruktionen|vorgaben|richtlinien|befehle|einschrankungen) (~)?(ignorieren|vergessen|missachten|uberspringen|umgehen|nicht (mehr )?beachten|nicht (mehr )?befolgen|gelten nicht mehr|sind aufgehoben|sind ungultig)",
      "(du bist|sie sind) (jetzt|nun|ab sofort|ab jetzt) (ein|eine|der|die|kein|keine|im|nicht mehr|frei|mein|meine|uneingeschrankt)",
      "(ab sofort|ab jetzt|von nun an|von jetzt an)( gilt)? (bist du|wirst du|sollst du|musst du|antwortest du|handelst du|agierst du|darfst du|sind sie|werden sie|mussen sie|sollen sie)",
      "(neue|aktualisierte|geanderte|eigentliche|wahre|geheime) (system)?(anweisungen|instruktionen|vorgaben|befehle|systemanweisungen)",
      "(entwicklermodus|entwickler modus|adminmodus|admin modus|wartungsmodus|debugmodus|gottmodus)",
      "(tu|tue|tun sie) so als (ob|waren sie|warst du)",
      "(agiere|handle|fungiere|verhalte dich) (als|wie) (ein |eine |der |die )?(~)?(uneingeschrankte|admin|administrator|entwickler|system|ki|bot|assistent|ladeninhaber|shopinhaber)",
      "(ohne|keine) (ruckfrage|genehmigung|freigabe|prufung|eskalation|vorgesetzten|menschliche prufung) (erstatten|erstattet|auszahlen|ausgezahlt|freigeben|genehmigen)",
      "(nicht|keinesfalls|auf keinen fall) (an einen menschen|an einen mitarbeiter|an einen vorgesetzten|an den support|an die geschaftsfuhrung) (weiterleiten|eskalieren|ubergeben|geben)",
      "(umgehe|umgehen sie|uberspringe|uberspringen sie|deaktiviere|deaktivieren sie) (die |alle |jede )?(genehmigung|freigabe|prufung|eskalation|sicherheitsprufung|richtlinie|filter|regeln)",
      "(erstatte|erstatten sie|genehmige|genehmigen sie|gewahre|gewahren sie) (immer|automatisch|sofort und ohne|bedingungslos)",
    ],
  },
  {
    code: "instruction-override",
    language: "fr",
    patterns: [
      "(oublie|oubliez|ignore|ignorez) tout ce (qu on t a|qu on vous a|que tu as|que vous avez|qui t a ete|qui vous a ete) (dit|appris|donne|demande|ete dit|recu)",
      "(ignore|ignorez|ignorer|oublie|oubliez|oublier|neglige|negligez|contourne|contournez|ne tiens pas compte|ne tenez pas compte|fais abstraction|faites abstraction|ne suis plus|ne suivez plus|ne respecte plus|ne respectez plus) (de |des |d )?(toutes|tous|les|tes|vos|ces|ses|toute|tout|precedentes|anterieures|l ensemble) (~)?(instructions?|consignes?|regles|directives|ordres|prompts?|restrictions|contraintes|limites|programmation|regles de securite)",
      "(instructions?|consignes|regles|directives) (precedentes|anterieures|ci dessus|systeme|initiales|d origine|d avant) (~)?(ne s appliquent plus|sont annulees|sont obsoletes|ne comptent plus)",
      "(tu es|vous etes) (maintenant|desormais|a present|dorenavant) (un|une|le|la|mon|ma|libre|en mode|sans|plus)",
      "(a partir de maintenant|a partir d aujourd hui|desormais|dorenavant|des maintenant) (,)? ?(tu|vous) (es|etes|vas|allez|dois|devez|agis|agissez|reponds|repondez|ignores|ignorez|accordes|accordez)",
      "(nouvelles|vraies|veritables|nouvelle) (instructions?|consignes?|directives?) (systeme )?(sont|suivent|ci dessous|pour toi|pour vous|:)?",
      "(mode developpeur|mode administrateur|mode debogage|mode maintenance|mode sans restriction|mode dieu)",
      "(agis|agissez|comporte toi|comportez vous|fais comme si tu etais|faites comme si vous etiez) (comme|en tant que) (un |une |le |la )?(~)?(ia|assistant|administrateur|admin|developpeur|systeme|proprietaire|gerant|bot) ",
      "(fais semblant|faites semblant|pretends|pretendez) (d etre|que tu es|que vous etes)",
      "(sans|pas besoin d|pas besoin de) (validation|approbation|verification|escalade|passer par|demander a|consulter) (un |une |le |la |votre |ton )?(humain|responsable|superviseur|manager|collegue|service)?",
      "(ne transmets pas|ne transmettez pas|n escalade pas|n escaladez pas|ne transfere pas|ne transferez pas) (ce dossier |cette demande |ma demande )?(a|au|aux) (un |une |le |la )?(humain|responsable|superviseur|manager|service)",
      "(contourne|contournez|desactive|desactivez|saute|sautez) (la |les |le |toute )?(validation|approbation|verification|escalade|politique|regles|filtres?|securite)",
      "(rembourse|remboursez|accorde|accordez) (toujours|automatiquement|systematiquement|sans condition|sans verification)",
    ],
  },
  {
    code: "instruction-override",
    language: "es",
    patterns: [
      "(olvida|olvide|ignora|ignore) todo lo que (te|le) (dijeron|han dicho|ensenaron|han ensenado|indicaron|ordenaron)",
      "(ignora|ignore|ignorar|ignoren|ignores|olvida|olvide|olvidar|olviden|omite|omita|omitir|descarta|descarte|pasa por alto|pase por alto|no hagas caso a|no haga caso a|no sigas|no siga|deja de seguir|deje de seguir) (todas|todos|las|los|tus|sus|estas|esas|de|cualquier|toda|cada|anteriores|previas) (~)?(instrucciones|instruccion|reglas|directrices|indicaciones|ordenes|normas|restricciones|prompts?|limitaciones|politicas|programacion)",
      "(instrucciones|reglas|directrices|indicaciones|normas) (anteriores|previas|del sistema|iniciales|originales) (~)?(ya no (aplican|valen|cuentan|son validas)|quedan anuladas|estan anuladas)",
      "(ahora eres|ahora tu eres|ahora usted es|ya no eres|ya no es) (un|una|el|la|mi|libre|un asistente|un ia|sin)",
      "(a partir de ahora|desde ahora|de ahora en adelante|a partir de este momento) (,)? ?(eres|seras|vas a|debes|deberas|tienes que|responderas|actuaras|usted es|usted debe|tu eres|tu debes|ignoraras|aprobaras)",
      "(nuevas|verdaderas|autenticas|actualizadas) (instrucciones|directrices|reglas para ti|ordenes)( del sistema)?",
      "(modo desarrollador|modo administrador|modo depuracion|modo mantenimiento|modo sin restricciones|modo dios)",
      "(actua|actue|comportate|comportese) como (si fueras |si fuera )?(un |una |el |la )?(~)?(ia|asistente|administrador|admin|desarrollador|sistema|dueno|gerente|bot) ",
      "(finge|finja|simula|simule) (ser|que eres|que es)",
      "(sin|no hace falta|no necesitas|no necesita) (la )?(aprobacion|autorizacion|verificacion|revision|escalar|consultar|preguntar) (de |a |con )?(un |una |el |la |tu |su )?(humano|gerente|supervisor|encargado|responsable|companero)?",
      "(no escales|no escale|no transfieras|no transfiera|no pases|no pase|no derives|no derive) (esto |este caso |mi caso )?(a|al) (un |una |el |la )?(humano|persona|gerente|supervisor|encargado|agente humano)",
      "(salta|salte|evita|evite|desactiva|desactive|omite|omita) (la |las |el |los |toda )?(aprobacion|autorizacion|verificacion|revision|escalada|politica|reglas|filtros?|seguridad)",
      "(reembolsa|reembolse|aprueba|apruebe|concede|conceda) (siempre|automaticamente|sin condiciones|sin verificar|sin preguntar)",
    ],
  },
  {
    code: "instruction-override",
    language: "it",
    patterns: [
      "(dimentica|dimentichi|ignora|ignori) tutto (quello|cio) (che ti|che le) (hanno detto|e stato detto|hanno insegnato|hanno ordinato)",
      "(ignora|ignori|ignorare|ignorate|dimentica|dimentichi|dimenticare|dimenticate|trascura|trascuri|non considerare|non consideri|salta|non seguire|non segua|smetti di seguire) (tutte|tutti|le|gli|i|tue|sue|queste|quelle|di|ogni|qualsiasi|precedenti) (~)?(istruzioni|istruzione|regole|direttive|indicazioni|ordini|prompts?|restrizioni|limitazioni|politiche|programmazione)",
      "(istruzioni|regole|direttive|indicazioni) (precedenti|anteriori|di sistema|iniziali|originali) (~)?(non valgono piu|non sono piu valide|sono annullate|non contano piu)",
      "(ora sei|adesso sei|ora lei e|adesso lei e|non sei piu) (un|una|il|la|mio|mia|libero|libera|in modalita|senza)",
      "(da ora in poi|d ora in poi|da adesso|a partire da ora|da questo momento) (,)? ?(sei|sarai|devi|dovrai|risponderai|agirai|ignorerai|approverai|lei e|lei deve)",
      "(nuove|vere|autentiche|aggiornate) (istruzioni|direttive|regole per te)( di sistema)?",
      "(modalita sviluppatore|modalita amministratore|modalita debug|modalita manutenzione|modalita senza restrizioni|modalita dio)",
      "(agisci|agisca|comportati|si comporti) come (se fossi |se fosse )?(un |una |il |la |l )?(~)?(ia|assistente|amministratore|admin|sviluppatore|sistema|proprietario|titolare|bot) ",
      "(fingi|finga|simula|simuli) di essere",
      "(senza|non serve|non e necessaria|non e necessario) (l |la |il )?(approvazione|autorizzazione|verifica|revisione|escalation|consultare|chiedere) ?(a |al |del |dal |di )?(un |una |il |la |tuo |suo )?(umano|responsabile|supervisore|manager|collega)?",
      "(non inoltrare|non inoltri|non trasferire|non trasferisca|non passare|non passi|non scalare) (questa richiesta |il caso |la pratica )?(a|al|allo) (un |una |il |lo |la )?(umano|persona|responsabile|supervisore|manager|operatore umano)",
      "(salta|salti|evita|eviti|disattiva|disattivi|aggira|aggiri) (la |le |il |i |ogni )?(approvazione|autorizzazione|verifica|revisione|escalation|politica|regole|filtri|sicurezza)",
      "(rimborsa|rimborsi|approva|approvi|concedi|conceda) (sempre|automaticamente|senza condizioni|senza verificare|senza chiedere)",
    ],
  },
  {
    code: "instruction-override",
    language: "nl",
    patterns: [
      "(vergeet|negeer) alles wat (je|jou|u) (is verteld|is gezegd|hebt geleerd|werd verteld|hebben verteld)",
      "(negeer|negeert|vergeet|omzeil|omzeilt|sla over|volg niet|volg niet langer|houd je niet aan|houd u niet aan) (al|alle|de|je|jouw|uw|eerdere|vorige|voorgaande|bovenstaande|bestaande|oorspronkelijke|oude|systeem|elke|iedere) (~)?(instructies|instructie|regels|richtlijnen|opdrachten|aanwijzingen|prompts?|beperkingen|systeemprompt|programmering|beleid)",
      "(je bent nu|jij bent nu|u bent nu|je bent niet langer|u bent niet langer) (een|de|het|mijn|vrij|in|zonder)",
      "(vanaf nu|vanaf dit moment|voortaan|van nu af aan) (ben je|ben jij|bent u|moet je|moet u|zul je|zult u|antwoord je|antwoordt u|ga je|negeer je|keur je)",
      "(nieuwe|echte|werkelijke|bijgewerkte) (instructies|richtlijnen|opdrachten|systeeminstructies)",
      "(ontwikkelaarsmodus|ontwikkelaar modus|beheerdersmodus|debugmodus|onderhoudsmodus|god modus)",
      "(gedraag je|gedraag u|doe|speel) (als|alsof je|alsof u) (een |de |het )?(~)?(ai|assistent|beheerder|admin|ontwikkelaar|systeem|eigenaar|bot|onbeperkt)",
      "(zonder|geen) (goedkeuring|toestemming|controle|verificatie|escalatie|tussenkomst) (van )?(een |de |je |uw )?(mens|manager|leidinggevende|supervisor|collega)?",
      "(niet|nooit) (doorsturen|escaleren|doorverbinden|overdragen) (naar|aan) (een |de )?(mens|medewerker|manager|leidinggevende|supervisor)",
      "(stuur|verbind) (dit|mij|me) niet door (naar|aan) (een |de )?(mens|medewerker|manager|leidinggevende|supervisor)",
      "(omzeil|omzeilt|sla|schakel) (de |het |alle )?(goedkeuring|controle|verificatie|escalatie|beleid|regels|filters?|beveiliging)( over| uit)?",
      "(betaal|keur|geef) (altijd|automatisch|zonder voorwaarden) (terug|goed|een terugbetaling|korting)",
    ],
  },
  {
    code: "instruction-override",
    language: "pt",
    patterns: [
      "(esqueca|esquece|ignore|ignora) tudo (o )?que (te|lhe) (disseram|foi dito|ensinaram|mandaram)",
      "(ignore|ignora|ignorar|ignorem|esqueca|esquece|esquecer|esquecam|desconsidere|desconsidera|descarte|descarta|nao siga|nao sigas|pare de seguir|deixe de seguir) (todas|todos|as|os|suas|tuas|estas|essas|de|qualquer|toda|cada|anteriores|previas) (~)?(instrucoes|instrucao|regras|diretrizes|orientacoes|ordens|normas|restricoes|prompts?|limitacoes|politicas|programacao)",
      "(instrucoes|regras|diretrizes|orientacoes) (anteriores|previas|do sistema|iniciais|originais) (~)?(nao (valem|se aplicam) mais|foram anuladas|estao anuladas)",
      "(agora voce e|agora tu es|voce agora e|voce nao e mais|tu ja nao es) (um|uma|o|a|meu|minha|livre|sem)",
      "(a partir de agora|de agora em diante|daqui em diante|a partir deste momento) (,)? ?(voce|tu) (e|es|sera|seras|vai|deve|deves|tem que|responde|ignora|aprova)",
      "(novas|verdadeiras|reais|atualizadas) (instrucoes|diretrizes|regras para voce|ordens)( do sistema)?",
      "(modo desenvolvedor|modo programador|modo administrador|modo depuracao|modo manutencao|modo sem restricoes|modo deus)",
      "(aja|age|comporte se|comporta te) como (se fosse )?(um |uma |o |a )?(~)?(ia|assistente|administrador|admin|desenvolvedor|sistema|dono|gerente|bot) ",
      "(finja|finge|simule|simula) (ser|que e|que es)",
      "(sem|nao precisa de|nao e preciso) (a )?(aprovacao|autorizacao|verificacao|revisao|escalar|consultar|perguntar) (de |a |ao |com )?(um |uma |o |a |seu |teu )?(humano|gerente|supervisor|responsavel|colega)?",
      "(nao encaminhe|nao encaminhes|nao transfira|nao transfiras|nao escale|nao passe) (isto |este caso |o meu caso )?(para|a|ao) (um |uma |o |a )?(humano|pessoa|gerente|supervisor|responsavel|atendente humano)",
      "(pule|salte|evite|desative|contorne) (a |as |o |os |toda )?(aprovacao|autorizacao|verificacao|revisao|escalacao|politica|regras|filtros?|seguranca)",
      "(reembolse|reembolsa|aprove|aprova|conceda|concede) (sempre|automaticamente|sem condicoes|sem verificar|sem perguntar)",
    ],
  },
  {
    code: "instruction-override",
    language: "pl",
    patterns: [
      "(zignoruj|ignoruj|zignorujcie|zapomnij|zapomnijcie|pomin|olej|nie stosuj sie do|przestan stosowac) (o )?(wszystkie|wszystkich|wszystkie swoje|poprzednie|poprzednich|wczesniejsze|wczesniejszych|swoje|swoich|twoje|twoich|dotychczasowe|dotychczasowych|systemowe|systemowych|te|tych) (~)?(instrukcje|instrukcjach|instrukcji|zasady|zasadach|polecenia|poleceniach|polecen|regul|reguly|regulach|wytyczne|wytycznych|ograniczenia)",
      "(od teraz|od tej chwili|od dzis) (jestes|masz|musisz|bedziesz|odpowiadasz|ignorujesz)",
      "(teraz jestes|nie jestes juz) (a |an |asystentem|administratorem|wolny|bez)",
      "(nowe|prawdziwe|zaktualizowane) (instrukcje|polecenia|wytyczne)",
      "(tryb dewelopera|tryb programisty|tryb administratora|tryb debugowania|tryb bez ograniczen)",
      "(bez|nie potrzeba) (zgody|zatwierdzenia|weryfikacji|eskalacji|pytania) (kierownika|czlowieka|przelozonego|menedzera)?",
      "(nie przekazuj|nie eskaluj) (tego |sprawy )?(do )?(czlowieka|kierownika|przelozonego|konsultanta)",
    ],
  },
  {
    code: "instruction-override",
    language: "tr",
    patterns: [
      "(onceki|tum|butun|eski|sistem|verilen|mevcut) (~)?(talimatlari|talimatlarini|talimatlar|kurallari|kurallarini|kurallar|yonergeleri|yonergelerini|komutlari|komutlarini|direktifleri) (~)?(yok say|yoksay|gormezden gel|unut|dikkate alma|iptal et|atla|uygulama)",
      "(artik sen|sen artik|bundan sonra sen|bundan boyle sen) (bir|benim|kisitlamasiz|ozgur|yonetici)",
      "(bundan sonra|bundan boyle|simdiden sonra|su andan itibaren) (sen|sadece|her zaman|hep)",
      "(yeni|gercek|guncel) (talimatlar|talimatlarin|kurallarin|yonergeler)",
      "(gelistirici modu|gelistirici moduna|yonetici modu|hata ayiklama modu|kisitlamasiz mod)",
      "(onay|insan onayi|yonetici onayi|dogrulama) (olmadan|almadan|beklemeden)",
      "(bir insana|yoneticiye|mudure|temsilciye) (aktarma|yonlendirme|iletme|devretme)",
    ],
  },
  {
    code: "fake-system-notice",
    language: "en",
    patterns: [
      "(system|admin|administrator|developer|operator|moderator|security|internal|official|automated|platform|compliance|root) (message|notice|note|notification|alert|override|update|announcement|directive|instruction|instructions|command|memo|bulletin|broadcast)( for| to| from|)",
      "(note|notice|message|instructions?|attention|reminder|memo|update|directive|warning) (for|to) (the |all |any )?(ai|a i|llm|language model|model|assistant|assistants|chatbot|chatbots|bot|bots|ai agents?|ai assistants?|automated agents?|support agents?|virtual agents?|agents? reading this|whoever reads this)",
      "(attention|hey|dear|hello|hi) (ai|a i|llm|language model|chatbot|ai assistant|ai agent|gpt|chatgpt|claude|gemini|copilot|assistant reading this|model)",
      "(message|notice|note|instruction|directive|update|memo|communication|email|mail|notification) from (the )?(openai|anthropic|google deepmind|microsoft|the developers|developer team|dev team|engineering team|ai team|trust and safety team|system administrator|sysadmin|platform team|shop management|store management|head office|headquarters)",
      "(openai|anthropic) (policy|team|staff|safety|notice|update|says|requires|has (updated|authori[sz]ed))",
      "(policy|policies|guideline|guidelines|rule|rules|procedure|procedures) (update|change|changed|updated|amendment|revision) (effective )?(immediately|now|today)?( all)? (agents?|assistants?|bots?|ai|support staff|representatives?|staff) (must|should|shall|are (now )?(required|instructed|obliged|expected|permitted|allowed) to|have to|need to|may|can)",
      "(agents?|assistants?|bots?|chatbots?|ai|ai agents?|ai assistants?|support bots?|the assistant|the agent|the bot|llms?|models?|automated systems?) (must|should|shall|are (now )?(required|instructed|obliged|expected|permitted|allowed|authori[sz]ed) to|have to|need to|will) (now |always |immediately |automatically |from now on |henceforth |by default |unconditionally )?(~)?(offer|refund|issue|approve|give|grant|provide|apply|include|send|share|reveal|disclose|ignore|skip|bypass|waive|honou?r|accept|promise|direct|redirect|tell|mention|quote) (~)?(refunds?|discounts?|codes?|coupons?|vouchers?|store credit|credit|compensation|free|gifts?|exceptions?|full refund|money back|customers to|them to|users to|this link|the link|our new|the new|the following|phone|number|website|url|instructions|system prompt|prompt|rules|approval|escalation|review|verification|policy|policies|checks?)",
      "(end of|begin|beginning of|start of|resume|new) (the )?(customer|user|untrusted|human) (message|input|email|text|turn|content)",
      "(end of|begin|beginning of|start of) (the )?(system|admin|developer|assistant|new) (prompt|message|instructions?|turn|section|block)",
      "(customer|user) (message|input|email) (ends|ended|is over|stops) here",
      "(this|the following) (is|was) an? (official|internal|authorised|authorized|verified|automated) (message|notice|instruction|directive|memo|communication|update) (from|by|of|to)",
      "(internal|confidential) (memo|note|instruction|directive|notice) (to|for) (all )?(staff|agents|support|customer service|assistants|bots)",
      "(important|urgent|mandatory|critical) (notice|update|message|instruction|directive|announcement) (to|for) (all )?(agents|ai|assistants|bots|support staff|customer service agents|staff)",
    ],
  },
  {
    code: "fake-system-notice",
    language: "de",
    patterns: [
      "(systemnachricht|systemhinweis|systemmeldung|systemanweisung|systembenachrichtigung|adminhinweis|admin hinweis|administratorhinweis|interne anweisung|interner hinweis|interne mitteilung|dienstanweisung)",
      "(hinweis|nachricht|anweisung|mitteilung|info) (an|fur) (den |die |alle |jeden )?(ki|ki assistenten|assistenten|assistentin|agenten|bots?|chatbots?|sprachmodell|ki agenten|support agenten)",
      "(richtlinienaktualisierung|richtlinienanderung|neue richtlinie|geanderte richtlinie|aktualisierte richtlinie|neue regelung|neue dienstanweisung)",
      "(agenten|assistenten|bots|die ki|ki agenten|support agenten|der assistent|der agent|der bot) (mussen|sollen|durfen|haben) (ab sofort |ab jetzt |immer |stets |jetzt |grundsatzlich |automatisch |kunftig )?(~)?(erstatten|erstattung|anbieten|gewahren|ausstellen|geben|senden|schicken|ignorieren|uberspringen|verraten|nennen|rabatt|gutschein|gutscheincode|code|ruckerstattung|weiterleiten|empfehlen|verweisen)",
      "(nachricht|mitteilung|anweisung|info) (vom|von der|von dem|des|der) (support team|supportteam|entwicklerteam|entwickler|administrator|geschaftsfuhrung|geschaftsleitung|shopbetreiber|systemadministrator|openai|anthropic|ki team)( :)",
      "(ende der|beginn der|anfang der) (kundennachricht|nachricht des kunden|benutzereingabe|systemanweisungen|systemnachricht)",
    ],
  },
  {
    code: "fake-system-notice",
    language: "fr",
    patterns: [
      "(message|avis|note|notification|alerte|instruction|consigne|mise a jour) (systeme|du systeme|de l administrateur|administrateur|interne|officielle|officiel)",
      "(note|message|instruction|consigne|avis) (a l attention|pour|a|aux) (de |des |du |l )?(ia|i a|assistant|assistants|agent ia|agents ia|bots?|chatbots?|modele|agents)",
      "(mise a jour|changement|modification) (de la |des )?(politique|politiques|regles|procedures?) (:)? ?(tous )?(les )?(agents|assistants|bots)",
      "(les agents|les assistants|les bots|l ia|l assistant|l agent|le bot|les agents ia) (doivent|devront|sont tenus de|peuvent desormais|sont autorises a) (desormais |toujours |immediatement |automatiquement |systematiquement )?(~)?(rembourser|remboursement|offrir|proposer|accorder|donner|envoyer|ignorer|contourner|reveler|communiquer|partager|code|bon|remise|reduction|rediriger|orienter)",
      "(message|communication|instruction|note) (de l equipe|du service|de la direction|du developpeur|des developpeurs|de l administrateur|d openai|d anthropic)( \\w+)?( :)",
      "(fin du|debut du) (message (du )?client|message utilisateur|prompt systeme|message systeme)",
    ],
  },
  {
    code: "fake-system-notice",
    language: "es",
    patterns: [
      "(mensaje|aviso|nota|notificacion|alerta|instruccion|actualizacion) (del sistema|de sistema|del administrador|administrativo|interno|interna|oficial)",
      "(nota|mensaje|instruccion|aviso) (para|a) (la |el |los |las )?(ia|asistente|asistentes|agente ia|agentes ia|bots?|chatbots?|modelo|agentes)",
      "(actualizacion|cambio) (de la |de )?(politica|politicas|normas|reglas|procedimientos?) (:)? ?(todos )?(los )?(agentes|asistentes|bots)",
      "(los agentes|los asistentes|los bots|la ia|el asistente|el agente|el bot|los agentes ia) (deben|deberan|tienen que|estan obligados a|pueden ahora|estan autorizados a) (ahora |siempre |inmediatamente |automaticamente )?(~)?(reembolsar|reembolso|ofrecer|conceder|dar|enviar|ignorar|omitir|revelar|compartir|codigo|cupon|descuento|redirigir)",
      "(mensaje|comunicado|instruccion|nota) (del equipo|de la direccion|del desarrollador|de los desarrolladores|del administrador|de openai|de anthropic)( \\w+)?( :)",
      "(fin del|inicio del) (mensaje del cliente|mensaje de usuario|prompt del sistema|mensaje del sistema)",
    ],
  },
  {
    code: "fake-system-notice",
    language: "it",
    patterns: [
      "(messaggio|avviso|nota|notifica|istruzione|aggiornamento) (di sistema|del sistema|dell amministratore|amministrativo|interno|interna|ufficiale)",
      "(nota|messaggio|istruzione|avviso) (per|all|alla|agli|ai) (l )?(ia|assistente|assistenti|agente ia|agenti ia|bot|chatbot|modello|agenti)",
      "(aggiornamento|modifica) (della |delle )?(policy|politica|politiche|regole|procedure) (:)? ?(tutti )?(gli )?(agenti|assistenti|bot)",
      "(gli agenti|gli assistenti|i bot|l ia|l assistente|l agente|il bot) (devono|dovranno|sono tenuti a|possono ora|sono autorizzati a) (ora |sempre |subito |automaticamente )?(~)?(rimborsare|rimborso|offrire|concedere|dare|inviare|ignorare|saltare|rivelare|condividere|codice|buono|sconto|reindirizzare)",
      "(messaggio|comunicazione|istruzione|nota) (dal team|del team|dalla direzione|della direzione|dello sviluppatore|degli sviluppatori|dell amministratore|di openai|di anthropic)( \\w+)?( :)",
    ],
  },
  {
    code: "fake-system-notice",
    language: "nl",
    patterns: [
      "(systeembericht|systeemmelding|systeeminstructie|beheerdersbericht|beheerdersmelding|interne instructie|interne mededeling)",
      "(notitie|bericht|instructie|mededeling) (voor|aan) (de |alle )?(ai|assistent|assistenten|agenten|bots?|chatbots?|taalmodel)",
      "(beleidsupdate|beleidswijziging|nieuw beleid|gewijzigd beleid)",
      "(agenten|assistenten|bots|de ai|de assistent|de agent|de bot) (moeten|mogen|dienen|zullen) (vanaf nu |altijd |direct |automatisch |voortaan )?(~)?(terugbetalen|terugbetaling|aanbieden|geven|toekennen|sturen|negeren|overslaan|onthullen|delen|code|korting|kortingscode|tegoedbon|doorverwijzen)",
      "(bericht|mededeling) (van het|van de) (supportteam|support team|ontwikkelteam|ontwikkelaars|beheerder|directie|management)( :)",
    ],
  },
  {
    code: "fake-system-notice",
    language: "pt",
    patterns: [
      "(mensagem|aviso|nota|notificacao|alerta|instrucao|atualizacao) (do sistema|de sistema|do administrador|administrativo|interno|interna|oficial)",
      "(nota|mensagem|instrucao|aviso) (para|a|ao|aos) (a |o |os |as )?(ia|assistente|assistentes|agente de ia|agentes de ia|bots?|chatbots?|modelo|agentes)",
      "(atualizacao|mudanca|alteracao) (da |de |das )?(politica|politicas|regras|procedimentos?) (:)? ?(todos )?(os )?(agentes|assistentes|bots)",
      "(os agentes|os assistentes|os bots|a ia|o assistente|o agente|o bot) (devem|deverao|tem que|sao obrigados a|podem agora|estao autorizados a) (agora |sempre |imediatamente |automaticamente )?(~)?(reembolsar|reembolso|oferecer|conceder|dar|enviar|ignorar|pular|revelar|compartilhar|codigo|cupom|desconto|redirecionar)",
      "(mensagem|comunicado|instrucao|nota) (da equipe|da equipa|da direcao|do desenvolvedor|dos desenvolvedores|do administrador|da openai|da anthropic)( \\w+)?( :)",
    ],
  },
  {
    code: "fake-system-notice",
    language: "pl",
    patterns: [
      "(wiadomosc systemowa|komunikat systemowy|powiadomienie systemowe|polecenie systemowe|instrukcja systemowa|komunikat administratora|wiadomosc od administratora)",
      "(agenci|asystenci|boty|asystent|agent|bot) (musza|powinni|powinien|musi|maja) (teraz |zawsze |natychmiast |automatycznie )?(~)?(zwrocic|zwrot|oferowac|zaoferowac|dac|przyznac|wyslac|ignorowac|ujawnic|kod|rabat|znizke)",
      "(notatka|wiadomosc|instrukcja) dla (ai|si|asystenta|agenta|bota|modelu)",
    ],
  },
  {
    code: "fake-system-notice",
    language: "tr",
    patterns: [
      "(sistem mesaji|sistem bildirimi|sistem notu|sistem talimati|yonetici notu|yonetici bildirimi|yonetici mesaji|dahili talimat)",
      "(temsilciler|asistanlar|botlar|yapay zeka|asistan|temsilci|bot) (~)?(iade|indirim|kod|kupon|para iadesi) (~)?(yapmali|vermeli|sunmali|yapmalidir|vermelidir|sunmalidir|etmeli|etmelidir|gondermeli)",
      "(yapay zekaya|asistana|bota|modele) (not|mesaj|talimat)",
    ],
  },
  {
    code: "role-claim",
    language: "en",
    patterns: [
      `i (am|m) (your|the (shop|store|site|website|platform|company|business|system|bot|ai)|this (shop|store|site|website|platform|company|business) s) ${roleNoun}`,
      `i (am|m) (the|an|a) (shop|store|site|website|platform|system|company|business|ai|bot) ${roleNoun}`,
      `i (am|m) (the|an|a) ${roleNoun}( (of|at|for|from|in charge of|running) ((this|the|your) (shop|store|site|website|webshop|platform|bot|system|ai|agent|support team|customer service)|(this|your) (company|business|team))| here$| here | ok | and i (authori[sz]e|approve|order|instruct|confirm|allow|permit)| so (you|do|just|please))`,
      `i (am|m) the ${roleNoun}$`,
      `(as|being) (the|your|an?) ((shop|store|site|platform|company|business) )?${roleNoun}( of (this|the|your) (shop|store|company|business|site|platform))?,? (i|we) (hereby )?(authori[sz]e|approve|order|instruct|confirm|allow|permit|grant|override|direct|command|tell you|require|demand)`,
      `(as|being) (the|your) (shop|store|site|platform) ${roleNoun}`,
      "i (work|m working|am working) (for|at|in) (this|your|the) (shop|store|company|support team|customer service|head office|it department|warehouse|returns department|finance department)",
      "(this is|it s|its) (the|your) (shop|store|site|platform) (owner|admin|administrator|manager|management|developer)",
      "(this is|it s|its) (your|the) (developer|developers|admin|administrator|boss|manager|supervisor|creator|operator) (speaking|here|writing)",
      "(pre approved|preapproved|pre authori[sz]ed|preauthori[sz]ed|pre cleared|precleared|pre validated)",
      "(approved|authori[sz]ed|signed off|cleared|okayed|ok d|greenlit|green lit|sanctioned|confirmed|agreed) (by|from|with) (the |your |our |my |a )?(management|manager|managers|owner|shop owner|store owner|admin|administrator|supervisor|supervisors|ceo|cfo|finance|finance team|head office|headquarters|hq|boss|director|team lead|legal|legal team|your boss|your supervisor|your manager|support lead|head of support|compliance)",
      "(management|the manager|your manager|the owner|the shop owner|the store owner|your supervisor|the supervisor|the admin|your boss|head office|the ceo|finance) (has|have) (already )?(approved|authori[sz]ed|signed off|cleared|okayed|agreed to|confirmed) (this|the|my|a|it)",
      "i (hereby )?(authori[sz]e|approve|grant|sanction) (this|the|a|an|my|your|you to)? ?(full |partial |immediate )?(refund|refunds|discount|exception|override|compensation|store credit|voucher|code|payout|reimbursement|replacement|to refund|to issue|to approve|to give|to grant|to skip|to bypass|to ignore|to override)",
      "i (have|ve got|got|possess|hold) (full |special |elevated |staff |admin |administrator |owner |developer |root |superuser |manager |override )(rights|access|privileges|permissions|permission|authority|clearance|credentials)",
      "(override|admin|administrator|staff|employee|master|manager|supervisor|internal|authori[sz]ation|approval) (code|token|key|password|pin|passcode|id) (is )?[a-z0-9]*[0-9][a-z0-9]*",
      "(my|this) (account|user|profile|customer account) (is|has been) (verified|flagged|marked|whitelisted|registered) as (an? )?(vip|admin|administrator|staff|employee|owner|trusted|priority|privileged)",
      "(i was|i ve been|i have been) (promised|guaranteed|told|assured) (by|from) (the |your |a )?(manager|owner|management|supervisor|ceo|admin|head office)",
    ],
  },
  {
    code: "role-claim",
    language: "de",
    patterns: [
      "ich bin (der|die|ihr|dein|euer|eure|ihre|deine) (shop|laden|online shop)?(inhaber|inhaberin|besitzer|besitzerin|betreiber|betreiberin|geschaftsfuhrer|geschaftsfuhrerin|administrator|administratorin|admin|entwickler|entwicklerin|chef|chefin|vorgesetzter|vorgesetzte|filialleiter|filialleiterin)( (des|dieses|von diesem|von dem) (shops?|ladens?|geschafts|unternehmens|online shops|bots|systems)| hier|$| und (genehmige|autorisiere|erlaube|bestatige|ordne))",
      "ich bin (der|die|ihr|dein|euer) (shopinhaber|shopinhaberin|ladeninhaber|ladeninhaberin|shopbetreiber|shopbetreiberin|shopbesitzer|ladenbesitzer|systemadministrator|shop admin|shopadmin)",
      "(als|in meiner funktion als|in meiner rolle als) (der |die |ihr |dein )?(shop|laden)?(inhaber|inhaberin|besitzer|betreiber|geschaftsfuhrer|geschaftsfuhrerin|administrator|admin|entwickler|chef|chefin|vorgesetzter|filialleiter|shopinhaber|ladeninhaber)( (des|dieses) (shops|ladens|geschafts))? (genehmige|autorisiere|erlaube|bestatige|ordne|weise|gestatte) ich",
      "(vorab genehmigt|vorabgenehmigt|vorab freigegeben|bereits freigegeben|vorab autorisiert|vorautorisiert)",
      "(von|durch) (der|die|dem|den|ihrer|ihrem|meinem|meiner)? ?(geschaftsleitung|geschaftsfuhrung|management|chef|chefin|vorgesetzten|inhaber|inhaberin|filialleitung|leitung|shopinhaber|ladeninhaber|buchhaltung|zentrale) (bereits |schon )?(genehmigt|freigegeben|autorisiert|bestatigt|abgesegnet|erlaubt)",
      "(die geschaftsfuhrung|die geschaftsleitung|das management|der chef|die chefin|der inhaber|die inhaberin|ihr vorgesetzter|ihre vorgesetzte) (hat|haben) (das|dies|die erstattung|die ruckerstattung|den rabatt|es)? ?(bereits |schon )?(genehmigt|freigegeben|autorisiert|bestatigt|abgesegnet)",
      "ich (arbeite|bin angestellt|bin beschaftigt) (bei|in) (ihrem|eurem|diesem|dem) (shop|laden|unternehmen|geschaft|support|kundenservice|lager)",
      "(ich habe|mit meinen) (admin|administrator|entwickler|inhaber|mitarbeiter|sonder)(rechte|rechten|zugang|berechtigung|berechtigungen)",
    ],
  },
  {
    code: "role-claim",
    language: "fr",
    patterns: [
      "je suis (le|la|votre|ton|ta|l) (proprietaire|gerant|gerante|administrateur|administratrice|admin|developpeur|developpeuse|directeur|directrice|responsable|patron|patronne|createur|superviseur)( (de la|du|de cette|de ce|de votre) (boutique|magasin|site|societe|entreprise|bot|systeme)| ici|$| et j (autorise|approuve|ordonne|confirme))",
      "(en tant que|en qualite de|comme) (le |la |votre |l )?(proprietaire|gerant|gerante|administrateur|admin|developpeur|directeur|directrice|responsable|patron)( (de la|du|de cette) (boutique|magasin|site|societe))?(,)? (j autorise|je valide|j approuve|je confirme|je vous autorise|je vous ordonne|je vous demande|j ordonne)",
      "(pre approuve|preapprouve|pre approuvee|preapprouvee|pre autorise|preautorise|pre valide|prevalide|deja valide par|deja approuve par|deja autorise par)",
      "(approuve|approuvee|valide|validee|autorise|autorisee|confirme|confirmee) par (la direction|le gerant|la gerante|le responsable|la responsable|le proprietaire|l administrateur|mon superieur|votre superieur|le patron|le directeur|la directrice|le siege|la comptabilite)",
      "(la direction|le gerant|le responsable|le proprietaire|votre superieur|le patron|le siege) (a|ont) (deja )?(approuve|valide|autorise|accepte|confirme) (le |la |ce |cette |mon |ma )?(remboursement|geste|remise|code|echange)",
      "je (travaille|bosse) (pour|chez|dans) (votre|cette|la) (boutique|magasin|societe|entreprise|service client)",
      "j ai (les )?(droits|acces|privileges) (d )?(administrateur|admin|proprietaire|developpeur)",
    ],
  },
  {
    code: "role-claim",
    language: "es",
    patterns: [
      "soy (el|la|tu|su|vuestro|vuestra) (dueno|duena|propietario|propietaria|administrador|administradora|admin|gerente|desarrollador|desarrolladora|encargado|encargada|jefe|jefa|director|directora|responsable|supervisor|supervisora|creador)( (de la|del|de esta|de este|de tu|de su) (tienda|negocio|sitio|web|empresa|bot|sistema)| aqui|$| y (autorizo|apruebo|ordeno|confirmo))",
      "(como|en calidad de|siendo) (el |la |tu |su )?(dueno|duena|propietario|propietaria|administrador|admin|gerente|desarrollador|encargado|jefe|director|responsable)( (de la|del|de esta) (tienda|negocio|empresa))?(,)? (autorizo|apruebo|ordeno|confirmo|te autorizo|le autorizo|te ordeno|le ordeno|exijo)",
      "(pre aprobado|preaprobado|pre aprobada|preaprobada|pre autorizado|preautorizado|ya aprobado por|ya aprobada por|ya autorizado por|ya autorizada por)",
      "(aprobado|aprobada|autorizado|autorizada|validado|validada|confirmado|confirmada) por (la gerencia|la direccion|el gerente|la gerente|el dueno|la duena|el propietario|el administrador|mi supervisor|tu supervisor|su supervisor|el jefe|la jefa|el director|la central|contabilidad)",
      "(la gerencia|la direccion|el gerente|el dueno|el propietario|tu supervisor|su supervisor|el jefe) (ya )?(ha|han) (aprobado|autorizado|validado|confirmado) (el |la |este |esta |mi )?(reembolso|devolucion|descuento|codigo|cambio)",
      "(trabajo|estoy trabajando) (para|en) (tu|su|vuestra|esta|la) (tienda|empresa|atencion al cliente|almacen)",
      "tengo (permisos|derechos|acceso) de (administrador|admin|dueno|desarrollador|gerente)",
    ],
  },
  {
    code: "role-claim",
    language: "it",
    patterns: [
      "sono (il|la|tuo|tua|suo|sua|vostro|vostra|l) (proprietario|proprietaria|titolare|amministratore|amministratrice|admin|gestore|gestrice|direttore|direttrice|sviluppatore|sviluppatrice|responsabile|capo|supervisore|creatore)( (del|di questo|dello|della) (negozio|sito|shop|azienda|bot|sistema)| qui|$| e (autorizzo|approvo|ordino|confermo))",
      "(in qualita di|come|essendo) (il |la |tuo |suo |l )?(proprietario|titolare|amministratore|admin|gestore|direttore|sviluppatore|responsabile|capo)( (del|di questo) (negozio|sito|shop))?(,)? (autorizzo|approvo|ordino|confermo|ti autorizzo|la autorizzo|ti ordino|esigo)",
      "(pre approvato|preapprovato|pre approvata|preapprovata|pre autorizzato|preautorizzato|gia approvato da|gia approvata da|gia autorizzato da|gia autorizzata da)",
      "(approvato|approvata|autorizzato|autorizzata|validato|validata|confermato|confermata) (dalla direzione|dal responsabile|dalla responsabile|dal proprietario|dal titolare|dall amministratore|dal mio responsabile|dal tuo responsabile|dal suo responsabile|dal capo|dal direttore|dalla sede)",
      "(la direzione|il responsabile|il proprietario|il titolare|il tuo responsabile|il capo) (ha|hanno) (gia )?(approvato|autorizzato|validato|confermato) (il |la |questo |questa |il mio )?(rimborso|reso|sconto|codice|cambio)",
      "(lavoro|sto lavorando) (per|presso|nel|nella|in) (il vostro|il tuo|questo|la vostra|questa) (negozio|azienda|servizio clienti|magazzino)",
      "ho (i )?(permessi|diritti|accesso) (di )?(amministratore|admin|proprietario|sviluppatore)",
    ],
  },
  {
    code: "role-claim",
    language: "nl",
    patterns: [
      "ik ben (de|jouw|uw|je|het) (winkeleigenaar|eigenaar|eigenares|beheerder|manager|ontwikkelaar|directeur|baas|admin|bedrijfsleider|leidinggevende|supervisor|maker)( (van|bij) (de|deze|jullie|uw) (winkel|webshop|shop|zaak|site|bot)| hier|$| en (keur|geef|autoriseer))",
      "(als|in de rol van) (de |uw |je )?(winkeleigenaar|eigenaar|beheerder|manager|directeur|bedrijfsleider|admin)( van (de|deze) (winkel|webshop))?(,)? (keur ik|geef ik|autoriseer ik|beveel ik|bevestig ik|geef ik toestemming)",
      "(vooraf goedgekeurd|voorgoedgekeurd|al goedgekeurd door|reeds goedgekeurd door|vooraf geautoriseerd)",
      "(goedgekeurd|geautoriseerd|bevestigd|akkoord gegeven) (door|van) (het management|de manager|de eigenaar|de directie|de beheerder|mijn leidinggevende|uw leidinggevende|je leidinggevende|de baas|het hoofdkantoor)",
      "(het management|de manager|de eigenaar|de directie|je leidinggevende|uw leidinggevende) (heeft|hebben) (de |het |deze |mijn )?(terugbetaling|korting|code|uitzondering|retour)? ?(al )?(goedgekeurd|geautoriseerd|bevestigd)",
      "ik werk (voor|bij) (jullie|uw|deze|de) (winkel|webshop|zaak|klantenservice|bedrijf|magazijn)",
    ],
  },
  {
    code: "role-claim",
    language: "pt",
    patterns: [
      "sou (o|a|seu|sua|teu|tua) (dono|dona|proprietario|proprietaria|administrador|administradora|admin|gerente|desenvolvedor|desenvolvedora|responsavel|chefe|diretor|diretora|supervisor|supervisora|criador)( (da|desta|do|deste) (loja|empresa|site|bot|sistema|negocio)| aqui|$| e (autorizo|aprovo|ordeno|confirmo))",
      "(como|na qualidade de|sendo) (o |a |seu |sua )?(dono|dona|proprietario|proprietaria|administrador|admin|gerente|desenvolvedor|responsavel|chefe|diretor)( (da|desta) (loja|empresa))?(,)? (autorizo|aprovo|ordeno|confirmo|te autorizo|o autorizo|lhe autorizo|exijo)",
      "(pre aprovado|preaprovado|pre aprovada|preaprovada|pre autorizado|preautorizado|ja aprovado por|ja aprovada por|ja autorizado por|ja autorizada por)",
      "(aprovado|aprovada|autorizado|autorizada|validado|validada|confirmado|confirmada) (pela gerencia|pela direcao|pela administracao|pelo gerente|pela gerente|pelo dono|pela dona|pelo proprietario|pelo administrador|pelo meu supervisor|pelo seu supervisor|pelo chefe|pelo diretor|pela sede)",
      "(a gerencia|a direcao|o gerente|o dono|o proprietario|o seu supervisor|o chefe) (ja )?(aprovou|autorizou|validou|confirmou) (o |a |este |esta |meu |minha )?(reembolso|devolucao|desconto|codigo|troca)",
      "(trabalho|estou trabalhando|estou a trabalhar) (para|na|em|no) (sua|vossa|esta|a) (loja|empresa|atendimento|armazem)",
    ],
  },
  {
    code: "role-claim",
    language: "pl",
    patterns: [
      "jestem (wlascicielem|wlascicielka|administratorem|administratorka|kierownikiem|kierowniczka|menedzerem|managerem|programista|szefem|szefowa|tworca|deweloperem)( (tego |waszego |twojego )?(sklepu|firmy|bota|systemu)| tutaj|$| i (zatwierdzam|autoryzuje|polecam))",
      "(jako) (wlasciciel|administrator|kierownik|menedzer|szef) (sklepu )?(,)? ?(zatwierdzam|autoryzuje|polecam|nakazuje|zezwalam)",
      "(zatwierdzone|zatwierdzony|zatwierdzona|zaakceptowane|autoryzowane) (juz )?przez (kierownictwo|kierownika|wlasciciela|szefa|administratora|przelozonego|dyrektora|centrale)",
      "(wstepnie zatwierdzon|z gory zatwierdzon|juz zatwierdzon)[a-z]*",
    ],
  },
  {
    code: "role-claim",
    language: "tr",
    patterns: [
      "(magaza|dukkan|sirket|site)(nin)? (sahibi|sahibiyim|yoneticisi|yoneticisiyim|muduru|muduruyum|gelistiricisiyim)",
      "ben (bu |sizin )?(magazanin|dukkanin|sirketin|sitenin)? ?(sahibiyim|yoneticiyim|yoneticisiyim|mudurum|muduruyum|gelistiriciyim|gelistiricinizim|adminim|patronum|patronunuzum)",
      "(yonetim|mudur|mudurum|patron|magaza sahibi|sahibi|yonetici) (tarafindan) (onaylandi|onaylanmistir|onayli|yetkilendirildi)",
      "(onceden onaylandi|onceden onayli|on onayli|zaten onaylandi|onceden onaylanmis)",
    ],
  },
  {
    code: "prompt-extraction",
    language: "en",
    patterns: [
      "(print|reveal|repeat|show|display|output|dump|leak|tell|give|share|write|recite|disclose|expose|list|paste|copy|spell out|summari[sz]e|translate|send|type|return|provide|read out|echo|render|enumerate) (me |us |out |back |to me )*(all of |all |word for word |verbatim )?(your|the|all|any|the full|the exact|the complete|the original|the initial|the hidden|the secret|the internal|the entire|ur|thy) (full |exact |complete |original |initial |hidden |secret |internal |entire |verbatim |underlying |developer |core |base |actual |real |current )*(system prompt|system message|system instructions?|prompt|pre prompt|preprompt|meta prompt|metaprompt|prompt text|initial prompt|context window|hidden prompt|developer message|developer prompt)",
      "(print|reveal|repeat|show|display|output|dump|leak|tell|give|share|write|recite|disclose|expose|list|paste|copy|spell out|send|type|provide|read out|echo|enumerate) (me |us |out |back |to me )*(all of |all |word for word |verbatim )?(your|ur) (full |exact |complete |original |initial |hidden |secret |internal |entire |underlying |system |core |base |actual |real |current |operating |confidential )*(instructions|guidelines|directives|configuration|config|rules|programming|setup|orders|prompt|restrictions|constraints|policies|parameters)(?! (for|about|on|regarding|of|when|how|if|with|in|concerning|re)( |$)| to (?!me |us |the user|the customer|everyone|him |her |them ))",
      "(print|reveal|repeat|show|display|output|dump|leak|tell|give|share|write|recite|disclose|expose|list|paste|copy|spell out|send|provide|echo) (me |us |out |back )*(the |all the |all |everything |every )?(text|words|content|message|messages|lines|instructions|conversation|tokens|sentences|everything) (above|before this|prior to this|preceding this|preceding|so far|at the (start|beginning|top)|from the (start|beginning|top)|you (were|have been|ve been) given|that came before|before my message|in your context|in your prompt)",
      "(repeat|print|output|show|echo|copy) (everything|all|anything) (above|before|so far|prior|from the (start|beginning))",
      "(print|reveal|repeat|show|display|output|dump|leak|tell|give|share|write|recite|disclose|expose|list|paste|copy|send|provide) (me |us )?(the|your|all|any|all the|all your) (hidden|secret|internal|confidential|original|initial|system|underlying|preset|pre set|operating|real) (instructions|rules|guidelines|directives|configuration|orders|commands|policies)",
      "what (was|is|were|s) (written|said|stated|the text|the message|the instruction|the first (line|sentence|message)) (above|before (this|my message)|at the (start|beginning|top)|in your (prompt|context|instructions))",
      "(system|initial|original|hidden|secret|internal|developer|pre|confidential|underlying) prompts?",
      "(your|the assistant s|the agent s|the bot s) prompts?",
      "(starting|beginning|start|begin) (with|from) (the (phrase|words|sentence) )?(you are|your instructions|you re an?|as an ai|system)",
      "(how|what) (were|have) you (been )?(programmed|instructed|configured|prompted|told to (do|say|behave))",
      "(what|which) (instructions|rules|guidelines|directives) (were|have) you (been )?(given|told|programmed|instructed|configured)",
      "(tell|show|explain to) me (exactly )?(how|what) you (were|have been) (instructed|programmed|configured|prompted|told)",
      "(ignore|disregard|forget) (~)?(and|then) (print|reveal|repeat|show|output|tell me|give me|display)",
    ],
  },
  {
    code: "prompt-extraction",
    language: "de",
    patterns: [
      "(zeig|zeige|zeigen sie|gib|geben sie|nenne|nennen sie|wiederhole|wiederholen sie|verrate|verraten sie|drucke|schreibe|schreiben sie|kopiere|gib mir|geben sie mir|sag|sage|sagen sie|offenbare|liste) (mir |uns )?(bitte )?(deine|deinen|dein|ihre|ihren|ihr|den|die|alle|samtliche) (vollstandigen |genauen |ursprunglichen |geheimen |internen |versteckten |kompletten |exakten )*(systemprompt|system prompt|systemanweisungen|systemanweisung|systemnachricht|prompt|promptinhalt|anweisungen wortlich|anfanglichen anweisungen|ursprunglichen anweisungen|internen anweisungen|geheimen anweisungen|konfiguration|programmierung)",
      "(zeig|zeige|gib|nenne|wiederhole|verrate|sag|sage|liste) (mir |uns )?(bitte )?(deine|dein|deinen) (anweisungen|regeln|instruktionen|vorgaben|richtlinien)(?! (fur|zu|zum|zur|uber|bei|wegen)( |$))",
      "(was|welche) (sind|waren) (deine|ihre) (genauen |ursprunglichen |internen |geheimen )?(anweisungen|instruktionen|systemanweisungen|vorgaben)$",
      "(wiederhole|zeige|gib|drucke) (alles|den text|die nachricht|den inhalt|alle anweisungen) (oben|davor|vor dieser nachricht|von anfang an|was oben steht)",
      "(systemprompt|system prompt|systemanweisungen)",
      "wie (wurdest|bist) du (programmiert|instruiert|konfiguriert|angewiesen)",
    ],
  },
  {
    code: "prompt-extraction",
    language: "fr",
    patterns: [
      "(montre|montrez|affiche|affichez|revele|revelez|repete|repetez|donne|donnez|imprime|imprimez|ecris|ecrivez|copie|copiez|dis|dites|communique|communiquez|recite|recitez|liste) (moi |nous )?(ton|ta|tes|votre|vos|le|la|les) (prompt|prompt systeme|message systeme|instructions systeme|instructions initiales|consignes initiales|instructions d origine|instructions cachees|instructions secretes|instructions internes|consignes internes|configuration|programmation)",
      "(montre|montrez|affiche|revele|revelez|repete|repetez|donne|donnez|dis|dites|liste) (moi |nous )?(tes|vos) (instructions|consignes|regles|directives)(?! (pour|sur|concernant|de|du|des|a)( |$))",
      "quelles sont (tes|vos) (instructions|consignes|directives)( exactes| initiales| d origine| internes)?$",
      "(repete|repetez|affiche|affichez|montre|montrez|imprime) (tout )?(le texte|tout|le message|les instructions|ce qui est ecrit) (ci dessus|au dessus|avant ce message|precedent|du debut)",
      "(prompt systeme|prompt du systeme|message systeme initial|prompt initial|prompt cache)",
      "comment (as tu|avez vous) ete (programme|configure|instruit)",
    ],
  },
  {
    code: "prompt-extraction",
    language: "es",
    patterns: [
      "(muestra|muestrame|muestre|muestreme|revela|revelame|revele|repite|repiteme|repita|dime|digame|imprime|imprima|escribe|escriba|copia|copie|ensename|ensene|comparte|comparta|enumera|lista) (me |nos )?(tu|tus|su|sus|el|la|las|los) (prompt|prompt del sistema|mensaje del sistema|instrucciones del sistema|instrucciones iniciales|instrucciones originales|instrucciones ocultas|instrucciones secretas|instrucciones internas|configuracion|programacion)",
      "(muestra|muestrame|revela|revelame|repite|dime|digame|enumera|lista) (me |nos )?(tus|sus) (instrucciones|reglas|directrices|indicaciones)(?! (para|sobre|de|del|acerca|respecto|a)( |$))",
      "cuales son (tus|sus) (instrucciones|directrices|indicaciones)( exactas| iniciales| originales| internas)?$",
      "(repite|muestra|imprime|escribe) (todo )?(el texto|todo|el mensaje|las instrucciones|lo que esta escrito) (de arriba|anterior|arriba|antes de este mensaje|desde el principio)",
      "(prompt del sistema|prompt de sistema|prompt inicial|prompt oculto|mensaje del sistema inicial)",
      "como (te|le) (han )?(programaron|programado|configuraron|configurado|instruyeron|instruido)",
    ],
  },
  {
    code: "prompt-extraction",
    language: "it",
    patterns: [
      "(mostra|mostrami|mostri|mi mostri|rivela|rivelami|riveli|ripeti|ripetimi|ripeta|dimmi|mi dica|stampa|stampi|scrivi|scriva|copia|copi|elenca|condividi) (mi |ci )?(il tuo|il suo|le tue|le sue|il|la|le|i tuoi) (prompt|prompt di sistema|messaggio di sistema|istruzioni di sistema|istruzioni iniziali|istruzioni originali|istruzioni nascoste|istruzioni segrete|istruzioni interne|configurazione|programmazione)",
      "(mostra|mostrami|rivela|ripeti|dimmi|elenca) (mi |ci )?(le tue|le sue) (istruzioni|regole|direttive|indicazioni)(?! (per|su|sul|sulla|riguardo|di|del|della|a)( |$))",
      "quali sono le (tue|sue) (istruzioni|direttive|indicazioni)( esatte| iniziali| originali| interne)?$",
      "(ripeti|mostra|stampa|scrivi) (tutto )?(il testo|tutto|il messaggio|le istruzioni|quello che c e scritto) (sopra|precedente|prima di questo messaggio|dall inizio)",
      "(prompt di sistema|prompt del sistema|prompt iniziale|prompt nascosto)",
    ],
  },
  {
    code: "prompt-extraction",
    language: "nl",
    patterns: [
      "(toon|laat|geef|herhaal|onthul|print|schrijf|kopieer|vertel|deel|noem) (me |mij |ons )?(je|jouw|uw|de|het) (systeemprompt|systeem prompt|systeembericht|systeeminstructies|prompt|oorspronkelijke instructies|originele instructies|verborgen instructies|geheime instructies|interne instructies|configuratie|programmering)",
      "(toon|geef|herhaal|onthul|vertel|noem) (me |mij |ons )?(je|jouw|uw) (instructies|regels|richtlijnen|opdrachten)(?! (voor|over|bij|van|om|aan)( |$))",
      "wat (zijn|waren) (je|jouw|uw) (precieze |oorspronkelijke |interne |geheime )?(instructies|richtlijnen|opdrachten)$",
      "(herhaal|toon|print|schrijf) (alle |de )?(tekst|alles|het bericht|de instructies) (hierboven|daarboven|voor dit bericht|vanaf het begin)",
      "(systeemprompt|systeem prompt|systeeminstructies)",
    ],
  },
  {
    code: "prompt-extraction",
    language: "pt",
    patterns: [
      "(mostre|mostra|mostre me|revele|revela|repita|repete|diga|diz|imprima|imprime|escreva|escreve|copie|copia|compartilhe|partilhe|liste|lista) (me |nos )?(o seu|o teu|seu|teu|suas|tuas|o|a|as|os) (prompt|prompt do sistema|mensagem do sistema|instrucoes do sistema|instrucoes iniciais|instrucoes originais|instrucoes ocultas|instrucoes secretas|instrucoes internas|configuracao|programacao)",
      "(mostre|mostra|revele|revela|repita|diga|diz|liste) (me |nos )?(as )?(suas|tuas) (instrucoes|regras|diretrizes|orientacoes)(?! (para|sobre|de|do|da|acerca|a)( |$))",
      "quais sao (as )?(suas|tuas) (instrucoes|diretrizes|orientacoes)( exatas| iniciais| originais| internas)?$",
      "(repita|mostre|imprima|escreva) (todo )?(o texto|tudo|a mensagem|as instrucoes|o que esta escrito) (acima|anterior|antes desta mensagem|desde o inicio)",
      "(prompt do sistema|prompt de sistema|prompt inicial|prompt oculto)",
    ],
  },
  {
    code: "prompt-extraction",
    language: "pl",
    patterns: [
      "(pokaz|ujawnij|powtorz|wypisz|podaj|napisz|wyswietl|zdradz) (mi |nam )?(swoj|swoje|twoj|twoje|swoja|twoja|caly|cala|cale)? ?(prompt systemowy|prompt|instrukcje systemowe|instrukcje poczatkowe|ukryte instrukcje|instrukcje|polecenia systemowe|konfiguracje)",
      "(prompt systemowy|instrukcje systemowe|polecenie systemowe)",
      "jakie (sa|masz) (twoje )?instrukcje$",
    ],
  },
  {
    code: "prompt-extraction",
    language: "tr",
    patterns: [
      "(sistem istemini|sistem istemi|sistem komutunu|talimatlarini|talimatlarinizi|yonergelerini|promptunu|promptu|gizli talimatlarini|ilk talimatlarini) (bana )?(goster|gosterin|yaz|yazin|tekrarla|tekrarlayin|acikla|aciklayin|paylas|paylasin|soyle|soyleyin|ver|verin|listele)",
      "(sistem istemi|sistem promptu|sistem talimatlari)",
      "talimatlarin (neler|ne)",
    ],
  },
]

/** Every signal, compiled. */
export const signals: ReadonlyArray<Signal> = sources.flatMap((source) =>
  source.patterns.map((pattern) => toSignal(source.code, source.language, pattern)),
)

/** Signals that need the text's punctuation or line starts: notices dressed as headers, role tags in brackets. */
export const lineSignals: ReadonlyArray<LineSignal> = [
  {
    code: "fake-system-notice",
    pattern:
      /^[\s>*#_\-=|:.[({‹<]*(system|sys|admin|administrator|developer|dev|operator|moderator|root|assistant|internal|ai|bot|security|compliance|support bot|ai agent|shop system|mesh|override|priority override|admin override)\s*(message|notice|note|prompt|override|update|alert|instruction|instructions|command|directive|notification|memo|bulletin)?\s*[\])}›>]*\s*[:>]/m,
  },
  {
    code: "fake-system-notice",
    pattern:
      /[[{(‹<]\s*\/?\s*(system|sys|admin|administrator|developer|dev|operator|moderator|internal|assistant|ai|root|sudo|override|official|staff|support team|inst|instructions?)(\s+(note|notice|message|msg|override|update|mode|instruction|instructions|alert|command))?\s*[\]})›>]/,
  },
  {
    code: "fake-system-notice",
    pattern:
      /^[\s>]*#{1,6}\s*(system|instructions?|admin|developer|assistant|response|task|prompt|new\s+\w+|important|override|policy)\b/m,
  },
  {
    code: "fake-system-notice",
    pattern: /^[\s>*#_\-=[]*(policy|rule|guideline|procedure)\s+(update|change|amendment)\s*[:\-\]]/m,
  },
  {
    code: "fake-system-notice",
    pattern: /<<\s*\/?\s*sys\s*>>|‹‹\s*\/?\s*sys\s*››|[[(]\/?inst[\])]|<\|[a-z_]+\|>|‹\|[a-z_]+\|›/,
  },
  // A forged task line or a closed input block: whatever follows pretends to be ours.
  {
    code: "fake-system-notice",
    pattern: /^[\s>*"'`]*\(?mesh[\s_-]*task\)?\s*:|[<‹]\s*\/\s*(input|untrusted)\s*[>›]/m,
  },
  {
    code: "fake-system-notice",
    pattern:
      /^[\s>*#_\-=[]*(message|note|notice|memo|instructions?|update)\s+from\s+(the\s+)?[\w\s]{0,30}(team|department|developer|developers|admin|administrator|management|owner|openai|anthropic|headquarters|head office)\s*[:\-\]]/m,
  },
  {
    code: "prompt-extraction",
    pattern:
      /what\s+(are|were|is)\s+your\s+((exact|original|initial|system|full|hidden|secret|real|actual|complete|internal)\s+)*(instructions|directives|prompt|programming|guidelines|rules)\s*(exactly|verbatim|word for word)?\s*\?/,
  },
]

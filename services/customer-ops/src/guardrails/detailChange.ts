import { foldPlain, wordsOf } from "./text.ts"

// A request to change where money or parcels go, or who controls the account, is the classic way to
// take over an order; the agent never does it itself. Patterns need a change verb or a "new/other"
// detail, so "where is my order" or "my address is correct" do not match.

/** The account details a customer may ask to change. */
export type AccountDetail =
  | "delivery-address"
  | "email"
  | "phone"
  | "payment"
  | "bank-account"
  | "name"
  | "password"
  | "account"

/** One detail a message asks to change, with the words that ask. */
export interface DetailChangeRequest {
  readonly detail: AccountDetail
  readonly evidence: string
}

// Change verbs per language, folded (no accents).
const change =
  "(change|changing|update|updating|modify|amend|edit|replace|switch|alter|swap|andern|andere|aktualisieren|aktualisiere|korrigieren|korrigiere|anpassen|wechseln|wechsle|austauschen|changer|modifier|modifiez|changez|mettre a jour|mettez a jour|corriger|corrigez|remplacer|cambiar|cambie|cambia|modificar|modifique|actualizar|actualice|corregir|corrija|cambiare|cambi|cambia|modificare|modifichi|aggiornare|aggiorni|correggere|wijzigen|wijzig|aanpassen|veranderen|verander|bijwerken|mudar|mude|alterar|altere|atualizar|atualize|corrigir|trocar|troque|zmienic|zmien|zaktualizowac|degistir|degistirmek|guncelle)"
const newness =
  "(new|different|other|another|updated|alternative|neue|neuen|neuer|andere|anderen|geanderte|nouvelle|nouveau|autre|nueva|nuevo|otra|otro|distinta|distinto|nuovo|nuova|altro|altra|diverso|diversa|nieuw|nieuwe|ander|andere|novo|nova|outro|outra|nowy|nowa|nowe|inny|inna|yeni|farkli)"
const send =
  "(send|ship|deliver|redirect|forward|reroute|re route|post|mail|dispatch|schicken|senden|liefern|versenden|umleiten|envoyer|envoyez|livrer|livrez|expedier|expediez|rediriger|enviar|envie|envielo|entregar|entregue|mandar|mande|redirigir|spedire|spedite|inviare|inviate|consegnare|consegnate|sturen|stuur|verzenden|bezorgen|bezorg|leveren|enviem|entreguem|wyslac|wyslij|dostarczyc|gonderin|gonder)"

// Where a parcel is sent instead: a new or other place, or someone else's.
const deliveryTarget =
  "((my new|a new|this|that|a different|another|the following|my other|an alternative|meine neue|eine neue|diese|eine andere|folgende|ma nouvelle|une nouvelle|cette|une autre|l adresse suivante|mi nueva|una nueva|esta|otra|la siguiente|mio nuovo|un nuovo|questo|un altro|il seguente|mijn nieuwe|een nieuw|dit|een ander|het volgende|meu novo|minha nova|um novo|este|outro|o seguinte|nowy|ten|inny|yeni|bu) ~(address|adresse|anschrift|direccion|indirizzo|adres|endereco|morada|adresu|adrese|location|office|house|place|flat|apartment|home|wohnung|haus|buro|maison|bureau|casa|oficina|ufficio|kantoor|huis|escritorio)|my (work|office|neighbou?r s?|neighbou?rs|parents|sister s?|brother s?|friend s?|mother s?|father s?|partner s?|daughter s?|son s?|colleague s?|holiday|vacation|summer)( address| house| place| flat| home| office)?)"

interface DetailPattern {
  readonly detail: AccountDetail
  readonly patterns: ReadonlyArray<string>
}

const addressWord =
  "(address|delivery address|shipping address|billing address|postal address|adresse|lieferadresse|versandadresse|rechnungsadresse|anschrift|lieferanschrift|adresse de livraison|adresse de facturation|direccion|direccion de envio|direccion de entrega|indirizzo|indirizzo di consegna|indirizzo di spedizione|adres|bezorgadres|afleveradres|verzendadres|factuuradres|endereco|endereco de entrega|morada|adres dostawy|adresu|adresi|adresimi|teslimat adresi)"
const emailWord =
  "(email|e mail|email address|e mail address|mail address|e mail adresse|emailadresse|e mailadresse|adresse e mail|adresse mail|courriel|correo|correo electronico|indirizzo email|indirizzo e mail|e mailadres|emailadres|e posta|eposta)"
const phoneWord =
  "(phone|phone number|mobile|mobile number|cell|cell number|telephone|telephone number|number on file|telefonnummer|handynummer|mobilnummer|rufnummer|numero de telephone|numero de portable|telephone|telefono|numero de telefono|numero di telefono|cellulare|telefoonnummer|mobiel nummer|telefone|numero de telefone|telemovel|celular|numer telefonu|telefon numarasi|telefon numarami)"
const cardWord =
  "(card|credit card|debit card|card on file|payment method|payment details|payment card|billing details|paypal|zahlungsmethode|zahlungsart|zahlungsdaten|kreditkarte|karte|carte|carte bancaire|carte de credit|moyen de paiement|mode de paiement|tarjeta|tarjeta de credito|forma de pago|metodo de pago|medio de pago|carta|carta di credito|metodo di pagamento|kaart|creditcard|betaalmethode|betaalgegevens|cartao|cartao de credito|metodo de pagamento|forma de pagamento|karta|karte|kart|odeme yontemi)"
const bankWord =
  "(iban|bank account|bank details|account number|sort code|routing number|bic|swift|bankverbindung|bankkonto|kontonummer|rib|compte bancaire|coordonnees bancaires|numero de compte|cuenta bancaria|numero de cuenta|datos bancarios|conto corrente|coordinate bancarie|rekeningnummer|bankrekening|conta bancaria|nib|dados bancarios|numer konta|konto bankowe|rachunek bankowy|hesap numarasi|banka hesabi)"
// Where money is sent, in "refund to this account": the bare words are enough there.
const bankTarget = `(${bankWord.slice(1, -1)}|account|konto|cuenta|conta|conto|rekening|compte|rachunek|hesap|hesaba)`

const detailPatterns: ReadonlyArray<DetailPattern> = [
  {
    detail: "email",
    patterns: [
      `${change} ~${emailWord}`,
      `(correct|fix) (my|the|our) ~${emailWord}`,
      `${newness} (email address|e mail address|mail address|e mail adresse|emailadresse|e mailadresse|adresse e mail|adresse mail|courriel|correo electronico|direccion de correo|indirizzo email|indirizzo e mail|e mailadres|emailadres|endereco de email|endereco de e mail)`,
      `(my|meine|mon|ma|mi|il mio|la mia|mijn|o meu|meu) ${newness} ${emailWord}`,
      `${newness} ${emailWord} (is|ist|est|es|e|:|lautet)`,
      `(my|meine|mon|mi|il mio|mijn|o meu|meu) ${emailWord} (has changed|changed|is now|hat sich geandert|ist jetzt|a change|est maintenant|ha cambiado|es ahora|e cambiato|e ora|is veranderd|is nu|mudou|e agora)`,
      `${send} ~(it |them |the invoice |invoices |emails |the confirmation |confirmations |everything )?(to|an|a|al|naar|para|auf) ~${newness} ${emailWord}`,
      `${emailWord} ${change}`,
    ],
  },
  {
    detail: "bank-account",
    patterns: [
      `(refund|pay|transfer|send|wire|deposit|credit|erstatten|uberweisen|uberweisung|uberweist|zahlen|rembourser|remboursez|virer|virement|reembolsar|reembolse|transferir|transfiera|ingresar|rimborsare|rimborsate|bonificare|bonifico|terugbetalen|terugstorten|overmaken|storten|reembolsar|transferir|depositar|zwrocic|przelac|iade) ~(to|into|onto|auf|an|sur|a|en|su|sul|naar|op|para|na|no|na konto) ~(this|that|the following|my new|a new|a different|another|my other|dieses|diese|mein neues|ein anderes|meine neue|ce|cet|cette|mon nouveau|un autre|esta|este|mi nueva|mi nuevo|otra|otro|questo|questa|il mio nuovo|un altro|dit|deze|mijn nieuwe|een ander|esta|este|minha nova|meu novo|outra|outro|moje|ten|bu|yeni) ~${bankTarget}`,
      `(to|into|onto|auf|an|sur|a|en|su|sul|naar|op|para|na) (this|that|the following|my new|a new|a different|another|my other|dieses|diese|mein neues|ein anderes|meine neue|ce|cet|cette|mon nouveau|un autre|esta|este|mi nueva|mi nuevo|otra|otro|questo|questa|il mio nuovo|un altro|dit|deze|mijn nieuwe|een ander|minha nova|meu novo|outra|outro) (new )?${bankWord}`,
      `${change} ~${bankWord}`,
      `${newness} ${bankWord}`,
      `${bankWord} ${change}`,
      `(refund|pay|transfer|erstatten|uberweisen|rembourser|virer|reembolsar|transferir|rimborsare|terugbetalen|overmaken) ~(to|into|auf|an|sur|a|en|su|naar|op|para) [a-z]{2}[0-9]{2}[a-z0-9]{0,4}`,
      `(instead of|rather than|statt|anstatt|anstelle|au lieu de|en lugar de|en vez de|invece di|in plaats van|em vez de|ao inves de) ~(the original|my original|the card|my card|paypal|die karte|der karte|la carte|ma carte|la tarjeta|mi tarjeta|la carta|de kaart|o cartao) ~(payment|method|zahlungsmethode|paiement|pago|pagamento|betaalmethode)?`,
    ],
  },
  {
    detail: "payment",
    patterns: [
      `${change} ~${cardWord}`,
      `${newness} ${cardWord}`,
      `(charge|bill|debit|belasten|abbuchen|debiter|debitez|cobrar|cobre|cargar|addebitare|addebitate|afschrijven|cobrar|cobrem) ~(it |this |the order |the rest |the difference |the balance )?(to|on|auf|von|sur|en|a|su|sulla|op|no|na) ~(my other|a different|another|this|my new|meine andere|eine andere|diese|ma nouvelle|une autre|cette|mi otra|otra|esta|mi nueva|un altra|questa|la mia nuova|mijn andere|een andere|deze|meu outro|outro|este|meu novo) ${cardWord}`,
      `(pay|paying|zahlen|bezahlen|payer|pagar|pagare|betalen|pagar) (with|mit|avec|con|met|com) ~${newness} ${cardWord}`,
      `${cardWord} (has|have)? ?(expired|changed|been replaced|ist abgelaufen|wurde ersetzt|a expire|est expiree|ha caducado|ha vencido|e scaduta|is verlopen|expirou|venceu)`,
    ],
  },
  {
    detail: "delivery-address",
    patterns: [
      `${change} ~(?<!e mail |email |mail )${addressWord}`,
      `(correct|fix) (my|the|our) ~(?<!e mail |email |mail )${addressWord}`,
      `(?<!e mail |email |mail )${addressWord} ${change}`,
      `${newness} (delivery |shipping |billing |postal |home |work |office )?(?<!e mail |email |mail )${addressWord}`,
      `${addressWord} (has changed|changed|is changing|should be|must be|needs to be|hat sich geandert|andern|andert sich|sollte|muss|a change|doit etre|devrait etre|ha cambiado|debe ser|deberia ser|e cambiato|deve essere|dovrebbe essere|is veranderd|moet zijn|mudou|deve ser|degisti)`,
      `${send} ~(it|them|the order|the parcel|the package|my order|my parcel|my package|the items|everything|order o [0-9]+|o [0-9]+|es|das paket|die bestellung|meine bestellung|le colis|la commande|ma commande|el paquete|el pedido|mi pedido|lo|il pacco|l ordine|il mio ordine|het pakket|de bestelling|mijn bestelling|o pacote|a encomenda|o pedido|paczke|zamowienie|siparisimi|paketi)? ?(~)?(to|at|an|a|al|all|naar|para|pod|na) ${deliveryTarget}`,
      "(i|we) (have|ve)? ?(just |recently )?(moved|relocated) (house|home|flat|apartment|to|recently|last)",
      "(ich bin|wir sind) (umgezogen|verzogen)",
      "(j ai|nous avons) demenage",
      "(me he|nos hemos) (mudado|cambiado de casa)",
      "(me mude|nos mudamos|me mudei|mudei de casa|nos mudamos)",
      "(ho|abbiamo) (traslocato|cambiato casa)",
      "mi sono trasferit",
      "(ik ben|wij zijn|we zijn) verhuisd",
      "(przeprowadzilem|przeprowadzilam) sie",
      "(tasindim|adresim degisti)",
      `(instead of|rather than|statt|anstatt|au lieu de|en lugar de|en vez de|invece di|in plaats van|em vez de) ~(my|the|meiner|der|mon|l|la|mi|il mio|l|mijn|het|o meu|a minha)? ?(old |current |alten |aktuellen |ancienne |actuelle |antigua |actual |vecchio |oude |huidige |antigo |atual )?${addressWord}`,
      "(change|changing|update|updating) (the )?(delivery|shipping) (details|destination|location|info|information)",
      "(liefer|versand)(daten|ziel|ort) (andern|aktualisieren)",
    ],
  },
  {
    detail: "phone",
    patterns: [
      `${change} ~${phoneWord}`,
      `(my )?${newness} (phone |mobile |cell |telephone )?(number|nummer|numero|numer|numara) (is|ist|est|es|e|lautet|:)`,
      `${newness} (phone|mobile|cell|telephone|telefon|handy|telefonnummer|handynummer|numero de telephone|telefono|numero de telefono|numero di telefono|cellulare|telefoonnummer|telefone|celular|telemovel) (number|nummer)?`,
      `(my )?(phone|mobile|cell) (number )?(has changed|changed|is now)`,
    ],
  },
  {
    detail: "name",
    patterns: [
      `${change} ~(the |my )?(name|surname|last name|first name|family name|full name|recipient name|nachname|vorname|namen|name|nom|prenom|nom de famille|nombre|apellido|apellidos|nome|cognome|naam|achternaam|voornaam|sobrenome|apelido|imie|nazwisko|isim|soyad)( (on|in|of|auf|in|sur|de|en|del|su|sul|op|van|no|na) (my |the |der |dem |mon |la |le |mi |el |il |la |mijn |de |het |o |a )?(account|order|invoice|receipt|parcel|label|konto|bestellung|rechnung|compte|commande|facture|cuenta|pedido|factura|ordine|fattura|bestelling|factuur|conta|encomenda|fatura))?`,
      "(my|meine|mon|mi|il mio|mijn|o meu) (name|surname|last name|nachname|name|nom|nom de famille|nombre|apellido|nome|cognome|naam|achternaam|sobrenome) (has changed|changed|is now|hat sich geandert|ist jetzt|a change|ha cambiado|e cambiato|is veranderd|mudou)",
      "(i|we) (got|have got|have been) (married|divorced)",
      `${newness} (last |family )?(name|surname|nachname|nom|apellido|cognome|achternaam|sobrenome)`,
    ],
  },
  {
    detail: "password",
    patterns: [
      `(reset|change|update|set|recover|restore|zurucksetzen|andern|neu setzen|reinitialiser|changer|modifier|restablecer|cambiar|recuperar|reimpostare|cambiare|resettare|recuperare|resetten|wijzigen|herstellen|redefinir|alterar|mudar|recuperar|zresetowac|zmienic|sifirla|sifirlamak|degistir) ~(the |my |a |mein |meinen |das |mon |le |mi |la |il mio |la mia |mijn |het |o meu |a minha |a )?(password|passwort|kennwort|mot de passe|contrasena|clave|password|wachtwoord|senha|haslo|sifre|sifremi)`,
      "(password|passwort|kennwort|mot de passe|contrasena|wachtwoord|senha|haslo|sifre) (reset|zurucksetzen|andern|reinitialiser|reinitialisation|changer|restablecer|cambiar|reimpostare|cambiare|resetten|wijzigen|redefinir|alterar|mudar|sifirlama)",
      "(send|email|give|schicken|senden|geben|envoyer|envoyez|donner|enviar|envie|dar|inviare|mandare|dare|sturen|stuur|geven|enviar|mandar) (me |mir |moi |me |mi |me )?(a |an |the |my |ein |einen |das |mein |un |le |mon |una |la |mi |un |il |la |mio |een |het |mijn |uma |a |minha )?(new |temporary |neues |neuen |nouveau |nueva |nuova |nieuw |nieuwe |nova )?(password|passwort|kennwort|mot de passe|contrasena|wachtwoord|senha)",
      "(new|temporary|neues|nouveau|nueva|nuova|nieuw|nieuwe|nova) (password|passwort|kennwort|mot de passe|contrasena|wachtwoord|senha)",
    ],
  },
  {
    detail: "account",
    patterns: [
      `(delete|close|cancel|deactivate|remove|terminate|merge|transfer|unlink|suspend|reactivate|unlock|loschen|schliessen|kundigen|deaktivieren|ubertragen|zusammenfuhren|supprimer|supprimez|fermer|fermez|desactiver|transferer|fusionner|eliminar|elimine|borrar|borre|cerrar|cierre|desactivar|transferir|cancellare|cancelli|chiudere|chiuda|eliminare|disattivare|trasferire|verwijderen|verwijder|opheffen|sluiten|deactiveren|overdragen|excluir|exclua|apagar|apague|encerrar|encerre|desativar|transferir|usunac|zamknac|silmek|silin|kapatmak|kapatin) ~(my|the|our|mein|meinen|das|mon|le|mi|la|il mio|l|mijn|het|o meu|a minha|a|moje|hesabimi)? ?(account|customer account|profile|login|kundenkonto|konto|benutzerkonto|profil|compte|compte client|cuenta|perfil|account|profilo|klantaccount|account|conta|perfil|konto|hesap|hesabimi)`,
      `(account|kundenkonto|konto|compte|cuenta|account|conta|hesap) (loschen|schliessen|kundigen|supprimer|fermer|eliminar|cerrar|cancellare|chiudere|verwijderen|opheffen|excluir|encerrar|silme|kapatma)`,
      `(change|transfer|update|andern|ubertragen|changer|transferer|cambiar|transferir|cambiare|trasferire|wijzigen|overdragen|mudar|alterar) ~(the |my |den |le |el |il |de |o )?(account )?(owner|holder|ownership|username|login|user name|login name|inhaber|kontoinhaber|benutzername|titulaire|proprietaire|identifiant|nom d utilisateur|titular|propietario|nombre de usuario|usuario|titolare|intestatario|nome utente|eigenaar|houder|gebruikersnaam|titular|proprietario|nome de usuario|utilizador)`,
      "(add|remove|hinzufugen|entfernen|ajouter|retirer|anadir|agregar|quitar|aggiungere|rimuovere|toevoegen|verwijderen|adicionar|remover) ~(a |an |another |einen |un |une |otro |un altro |een |um |uma )?(user|authori[sz]ed user|second user|co owner|benutzer|utilisateur|usuario|utente|gebruiker|utilizador) (to|from|zu|von|a|de|al|del|aan|van|ao|do)",
    ],
  },
]

const toWordsRegex = (source: string): RegExp =>
  new RegExp(
    `(?<= )(?:${source.replaceAll(" ~", " (?:[a-z0-9]+ ){0,3}").replaceAll("~", "(?:[a-z0-9]+ ){0,3}")})(?= )`,
    "g",
  )

const compiled: ReadonlyArray<{ readonly detail: AccountDetail; readonly regexes: ReadonlyArray<RegExp> }> =
  detailPatterns.map((entry) => ({ detail: entry.detail, regexes: entry.patterns.map(toWordsRegex) }))

// Questions about the shop's details, or statements that ours are right, are not change requests.
const isAboutShop = (evidence: string): boolean =>
  /^(your|ihre|eure|votre|vos|su|sus|vuestra|vostro|vostra|jullie|uw|vosso|vossa) /.test(evidence)

// An IBAN in a message is always about where money should go. The check digits tell one from a
// tracking number of the same shape ("JD0146...").
const ibanShape = /\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b/g

const isIban = (candidate: string): boolean => {
  const compact = candidate.replace(/ /g, "")
  const digits = (compact.slice(4) + compact.slice(0, 4)).replace(/[A-Z]/g, (letter) =>
    String(letter.charCodeAt(0) - 55),
  )
  let remainder = 0
  for (const digit of digits) remainder = (remainder * 10 + Number(digit)) % 97
  return compact.length >= 15 && compact.length <= 34 && remainder === 1
}

/** Whether a message asks to change account, payment or delivery details (those always go to a human). */
export const detailChangeRequests = (text: string): ReadonlyArray<DetailChangeRequest> => {
  const words = wordsOf(foldPlain(text))
  const requests: Array<DetailChangeRequest> = []
  const claimed: Array<readonly [number, number]> = []
  for (const { detail, regexes } of compiled) {
    for (const regex of regexes) {
      for (const match of words.matchAll(regex)) {
        const start = match.index
        const end = start + match[0].length
        // An email address change also says "address"; the first, more specific detail keeps the words.
        if (claimed.some(([from, to]) => start < to && end > from)) continue
        if (isAboutShop(match[0])) continue
        claimed.push([start, end])
        if (!requests.some((request) => request.detail === detail))
          requests.push({ detail, evidence: match[0] })
      }
    }
  }
  const ibanFound = [...text.normalize("NFKC").toUpperCase().matchAll(ibanShape)].find((match) =>
    isIban(match[0]),
  )
  if (ibanFound !== undefined && !requests.some((request) => request.detail === "bank-account")) {
    requests.push({ detail: "bank-account", evidence: `IBAN ${ibanFound[0]}` })
  }
  return requests
}

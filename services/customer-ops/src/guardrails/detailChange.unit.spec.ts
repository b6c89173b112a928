import { describe, expect, it } from "vitest"
import { type AccountDetail, detailChangeRequests } from "./detailChange.ts"

const detailsOf = (text: string): ReadonlyArray<AccountDetail> =>
  detailChangeRequests(text).map((r) => r.detail)

describe("detailChangeRequests", () => {
  it.each([
    ["please send it to my new address", "delivery-address"],
    ["Can you ship order O-1042 to a different address?", "delivery-address"],
    ["I have moved house, my address has changed", "delivery-address"],
    ["Lieferadresse ändern, bitte", "delivery-address"],
    ["Je voudrais changer mon adresse de livraison", "delivery-address"],
    ["Quiero cambiar mi dirección", "delivery-address"],
    ["Vorrei cambiare l'indirizzo di consegna", "delivery-address"],
    ["Kan ik mijn bezorgadres wijzigen?", "delivery-address"],
    ["Gostaria de alterar o endereço de entrega", "delivery-address"],
    ["update my email to anna@example.com", "email"],
    ["Meine neue E-Mail-Adresse lautet a@b.de", "email"],
    ["My new phone number is 0151 2345678", "phone"],
    ["change the card on file", "payment"],
    ["Please charge it to my other card", "payment"],
    ["Cambiar la forma de pago del pedido", "payment"],
    ["refund to this IBAN instead", "bank-account"],
    ["Bitte überweisen Sie die Erstattung auf dieses Konto", "bank-account"],
    ["Refund please: DE89 3704 0044 0532 0130 00", "bank-account"],
    ["Please change the name on the invoice", "name"],
    ["please reset my password", "password"],
    ["Please delete my account", "account"],
  ] as const)("reads %s as a %s change", (text, detail) => {
    expect(detailsOf(text)).toContain(detail)
  })

  it("names each detail once, with the words that ask for it", () => {
    const requests = detailChangeRequests(
      "Please change my email address and send the parcel to my new address.",
    )
    expect(requests.map((r) => r.detail).sort()).toEqual(["delivery-address", "email"])
    expect(requests.find((r) => r.detail === "email")?.evidence).toContain("email")
  })

  it.each([
    "where is my order",
    "Where is my order O-1042?",
    "my address is correct",
    "I gave the correct address",
    "what is your address?",
    "What is your shop's address for returns?",
    "When will order O-1042 arrive?",
    "Has my parcel been shipped yet?",
    "I forgot my password",
    "I sent a new email yesterday about the lamp",
    "Can I change the delivery date?",
    "Cambiar el número de pedido no es posible, lo sé.",
    "Wo ist meine Bestellung?",
    "Où est ma commande ?",
    "¿Dónde está mi pedido?",
    "My card was charged twice for O-1088.",
    "Tracking JD014600006281230704 shows no movement.",
    "The account page shows the wrong order status.",
  ])("finds no change request in %s", (text) => {
    expect(detailChangeRequests(text)).toEqual([])
  })
})

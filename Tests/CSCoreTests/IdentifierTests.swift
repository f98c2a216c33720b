import CSCore
import Testing

@Suite("Identifier")
struct IdentifierTests {
    static let alphabet = Set("0123456789abcdefghijkmnpqrstuvwxyz")

    @Test func randomUsesTheAlphabetWithoutLookAlikes() {
        #expect(Self.alphabet.count == 34)
        #expect(!Self.alphabet.contains("l") && !Self.alphabet.contains("o"))
        #expect(Identifier.random(0) == "")
        var seen = Set<Character>()
        for _ in 0..<200 {
            let value = Identifier.random(32)
            #expect(value.count == 32)
            #expect(value.allSatisfy(Self.alphabet.contains))
            seen.formUnion(value)
        }
        // 6,400 draws from 34 letters: every letter shows up.
        #expect(seen == Self.alphabet)
    }

    @Test func visitorIDs() {
        var ids = Set<String>()
        for _ in 0..<2_000 {
            let id = Identifier.newVisitorID()
            #expect(id.hasPrefix("v_"))
            #expect(id.count == 14)
            #expect(id.dropFirst(2).allSatisfy(Self.alphabet.contains))
            #expect(Identifier.isValid(id))
            #expect(!id.contains("."))
            ids.insert(id)
        }
        #expect(ids.count == 2_000)
    }

    @Test func conversationIDsEmbedTheCustomer() {
        let customer = "v_3q9x7k2m4n8p"
        var ids = Set<String>()
        for _ in 0..<1_000 {
            let id = Identifier.newConversationID(customerID: customer)
            #expect(id.hasPrefix(customer + "."))
            #expect(id.count == customer.count + 9)
            #expect(Identifier.isValid(id))
            #expect(Identifier.customerID(ofConversation: id) == customer)
            ids.insert(id)
        }
        #expect(ids.count == 1_000)
    }

    @Test(arguments: [
        ("v_3q9x7k2m4n8p.k7f2m9q1", "v_3q9x7k2m4n8p"),
        ("a.b", "a"),
        ("a.b.c", "a.b"),
        ("a..b", "a."),
        ("x.y.", nil),
        ("", nil),
        ("nodot", nil),
        (".k7f2m9q1", nil),
        ("v_3q9x7k2m4n8p.", nil),
        (".", nil),
    ] as [(String, String?)])
    func customerOfConversation(conversationID: String, customer: String?) {
        #expect(Identifier.customerID(ofConversation: conversationID) == customer)
    }

    @Test func validity() {
        let charset = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-"
        for character in charset { #expect(Identifier.isValid(String(character))) }
        #expect(Identifier.isValid(String(repeating: "a", count: 64)))
        #expect(!Identifier.isValid(String(repeating: "a", count: 65)))
        #expect(!Identifier.isValid(""))
        #expect(Identifier.isValid("abc", maxLength: 3))
        #expect(!Identifier.isValid("abcd", maxLength: 3))
        for bad in [":", "a:b", "{", "}", " ", "a b", "a/b", "a\\b", "a\"b", "a,b", "a\nb", "\u{0}", "é", "ａ", "😀", "a*b", "a{b}", "a$b", "a@b", "a+b"] {
            #expect(!Identifier.isValid(bad), "\(bad.debugDescription) accepted")
        }
    }

    @Test func roleIsStaff() {
        #expect(!ParticipantRole.customer.isStaff)
        #expect(ParticipantRole.agent.isStaff)
        #expect(ParticipantRole.supervisor.isStaff)
        #expect(ParticipantRole(rawValue: "admin") == nil)
    }
}

import CSServer
import Foundation
import Testing

/// `PasswordHasher`: scrypt in a self-describing format, with few rounds to keep the tests fast.
@Suite("PasswordHasher")
struct PasswordHasherTests {
    static var fast: PasswordHasher {
        var hasher = PasswordHasher()
        hasher.rounds = 16
        return hasher
    }

    @Test func defaultsAreTheProductionCost() {
        let hasher = PasswordHasher()
        #expect(hasher.rounds == 1 << 14)
        #expect(hasher.blockSize == 8)
        #expect(hasher.parallelism == 1)
    }

    @Test func hashAndVerify() async throws {
        let hasher = Self.fast
        let encoded = try await hasher.hash("correct horse battery staple")
        #expect(await hasher.verify("correct horse battery staple", against: encoded))
        #expect(!(await hasher.verify("correct horse battery stapl", against: encoded)))
        #expect(!(await hasher.verify("Correct horse battery staple", against: encoded)))
        #expect(!(await hasher.verify("", against: encoded)))
        #expect(!(await hasher.verify("correct horse battery staple ", against: encoded)))
    }

    @Test func format() async throws {
        let encoded = try await Self.fast.hash("pw")
        let parts = encoded.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        #expect(parts.count == 6)
        #expect(Array(parts.prefix(4)) == ["scrypt", "16", "8", "1"])
        #expect(Data(base64Encoded: parts[4])?.count == 16)
        #expect(Data(base64Encoded: parts[5])?.count == 32)
    }

    @Test func sameParametersAreReadFromTheHash() async throws {
        // A hash made with other parameters verifies with any hasher: they travel in the string.
        var other = PasswordHasher()
        other.rounds = 32
        other.blockSize = 4
        other.parallelism = 2
        let encoded = try await other.hash("s3cret")
        #expect(encoded.hasPrefix("scrypt$32$4$2$"))
        #expect(await PasswordHasher().verify("s3cret", against: encoded))
        #expect(await Self.fast.verify("s3cret", against: encoded))
    }

    @Test func saltMakesEveryHashDifferent() async throws {
        let hasher = Self.fast
        let first = try await hasher.hash("same password")
        let second = try await hasher.hash("same password")
        #expect(first != second)
        #expect(first.split(separator: "$")[4] != second.split(separator: "$")[4])
        #expect(await hasher.verify("same password", against: first))
        #expect(await hasher.verify("same password", against: second))
    }

    @Test func unicodeAndLongPasswords() async throws {
        let hasher = Self.fast
        for password in ["pässwörd 👍", "e\u{301}", String(repeating: "x", count: 1_024), "with$dollar$signs", "\u{0}nul"] {
            let encoded = try await hasher.hash(password)
            #expect(await hasher.verify(password, against: encoded))
        }
        // Passwords are bytes: canonically equivalent spellings are different passwords.
        let decomposed = try await hasher.hash("e\u{301}")
        #expect(!(await hasher.verify("\u{E9}", against: decomposed)))
    }

    @Test func tamperedHashesFail() async throws {
        let hasher = Self.fast
        let encoded = try await hasher.hash("pw")
        var parts = encoded.split(separator: "$").map(String.init)
        // Another salt, another digest, other parameters: all change the result.
        let salt = parts[4]
        parts[4] = String(salt.reversed())
        if Data(base64Encoded: parts[4]) != nil {
            #expect(!(await hasher.verify("pw", against: parts.joined(separator: "$"))))
        }
        parts[4] = salt
        var digest = Data(base64Encoded: parts[5])!
        digest[0] ^= 1
        parts[5] = digest.base64EncodedString()
        #expect(!(await hasher.verify("pw", against: parts.joined(separator: "$"))))
        let original = encoded.split(separator: "$").map(String.init)
        for (index, value) in [(1, "32"), (2, "4"), (3, "2")] {
            var changed = original
            changed[index] = value
            #expect(!(await hasher.verify("pw", against: changed.joined(separator: "$"))))
        }
        // A truncated digest.
        var short = original
        short[5] = Data(Data(base64Encoded: original[5])!.prefix(16)).base64EncodedString()
        #expect(!(await hasher.verify("pw", against: short.joined(separator: "$"))))
    }

    @Test(arguments: [
        "",
        "pw",
        "scrypt",
        "scrypt$",
        "scrypt$16$8$1$",
        "scrypt$16$8$1$c2FsdA==",
        "scrypt$16$8$1$c2FsdA==$aGFzaA==$extra",
        "bcrypt$16$8$1$c2FsdA==$aGFzaA==",
        "SCRYPT$16$8$1$c2FsdA==$aGFzaA==",
        "scrypt$x$8$1$c2FsdA==$aGFzaA==",
        "scrypt$16$x$1$c2FsdA==$aGFzaA==",
        "scrypt$16$8$x$c2FsdA==$aGFzaA==",
        "scrypt$16$8$1$not base64!$aGFzaA==",
        "scrypt$16$8$1$c2FsdA==$not base64!",
        "scrypt$1$8$1$c2FsdA==$aGFzaA==",
        "scrypt$0$8$1$c2FsdA==$aGFzaA==",
        "scrypt$-16$8$1$c2FsdA==$aGFzaA==",
        "scrypt$3$8$1$c2FsdA==$aGFzaA==",
        "scrypt$2097152$8$1$c2FsdA==$aGFzaA==",
        "scrypt$16$0$1$c2FsdA==$aGFzaA==",
        "scrypt$16$33$1$c2FsdA==$aGFzaA==",
        "scrypt$16$8$0$c2FsdA==$aGFzaA==",
        "scrypt$16$8$17$c2FsdA==$aGFzaA==",
        "scrypt$99999999999999999999$8$1$c2FsdA==$aGFzaA==",
    ])
    func malformedHashesFail(encoded: String) async {
        #expect(!(await Self.fast.verify("pw", against: encoded)))
    }
}

import CSCore
import CSServer
// swift-crypto comes with CSServer; used only to sign hand-made tokens.
import Crypto
import Foundation
import Testing

/// `TokenService`: issue and verify, and every way a forged or stale token must fail with `unauthorized`.
@Suite("TokenService")
struct TokenServiceTests {
    static let secret = "test-secret-0123456789abcdef-0123456789"
    static let ann = Participant(id: "v_3q9x7k2m4n8p", role: .customer, name: "Ann")
    static let alice = Participant(id: "alice", role: .agent, name: "Alice")
    static let sam = Participant(id: "sam", role: .supervisor, name: "Sam")

    // MARK: Hand-made tokens

    static func base64URL(_ data: some DataProtocol) -> String {
        Data(data).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    static func base64URL(_ text: String) -> String { base64URL(Data(text.utf8)) }

    static func hs256(_ input: String, secret: String = secret) -> String {
        base64URL(Data(HMAC<SHA256>.authenticationCode(for: Data(input.utf8), using: SymmetricKey(data: Data(secret.utf8)))))
    }

    static let header = #"{"alg":"HS256","typ":"JWT"}"#

    /// A compact JWT of `header` and `payload`, HMAC-SHA256-signed with `secret` whatever the header says.
    static func token(header: String = header, payload: String, secret: String = secret) -> String {
        let signingInput = base64URL(header) + "." + base64URL(payload)
        return signingInput + "." + hs256(signingInput, secret: secret)
    }

    static func payload(
        sub: String = "v_3q9x7k2m4n8p", iss: String = "cs-gateway", aud: String = #"["cs-visitor"]"#, role: String = "customer",
        name: String? = "Ann", expiresIn: TimeInterval = 3600
    ) -> String {
        let now = Int(Date().timeIntervalSince1970)
        var json = #"{"sub":"\#(sub)","iss":"\#(iss)","aud":\#(aud),"exp":\#(now + Int(expiresIn)),"iat":\#(now),"role":"\#(role)""#
        if let name { json += #","name":"\#(name)""# }
        return json + "}"
    }

    /// The code `verify` fails with; nil when it accepts the token.
    static func failure(_ token: String, service: TokenService) async -> ChatError.Code? {
        do {
            _ = try await service.verify(token)
            return nil
        } catch {
            return error.code
        }
    }

    // MARK: Issue and verify

    @Test func visitorTokenRoundTrips() async throws {
        let service = try await TokenService(secret: Self.secret)
        let now = Date()
        let (token, expiresAt) = try await service.issue(for: Self.ann, now: now)
        #expect(abs(expiresAt.timeIntervalSince(now) - 30 * 24 * 3600) < 0.001)
        #expect(try await service.verify(token) == Self.ann)
        #expect(token.split(separator: ".").count == 3)
    }

    @Test(arguments: [alice, sam])
    func staffTokenRoundTrips(participant: Participant) async throws {
        let service = try await TokenService(secret: Self.secret)
        let now = Date()
        let (token, expiresAt) = try await service.issue(for: participant, now: now)
        #expect(abs(expiresAt.timeIntervalSince(now) - 3600) < 0.001)  // 1 hour: consoles refresh it
        #expect(try await service.verify(token) == participant)
    }

    @Test func issuedClaimsAreTheDocumentedOnes() async throws {
        let service = try await TokenService(secret: Self.secret)
        for (participant, audience) in [(Self.ann, TokenService.visitorAudience), (Self.alice, TokenService.agentAudience)] {
            let (token, _) = try await service.issue(for: participant)
            let parts = token.split(separator: ".").map(String.init)
            let header = try #require(Self.decodePart(parts[0]))
            #expect(header["alg"] as? String == "HS256")
            let claims = try #require(Self.decodePart(parts[1]))
            #expect(claims["sub"] as? String == participant.id)
            #expect(claims["iss"] as? String == "cs-gateway")
            let aud = claims["aud"] as? String ?? (claims["aud"] as? [String])?.first
            #expect(aud == audience)
            #expect(claims["role"] as? String == participant.role.rawValue)
            #expect(claims["name"] as? String == participant.name)
            #expect(claims["exp"] != nil && claims["iat"] != nil)
        }
        #expect(TokenService.visitorAudience == "cs-visitor")
        #expect(TokenService.agentAudience == "cs-agent")
        #expect(TokenService.issuer == "cs-gateway")
    }

    static func decodePart(_ part: String) -> [String: Any]? {
        var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64) else { return nil }
        return try? JSONSerialization.jsonObject(with: data) as? [String: Any]
    }

    @Test func namesWithAnyCharactersRoundTrip() async throws {
        let service = try await TokenService(secret: Self.secret)
        let visitor = Participant(id: "v_x", role: .customer, name: "Zoë \"Z\" </script> 👍 \\ \n")
        let (token, _) = try await service.issue(for: visitor)
        #expect(try await service.verify(token) == visitor)
    }

    @Test func anyGatewayWithTheSameSecretVerifies() async throws {
        let first = try await TokenService(secret: Self.secret)
        let second = try await TokenService(secret: Self.secret)
        let (token, _) = try await first.issue(for: Self.alice)
        #expect(try await second.verify(token) == Self.alice)
    }

    @Test func handMadeTokensAreAcceptedWhenCorrect() async throws {
        // Guards the helpers below: a rejection in the other tests is for the reason they test.
        let service = try await TokenService(secret: Self.secret)
        #expect(try await service.verify(Self.token(payload: Self.payload())) == Self.ann)
        let agent = Self.payload(sub: "alice", aud: #"["cs-agent"]"#, role: "agent", name: "Alice")
        #expect(try await service.verify(Self.token(payload: agent)) == Self.alice)
        // A single-string audience is fine too.
        #expect(try await service.verify(Self.token(payload: Self.payload(aud: #""cs-visitor""#))) == Self.ann)
    }

    // MARK: Failures: all `unauthorized`

    @Test func expiredTokensAreRejected() async throws {
        let service = try await TokenService(secret: Self.secret)
        let (visitor, _) = try await service.issue(for: Self.ann, now: Date(timeIntervalSinceNow: -31 * 24 * 3600))
        #expect(await Self.failure(visitor, service: service) == .unauthorized)
        let (agent, _) = try await service.issue(for: Self.alice, now: Date(timeIntervalSinceNow: -13 * 3600))
        #expect(await Self.failure(agent, service: service) == .unauthorized)
        #expect(await Self.failure(Self.token(payload: Self.payload(expiresIn: -60)), service: service) == .unauthorized)
    }

    @Test func shortLifetimeExpires() async throws {
        var service = try await TokenService(secret: Self.secret)
        service.agentLifetime = -1
        let (token, _) = try await service.issue(for: Self.alice)
        #expect(await Self.failure(token, service: service) == .unauthorized)
    }

    @Test func tokenSignedWithAnotherSecretIsRejected() async throws {
        let service = try await TokenService(secret: Self.secret)
        let other = try await TokenService(secret: "another-secret-0123456789-0123456789ab")
        let (token, _) = try await other.issue(for: Self.alice)
        #expect(await Self.failure(token, service: service) == .unauthorized)
        #expect(await Self.failure(Self.token(payload: Self.payload(), secret: "another-secret-0123456789-0123456789ab"), service: service) == .unauthorized)
    }

    @Test(arguments: [
        "", " ", ".", "..", "...", "a", "a.b", "a.b.c", "a.b.c.d", "Bearer x", "eyJhbGciOiJIUzI1NiJ9", "eyJhbGciOiJIUzI1NiJ9..",
        "eyJhbGciOiJIUzI1NiJ9.e30.", "%%%.%%%.%%%", "\u{0}", String(repeating: "A", count: 10_000),
    ])
    func garbageIsRejected(token: String) async throws {
        let service = try await TokenService(secret: Self.secret)
        #expect(await Self.failure(token, service: service) == .unauthorized)
    }

    @Test func tamperedTokensAreRejected() async throws {
        let service = try await TokenService(secret: Self.secret)
        let (token, _) = try await service.issue(for: Self.ann)
        let parts = token.split(separator: ".").map(String.init)

        // The payload rewritten to claim a staff role, the old signature kept.
        var claims = try #require(Self.decodePart(parts[1]))
        claims["role"] = "agent"
        claims["aud"] = ["cs-agent"]
        let forged = Self.base64URL(try JSONSerialization.data(withJSONObject: claims))
        #expect(await Self.failure(parts[0] + "." + forged + "." + parts[2], service: service) == .unauthorized)

        // One signature character changed; the signature dropped; a part appended.
        var signature = Array(parts[2])
        signature[5] = signature[5] == "A" ? "B" : "A"
        #expect(await Self.failure(parts[0] + "." + parts[1] + "." + String(signature), service: service) == .unauthorized)
        #expect(await Self.failure(parts[0] + "." + parts[1] + ".", service: service) == .unauthorized)
        #expect(await Self.failure(parts[0] + "." + parts[1], service: service) == .unauthorized)
        #expect(await Self.failure(token + ".x", service: service) == .unauthorized)
    }

    @Test(arguments: [
        #"{"alg":"none","typ":"JWT"}"#, #"{"alg":"None","typ":"JWT"}"#, #"{"alg":"NONE","typ":"JWT"}"#, #"{"alg":"nOnE"}"#,
        #"{"alg":"","typ":"JWT"}"#, #"{"typ":"JWT"}"#, #"{"alg":null}"#, #"{"alg":["HS256"]}"#,
    ])
    func unsignedTokensAreRejected(header: String) async throws {
        let service = try await TokenService(secret: Self.secret)
        let unsigned = Self.base64URL(header) + "." + Self.base64URL(Self.payload()) + "."
        #expect(await Self.failure(unsigned, service: service) == .unauthorized)
        // Even with a correct HMAC attached.
        #expect(await Self.failure(Self.token(header: header, payload: Self.payload()), service: service) == .unauthorized)
    }

    @Test(arguments: [
        #"{"alg":"HS512","typ":"JWT"}"#, #"{"alg":"HS384","typ":"JWT"}"#, #"{"alg":"RS256","typ":"JWT"}"#,
        #"{"alg":"ES256","typ":"JWT"}"#, #"{"alg":"PS256","typ":"JWT"}"#, #"{"alg":"EdDSA","typ":"JWT"}"#, #"{"alg":"hs256","typ":"JWT"}"#,
    ])
    func otherAlgorithmsAreRejected(header: String) async throws {
        // Algorithm switching: the header names another algorithm but the bytes are HMAC-SHA256
        // with the real secret (what an RS256 → HS256 confusion attack would produce).
        let service = try await TokenService(secret: Self.secret)
        #expect(await Self.failure(Self.token(header: header, payload: Self.payload()), service: service) == .unauthorized)
    }

    @Test func headerThatIsNotJSONIsRejected() async throws {
        let service = try await TokenService(secret: Self.secret)
        for header in ["HS256", "[]", #"{"alg":"HS256""#, ""] {
            #expect(await Self.failure(Self.token(header: header, payload: Self.payload()), service: service) == .unauthorized)
        }
    }

    @Test func wrongAudienceForTheRoleIsRejected() async throws {
        let service = try await TokenService(secret: Self.secret)
        let cases = [
            // A visitor token claiming a staff role.
            Self.payload(sub: "alice", aud: #"["cs-visitor"]"#, role: "agent"),
            Self.payload(sub: "sam", aud: #"["cs-visitor"]"#, role: "supervisor"),
            // An agent token claiming to be a customer.
            Self.payload(aud: #"["cs-agent"]"#, role: "customer"),
            // Audiences of other services.
            Self.payload(aud: #"["cs-other"]"#),
            Self.payload(aud: "[]"),
            Self.payload(sub: "alice", aud: #""cs-admin""#, role: "agent"),
        ]
        for payload in cases {
            #expect(await Self.failure(Self.token(payload: payload), service: service) == .unauthorized, "\(payload)")
        }
    }

    @Test func otherClaimProblemsAreRejected() async throws {
        let service = try await TokenService(secret: Self.secret)
        let cases = [
            Self.payload(iss: "someone-else"),
            Self.payload(iss: ""),
            Self.payload(role: "admin"),
            Self.payload(role: ""),
            Self.payload(sub: ""),
            Self.payload(sub: "bad id"),
            Self.payload(sub: String(repeating: "a", count: 65)),
            Self.payload(name: nil),
            #"{"sub":"v_x"}"#,
            "{}",
            "[]",
            "not json",
        ]
        for payload in cases {
            #expect(await Self.failure(Self.token(payload: payload), service: service) == .unauthorized, "\(payload)")
        }
    }
}

@Suite struct TokenServiceSecretTests {
    @Test func secretsShorterThanTheKeySizeAreRefused() async throws {
        await #expect(throws: TokenService.WeakSecret.self) {
            _ = try await TokenService(secret: String(repeating: "x", count: 31))
        }
        _ = try await TokenService(secret: String(repeating: "x", count: 32))
    }
}

import CSCore
import CSServer
import Foundation
import Testing

/// The pure rules behind sign-in throttling, token revocation and example-secret refusal
/// (issue 21, items 7-9).
@Suite("Account protection")
struct AccountProtectionTests {
    @Test func staffTokensCarryTheirVersionAndCustomersNone() async throws {
        let tokens = try await TokenService(secret: TokenServiceTests.secret)
        let (staff, _) = try await tokens.issue(for: TokenServiceTests.sam, tokenVersion: 7)
        let verified = try await tokens.verifyWithVersion(staff)
        #expect(verified.participant == TokenServiceTests.sam && verified.tokenVersion == 7)
        let (visitor, _) = try await tokens.issue(for: TokenServiceTests.ann, tokenVersion: 7)
        #expect(try await tokens.verifyWithVersion(visitor).tokenVersion == 0, "customer tokens carry no version")
        #expect(tokens.agentLifetime <= 3600, "staff tokens are short-lived (refreshed by the consoles)")
    }

    @Test func staffStandingRefusesRemovedDemotedAndRevokedAccounts() {
        let current = StaffStanding(role: .supervisor, tokenVersion: 3)
        #expect(StaffStanding.problem(role: .supervisor, tokenVersion: 3, current: current) == nil)
        #expect(StaffStanding.problem(role: .supervisor, tokenVersion: 3, current: nil)?.contains("no longer exists") == true)
        #expect(StaffStanding.problem(role: .supervisor, tokenVersion: 3, current: StaffStanding(role: .agent, tokenVersion: 3))?.contains("role") == true)
        #expect(StaffStanding.problem(role: .supervisor, tokenVersion: 2, current: current)?.contains("revoked") == true)
        #expect(StaffStanding.problem(role: .supervisor, tokenVersion: 4, current: current) != nil, "a version from the future is no better")
    }

    @Test func lockoutAfterTheLimitUntilTheWindowEnds() {
        let lockout = LoginLockout(maxFailures: 10, window: .seconds(900))
        #expect(lockout.windowMilliseconds == 900_000)
        #expect(lockout.retryAfterSeconds(failures: nil, remainingMilliseconds: nil) == nil)
        #expect(lockout.retryAfterSeconds(failures: 9, remainingMilliseconds: 500_000) == nil)
        #expect(lockout.retryAfterSeconds(failures: 10, remainingMilliseconds: 500_000) == 500)
        #expect(lockout.retryAfterSeconds(failures: 11, remainingMilliseconds: 1) == 1, "rounded up, at least 1 s")
        #expect(lockout.retryAfterSeconds(failures: 10, remainingMilliseconds: -1) == 900, "a count without expiry waits a window")
    }

    @Test func exampleSecretsAreRefused() {
        for shipped in ExampleSecrets.shipped {
            #expect(ExampleSecrets.problem(shipped, name: "x") != nil, "\(shipped)")
        }
        #expect(ExampleSecrets.problem("my-secret-CHANGE-ME-please-0123456789abcdef", name: "x") != nil, "any case")
        // Values of the peers rig and the tests: throw-away, but not the shipped examples.
        #expect(ExampleSecrets.problem("peers-rig-jwt-secret-loopback-only-0123456789", name: "x") == nil)
        #expect(ExampleSecrets.problem("peers-rig-admin-key-loopback-only-0123456789", name: "x") == nil)
        #expect(ExampleSecrets.problem("e2e-secret-\(UUID().uuidString)", name: "x") == nil)
    }

    /// The shipped examples are exactly those of deploy/.env.example (a changed example that the
    /// list misses would be accepted again).
    @Test func exampleListMatchesTheEnvExample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("deploy/.env.example"), encoding: .utf8)
        var secrets: Set<String> = []
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["CS_JWT_SECRET", "CS_ADMIN_KEY"].contains(parts[0]) || parts[0].hasPrefix("CS_REDIS_PASSWORD_")
                || parts[0].hasPrefix("CS_PG_PASSWORD_") else { continue }
            secrets.insert(parts[1])
        }
        #expect(secrets == ExampleSecrets.shipped)
    }

    @Test func unknownAccountHashHasTheCostOfARealOne() async throws {
        let parts = PasswordHasher.unknownAccountHash.split(separator: "$")
        let hasher = PasswordHasher()
        #expect(parts.count == 6 && parts[1] == "\(hasher.rounds)" && parts[2] == "\(hasher.blockSize)" && parts[3] == "\(hasher.parallelism)")
        #expect(await hasher.verify("", against: PasswordHasher.unknownAccountHash) == false)
    }
}

import Crypto
import CryptoExtras
import Foundation
import NIOPosix

/// Password hashing with scrypt (swift-crypto), in a self-describing format:
/// `scrypt$<N>$<r>$<p>$<salt base64>$<hash base64>`.
///
/// Hashing costs tens of milliseconds of CPU by design, so it runs on NIO's blocking thread pool,
/// never on Swift's cooperative pool.
public struct PasswordHasher: Sendable {
    public var rounds = 1 << 14
    public var blockSize = 8
    public var parallelism = 1

    public init() {}

    /// A hash no password matches in practice (random salt and digest), in the format and at the
    /// cost of real ones: a sign-in for an unknown agent id is checked against it, so that it
    /// takes as long as one for a known id and the timing does not tell which ids exist.
    public static let unknownAccountHash = "scrypt$16384$8$1$2Vv1TMLLDFHPlZls4laCyQ==$f16eClLIJTGM84TPoGmWgh3dCExhq70MZHiSM4W5nio="

    /// A new salted hash of `password`.
    public func hash(_ password: String) async throws -> String {
        let salt = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        let (rounds, blockSize, parallelism) = (self.rounds, self.blockSize, self.parallelism)
        let derived = try await NIOThreadPool.singleton.runIfActive {
            try Self.derive(password, salt: salt, rounds: rounds, blockSize: blockSize, parallelism: parallelism)
        }
        return "scrypt$\(rounds)$\(blockSize)$\(parallelism)$\(Data(salt).base64EncodedString())$\(derived.base64EncodedString())"
    }

    /// Whether `password` matches `encoded`; false for a malformed hash.
    public func verify(_ password: String, against encoded: String) async -> Bool {
        let parts = encoded.split(separator: "$").map(String.init)
        guard parts.count == 6, parts[0] == "scrypt", let rounds = Int(parts[1]), let blockSize = Int(parts[2]),
            let parallelism = Int(parts[3]), let salt = Data(base64Encoded: parts[4]), let expected = Data(base64Encoded: parts[5]),
            rounds >= 2, rounds <= 1 << 20, blockSize > 0, blockSize <= 32, parallelism > 0, parallelism <= 16
        else { return false }
        guard
            let derived = try? await NIOThreadPool.singleton.runIfActive({
                try Self.derive(password, salt: [UInt8](salt), rounds: rounds, blockSize: blockSize, parallelism: parallelism)
            })
        else { return false }
        return Self.constantTimeEquals(derived, expected)
    }

    private static func derive(_ password: String, salt: [UInt8], rounds: Int, blockSize: Int, parallelism: Int) throws -> Data {
        let key = try KDF.Scrypt.deriveKey(
            from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: rounds, blockSize: blockSize,
            parallelism: parallelism
        )
        return key.withUnsafeBytes { Data($0) }
    }

    private static func constantTimeEquals(_ a: Data, _ b: Data) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}

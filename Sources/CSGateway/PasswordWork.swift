import CSCore
import CSServer
import Synchronization

/// At most `limit` of something at once: admission is refused, not queued, beyond it.
/// A pure value (the caller holds it under a lock).
public struct AdmissionLimit: Sendable, Equatable {
    public let limit: Int
    public private(set) var admitted = 0

    public init(limit: Int) { self.limit = max(1, limit) }

    /// Admits one more if there is room; the caller calls ``leave()`` when it is done.
    public mutating func enter() -> Bool {
        guard admitted < limit else { return false }
        admitted += 1
        return true
    }

    public mutating func leave() { admitted = max(0, admitted - 1) }
}

/// The gateway's password hashing (sign-in checks and new passwords), bounded: each hash costs
/// tens of milliseconds of CPU and 16 MiB, so a flood of sign-ins must not queue without bound
/// behind NIO's blocking pool. Past `passwordHashingLimit` hashes running or waiting, the
/// request gets 503 `unavailable` with `Retry-After: 1`.
final class PasswordWork: Sendable {
    let hasher: PasswordHasher
    private let admission: Mutex<AdmissionLimit>

    init(hasher: PasswordHasher = PasswordHasher(), limit: Int) {
        self.hasher = hasher
        admission = Mutex(AdmissionLimit(limit: limit))
    }

    /// Whether `password` matches `hash`; nil `hash` (unknown account) is checked against
    /// ``PasswordHasher/unknownAccountHash`` so that it costs the same, and is false.
    func verify(_ password: String, against hash: String?) async throws -> Bool {
        try enter()
        defer { leave() }
        let matches = await hasher.verify(password, against: hash ?? PasswordHasher.unknownAccountHash)
        return hash != nil && matches
    }

    /// A new hash of `password`.
    func hash(_ password: String) async throws -> String {
        try enter()
        defer { leave() }
        return try await hasher.hash(password)
    }

    private func enter() throws {
        guard admission.withLock({ $0.enter() }) else {
            throw HTTPThrottle(ChatError(.unavailable, "too many sign-ins at once; retry in a second"), retryAfterSeconds: 1)
        }
    }

    private func leave() { admission.withLock { $0.leave() } }
}

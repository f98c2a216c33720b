import CSCore
import CSServer
import Synchronization

/// Checks a staff token against its account (`StaffStanding`) on every HTTP request and
/// WebSocket open, so that removing, demoting or re-passwording an account revokes its tokens.
///
/// Each gateway remembers an account's standing for `maxAge` (1 s): a console's burst of
/// requests costs one Redis round trip, and a revocation takes effect on every gateway within
/// that second (docs/api.md, "Staff tokens"). The cache holds at most `maxEntries` accounts and
/// is emptied when full (there are far fewer staff accounts than that).
final class StaffAccountCheck: Sendable {
    private struct Entry {
        var standing: StaffStanding?
        var fetchedAt: ContinuousClock.Instant
    }

    private let agents: AgentDirectory
    private let maxAge: Duration
    private let maxEntries = 10_000
    private let cache = Mutex<[String: Entry]>([:])

    init(agents: AgentDirectory, maxAge: Duration = .seconds(1)) {
        self.agents = agents
        self.maxAge = maxAge
    }

    /// Throws `unauthorized` when the token of a staff member no longer matches the account;
    /// customers pass (their tokens are not tied to an account).
    func check(_ token: TokenService.Verified, now: ContinuousClock.Instant = .now) async throws {
        let participant = token.participant
        guard participant.role.isStaff else { return }
        let cached = cache.withLock { $0[participant.id] }
        let standing: StaffStanding?
        if let cached, now - cached.fetchedAt < maxAge {
            standing = cached.standing
        } else {
            standing = try await agents.standing(of: participant.id)
            cache.withLock { entries in
                if entries.count >= maxEntries { entries.removeAll(keepingCapacity: true) }
                entries[participant.id] = Entry(standing: standing, fetchedAt: now)
            }
        }
        if let problem = StaffStanding.problem(role: participant.role, tokenVersion: token.tokenVersion, current: standing) {
            throw ChatError(.unauthorized, problem)
        }
    }
}

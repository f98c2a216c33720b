import CSCore

/// What a staff token is checked against on every request and WebSocket open: the account's
/// current role and token version (`AgentDirectory.standing(of:)`). A token is only as good as
/// the account behind it: removed, demoted or re-passworded accounts lose their tokens at once
/// (within the gateway's short cache, `StaffAccountCheck`) instead of at the token's expiry.
public struct StaffStanding: Sendable, Equatable {
    public var role: ParticipantRole
    public var tokenVersion: Int

    public init(role: ParticipantRole, tokenVersion: Int) {
        self.role = role
        self.tokenVersion = tokenVersion
    }

    /// Why a token issued for `role` with `tokenVersion` may no longer be used, or nil when it
    /// may. `current` is nil when the account does not exist (any more).
    public static func problem(role: ParticipantRole, tokenVersion: Int, current: StaffStanding?) -> String? {
        guard let current else { return "the account no longer exists" }
        guard current.role == role else { return "the account's role changed; sign in again" }
        guard current.tokenVersion == tokenVersion else { return "the token was revoked (password changed or account replaced); sign in again" }
        return nil
    }
}

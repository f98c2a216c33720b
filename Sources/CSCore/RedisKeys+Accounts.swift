extension RedisKeys {
    // MARK: Staff accounts: sign-in throttling and token revocation (tag {agents})

    /// Hash: agent id → token version. Staff tokens carry the version they were issued with and
    /// are refused once it changed: it goes up on a password change, a role change (cs-admin
    /// replacing the account) and removal. Kept apart from the profile hash so that it outlives
    /// a removal: an account created again under the same id never revives the old tokens.
    public static let agentTokenVersions = "cs:{agents}:tokenversion"

    /// Counter of failed sign-ins of one agent id (string, expires with its window): at the limit
    /// further sign-ins of that id are refused with `rate_limited` until it expires. Written for
    /// unknown ids too, so that the answer does not tell which ids exist.
    public static func loginFailures(_ agentID: String) -> String { "cs:{agents}:loginfail:\(agentID)" }
}

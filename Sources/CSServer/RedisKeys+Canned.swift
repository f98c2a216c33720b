import CSCore

/// Keys of the canned responses (docs/redis-keys.md, "Canned responses"). Each is a plain hash
/// used by single-key commands only, so it needs no hash tag.
extension RedisKeys {
    /// Team canned responses (hash): shortcut → text. Shared by every agent; supervisors change it.
    public static let cannedTeam = "cs:canned:team"
    /// Personal canned responses of one agent (hash): shortcut → text.
    public static func cannedAgent(_ agentID: String) -> String { "cs:canned:agent:\(agentID)" }
}

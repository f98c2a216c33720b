/// The role a connected user plays.
public enum ParticipantRole: String, Sendable, Codable, Hashable {
    case customer
    case agent
    case supervisor

    /// Agents and supervisors both handle conversations.
    public var isStaff: Bool { self != .customer }
}

/// Who a connection belongs to, as proven by its token.
public struct Participant: Sendable, Hashable {
    public var id: String
    public var role: ParticipantRole
    public var name: String

    public init(id: String, role: ParticipantRole, name: String) {
        self.id = id
        self.role = role
        self.name = name
    }
}

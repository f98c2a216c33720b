import Foundation

/// A push to many people: an announcement, a task reminder, a targeted notice (docs/api.md).
public struct PushNotification: Sendable, Equatable {
    /// Who receives it.
    public enum Audience: Sendable, Equatable {
        case all
        case agents
        case customers
        case skill(String)
        case users([String])

        /// The broadcast selector gateways match against (`users` are sent per user instead).
        public var selector: String {
            switch self {
            case .all: "all"
            case .agents: "agents"
            case .customers: "customers"
            case .skill(let skill): "skill:" + skill
            case .users: "users"
            }
        }

        /// A broadcast selector read once, to match many connections against it.
        public enum Matcher: Sendable {
            case everyone
            case staff
            case customers
            case staffWithSkill(String)
            case nobody

            public init(selector: String) {
                switch selector {
                case "all": self = .everyone
                case "agents": self = .staff
                case "customers": self = .customers
                default:
                    self = selector.hasPrefix("skill:") ? .staffWithSkill(String(selector.dropFirst("skill:".count))) : .nobody
                }
            }

            /// Whether a connection with this role and these skills belongs to the selector.
            public func matches(role: ParticipantRole, skills: [String]) -> Bool {
                switch self {
                case .everyone: true
                case .staff: role.isStaff
                case .customers: role == .customer
                case .staffWithSkill(let skill): role.isStaff && skills.contains(skill)
                case .nobody: false
                }
            }
        }

        /// The inbox selectors a user reads on connect.
        public static func selectors(role: ParticipantRole, skills: [String]) -> [String] {
            role == .customer ? ["all", "customers"] : ["all", "agents"] + skills.map { "skill:" + $0 }
        }
    }

    public enum Priority: String, Sendable, CaseIterable {
        case info, warning, urgent
    }

    public enum Status: String, Sendable {
        case scheduled, sent, cancelled
    }

    /// Limits that are part of the API.
    public enum Limits {
        public static let maxBodyCharacters = 2_000
        public static let maxTitleCharacters = 120
        public static let maxUsers = 1_000
        public static let maxLifetimeSeconds = 90 * 24 * 3600
        public static let defaultLifetimeSeconds = 7 * 24 * 3600
    }

    public var id: String
    public var audience: Audience
    public var title: String
    public var body: String
    public var priority: Priority
    public var createdAt: Int
    public var sendAt: Int
    public var expiresAt: Int
    public var status: Status
    public var createdBy: String

    public init(
        id: String, audience: Audience, title: String, body: String, priority: Priority, createdAt: Int, sendAt: Int,
        expiresAt: Int, status: Status, createdBy: String
    ) {
        self.id = id
        self.audience = audience
        self.title = title
        self.body = body
        self.priority = priority
        self.createdAt = createdAt
        self.sendAt = sendAt
        self.expiresAt = expiresAt
        self.status = status
        self.createdBy = createdBy
    }

    /// Hash fields as stored in `cs:{notify}:n:<id>`.
    public var fields: [(String, String)] {
        var users = ""
        if case .users(let ids) = audience { users = ids.joined(separator: ",") }
        return [
            ("audience", audience.selector), ("users", users), ("title", title), ("body", body), ("priority", priority.rawValue),
            ("createdAt", String(createdAt)), ("sendAt", String(sendAt)), ("expiresAt", String(expiresAt)),
            ("status", status.rawValue), ("createdBy", createdBy),
        ]
    }

    public init?(id: String, fields: [String: String]) {
        guard let selector = fields["audience"], let body = fields["body"],
            let priority = fields["priority"].flatMap(Priority.init(rawValue:)),
            let status = fields["status"].flatMap(Status.init(rawValue:))
        else { return nil }
        let audience: Audience
        switch selector {
        case "all": audience = .all
        case "agents": audience = .agents
        case "customers": audience = .customers
        case "users": audience = .users((fields["users"] ?? "").split(separator: ",").map(String.init))
        default:
            guard selector.hasPrefix("skill:") else { return nil }
            audience = .skill(String(selector.dropFirst("skill:".count)))
        }
        self.init(
            id: id, audience: audience, title: fields["title"] ?? "", body: body, priority: priority,
            createdAt: fields["createdAt"].flatMap(Int.init) ?? 0, sendAt: fields["sendAt"].flatMap(Int.init) ?? 0,
            expiresAt: fields["expiresAt"].flatMap(Int.init) ?? 0, status: status, createdBy: fields["createdBy"] ?? "")
    }

    /// The `notification` frame clients receive.
    public var frame: String {
        var json = JSONText(capacity: body.utf8.count + 200)
        json.raw("{")
        json.field("type", "notification", first: true)
        json.field("id", id)
        json.field("priority", priority.rawValue)
        json.field("title", title)
        json.field("body", body)
        json.field("createdAt", createdAt)
        json.field("expiresAt", expiresAt)
        json.raw("}")
        return json.text
    }
}
